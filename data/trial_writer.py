"""The streaming trial writer (schema: data/SCHEMA.md).

Life of a trial file:
  1. TrialWriter(path, metadata) creates the file (never overwrites) with all fixed groups.
  2. Declare: add_device, create_stream, add_calibration, write_truth, set_quality.
  3. start() (or the first append) switches HDF5 to SWMR mode: from then on a reader may follow the
     file live, and appends are flushed at least every `flush_interval_s` (time-based check on the
     hot path plus a background flusher for when appends pause). A writer killed with SIGKILL
     leaves a file holding everything flushed before the kill, with status 'recording'.
     After start(), new streams cannot be declared; add_device/add_calibration/write_truth and new
     quality keys are kept and written at close; add_fault and existing quality counters are
     written live.
     Appends are cheap: image frames are written (compressed) at once, while times, sequence
     numbers and numeric samples are gathered and written in blocks at each flush.
  4. close(status='complete' | 'aborted', reason=..., end_time_utc=...) writes what is gathered,
     sets the final status, reason and end time (changing existing attributes, which SWMR
     allows), and, if anything was kept for the close, reopens the file normally to create it.
Thread-safe: streams may be appended from different threads (one lock per trial).

Time: every timestamp the writer makes itself (start_time_utc, end_time_utc, a fault's default
time) comes from `clock` (default time.time); close(end_time_utc=...) overrides the end time.
h5py object-header timestamps are off (h5py's default track_times=False) and attribute/link
order is creation order, so the same calls give the same file - provided the flushes happen at
the same points: with live=False (an offline writer: simulator, importers) there is no SWMR, no
background flusher and no time-based flush, so the bytes depend only on the calls made.

Write errors (full disk: h5py raises OSError/RuntimeError with errno 28): the writer marks itself
failed (`failed`, `error`), stops its flusher, and raises TrialWriteError (one line) from the
append/flush that meets the failure (or from the next one, if the background flusher met it);
faults and quality counters given afterwards are kept in `unwritten_faults`/ignored. close() is
then safe: it releases the HDF5 file without flushing into it again (a plain h5py close of a file whose
write failed crashes inside HDF5 at exit: see _release_failed) and leaves the file as it was last flushed: status
'recording', everything flushed before the error readable by open_trial; `station recover`
finishes it.
"""
from __future__ import annotations

import atexit
import datetime as _dt
import json
import logging
import math
import os
import re
import threading
import time
from pathlib import Path
from typing import Callable

import h5py
import hdf5plugin
import numpy as np

from data import schema
from data.h5_tree import write_attrs, write_tree, STR_DTYPE
from data.trial_errors import TrialError, TrialWriteError
from data.stream_writer import StreamWriter

log = logging.getLogger(__name__)

# What h5py raises when HDF5 cannot write (full disk, I/O error, file gone).
WRITE_ERRORS = (OSError, RuntimeError)


def utc_now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def iso_utc(value) -> str:
    """A time as the schema's ISO-8601 UTC string: from Unix epoch seconds (float), an aware
    datetime, or an ISO-8601 string with a UTC offset."""
    if isinstance(value, str):
        try:
            t = _dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"time {value!r} is not ISO-8601") from None
    elif isinstance(value, _dt.datetime):
        t = value
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if not math.isfinite(float(value)):
            raise ValueError(f"time {value!r} is not finite")
        t = _dt.datetime.fromtimestamp(float(value), _dt.timezone.utc)
    else:
        raise TypeError(f"a time must be epoch seconds, a datetime or an ISO-8601 string, "
                        f"not {type(value).__name__}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"time {value!r} has no time zone; give it in UTC")
    return t.astimezone(_dt.timezone.utc).isoformat(timespec="microseconds")


def describe_write_error(exc: BaseException) -> str:
    """One line for an HDF5 write error: the OS reason if HDF5 names an errno."""
    text = " ".join(str(exc).split())
    m = re.search(r"errno = (\d+)", text)
    errno = getattr(exc, "errno", None) or (int(m.group(1)) if m else None)
    if errno:
        return f"{os.strerror(errno).lower()} (errno {errno})"
    return text[:200] or type(exc).__name__


def _software_version() -> str:
    from station import __version__
    return __version__


def _check_name(what: str, name: str) -> None:
    if not isinstance(name, str) or not schema.NAME_PATTERN.match(name):
        raise ValueError(f"{what} name {name!r} is not allowed: use lower-case letters, digits and "
                         f"'_', starting with a letter")


def image_compression():
    """The filter for image streams: Blosc LZ4 + bitshuffle (readers need `import hdf5plugin`)."""
    return hdf5plugin.Blosc(cname="lz4", clevel=schema.IMAGE_BLOSC_CLEVEL,
                            shuffle=hdf5plugin.Blosc.BITSHUFFLE)


class TrialWriter:
    """Writes one trial file. Use as a context manager; see the module doc for the life cycle."""

    def __init__(self, path, metadata: dict, *, flush_interval_s: float = 0.5,
                 clock: Callable[[], float] | None = None, live: bool = True):
        """clock: returns Unix epoch seconds; the source of start_time_utc (unless the metadata
        gives it), of the default end time and of default fault times (default time.time).
        live=False: an offline writer (simulator, importers): no SWMR, no timed flushes, so the
        file's bytes depend only on the calls made (a killed offline writer may leave an
        unreadable file; live=True, the default, is for captures)."""
        self.path = Path(path)
        self._clock = clock or time.time
        self.live = bool(live)
        metadata = dict(metadata or {})
        missing = [k for k in schema.METADATA_REQUIRED_FROM_CALLER if not metadata.get(k)]
        if missing:
            raise ValueError(f"trial metadata needs {', '.join(missing)}")
        if self.path.exists():
            raise TrialError(f"{self.path} already exists; a trial is never overwritten: "
                             f"choose another file name")
        if not self.path.parent.is_dir():
            raise TrialError(f"{self.path.parent} is not a directory; create it first")
        if not 0 < flush_interval_s <= 1.0:
            raise ValueError("flush_interval_s must be in (0, 1] s: the schema promises a flush "
                             "at least every second")
        self.flush_interval_s = float(flush_interval_s)
        try:
            self._f = h5py.File(self.path, "x", libver="latest")
        except FileExistsError:
            raise TrialError(f"{self.path} already exists; a trial is never overwritten: "
                             f"choose another file name") from None
        except OSError as exc:
            raise TrialError(f"cannot create {self.path}: {exc}") from None
        self._lock = threading.RLock()
        self._started = False
        self._closed = False
        self._dirty = False
        self._last_flush = time.monotonic()
        self._at_close: list = []          # (callable(h5py.File)) kept until close after start()
        self._streams: dict[str, StreamWriter] = {}
        self._fault_count = 0
        self._device_names: set[str] = set()
        self._flusher: threading.Thread | None = None
        self._stop_flusher = threading.Event()
        self._error: str | None = None      # one-line reason once a write failed
        self._error_reported = False
        self.unwritten_faults: list[dict] = []   # faults given after a write failure
        try:
            self._create_layout(metadata)
        except BaseException:
            self._f.close()              # our own, just-created, empty file: do not leave it
            self.path.unlink()
            raise

    # ---- layout -------------------------------------------------------------------------
    def _create_layout(self, metadata: dict) -> None:
        f = self._f
        f.attrs["format"] = schema.FORMAT_NAME
        f.attrs["schema_version"] = np.int64(schema.SCHEMA_VERSION)
        f.attrs["status"] = schema.STATUS_RECORDING
        f.attrs["status_reason"] = ""
        f.attrs["created_by"] = f"station {_software_version()}"
        for g in schema.REQUIRED_GROUPS:
            if g not in f:
                f.create_group(g, track_order=True)     # listings keep the order of creation
        meta = {"athlete_id": "", "protocol": "", "step": "", "trial_kind": "",
                "start_time_utc": iso_utc(self._clock()), "end_time_utc": "",
                "software_version": _software_version()}
        settings = metadata.pop("settings", {}) or {}
        if isinstance(settings, str):
            settings = json.loads(settings)
        meta.update({k: v for k, v in metadata.items()})
        meta = {k: ("" if v is None else v) for k, v in meta.items()}
        write_attrs(f["metadata"], {k: v for k, v in meta.items()})
        f["metadata"].attrs["settings"] = json.dumps(settings)
        faults = f["quality/faults"]
        for field, (kind, size) in schema.FAULT_FIELDS.items():
            dtype = np.float64 if kind == "float64" else h5py.string_dtype("utf-8", size)
            faults.create_dataset(field, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(256,))

    # ---- declarations -------------------------------------------------------------------
    def _defer_or_run(self, fn) -> None:
        self._check_open()
        if self._error is not None:
            return                       # the file can take nothing more (see `error`)
        if self._started and self.live:
            self._at_close.append(fn)
        else:
            with self._lock, self._writing():
                fn(self._f)

    def add_device(self, name: str, kind: str, description: dict | None = None,
                   arrays: dict | None = None) -> None:
        """Describe a device (model, serial, firmware, depth scale, ...; arrays such as
        intrinsics or cell positions, names ending in their unit and frame)."""
        _check_name("device", name)
        if not kind:
            raise ValueError(f"device {name!r} needs a kind (e.g. 'force_plate', 'depth_camera')")

        def do(f):
            if name in f["devices"]:
                raise ValueError(f"device {name!r} is already described")
            g = f["devices"].create_group(name, track_order=True)
            write_attrs(g, {"kind": kind, **(description or {})})
            write_tree(g, arrays or {})
        self._defer_or_run(do)
        self._device_names.add(name)

    def create_stream(self, name: str, kind: str, device: str, sample_shape=(), dtype="float64",
                      unit: str = "", frame: str | None = None, nominal_rate_hz: float = float("nan"),
                      columns=None, image: bool | None = None, column_units=None,
                      attrs: dict | None = None) -> StreamWriter:
        """Declare a raw stream (before start()). Returns its StreamWriter."""
        self._check_open()
        if self._started:
            raise RuntimeError(f"create_stream({name!r}) after start(): HDF5 SWMR cannot create "
                               f"datasets while a reader may follow; declare all streams first")
        _check_name("stream", name)
        if name in self._streams:
            raise ValueError(f"stream {name!r} already exists")
        spec = schema.STREAM_KINDS.get(kind)
        if spec is None:
            raise ValueError(f"stream {name!r}: unknown kind {kind!r}; kinds: "
                             f"{', '.join(schema.STREAM_KINDS)}")
        if device not in self._device_names:
            raise ValueError(f"stream {name!r}: device {device!r} is not described; call "
                             f"add_device({device!r}, ...) first")
        if image is None:
            image = spec["image"]
        if bool(image) != spec["image"]:
            raise ValueError(f"stream {name!r}: kind {kind!r} requires image={spec['image']}")
        dtype = np.dtype(dtype)
        if dtype.name not in spec["dtypes"]:
            raise ValueError(f"stream {name!r}: dtype {dtype.name} not allowed for kind {kind!r} "
                             f"(allowed: {', '.join(spec['dtypes'])})")
        if spec["units"] is not None and unit not in spec["units"]:
            raise ValueError(f"stream {name!r}: unit {unit!r} not allowed for kind {kind!r} "
                             f"(allowed: {', '.join(spec['units'])})")
        if spec["units"] is None and not unit:
            raise ValueError(f"stream {name!r}: give a unit (SI, e.g. 'V', 'm', 'N')")
        if spec.get("needs_frame") and not frame:
            raise ValueError(f"stream {name!r}: kind {kind!r} needs a frame name (e.g. 'camera_depth')")
        sample_shape = tuple(int(s) for s in sample_shape)
        if "sample_ndim" in spec and len(sample_shape) != spec["sample_ndim"]:
            raise ValueError(f"stream {name!r}: kind {kind!r} needs samples with "
                             f"{spec['sample_ndim']} dimensions, got {sample_shape}")
        if "channels" in spec and sample_shape[-1] != spec["channels"]:
            raise ValueError(f"stream {name!r}: kind {kind!r} needs {spec['channels']} channels")
        columns = list(columns or [])
        if columns and (len(sample_shape) != 1 or len(columns) != sample_shape[0]):
            raise ValueError(f"stream {name!r}: {len(columns)} column names for samples of shape "
                             f"{sample_shape}")
        if unit == "mixed":
            column_units = list(column_units or [])
            if not columns or len(column_units) != len(columns):
                raise ValueError(f"stream {name!r}: unit 'mixed' needs columns and one "
                                 f"column_units entry per column")
        rate = float(nominal_rate_hz) if nominal_rate_hz is not None else float("nan")

        with self._lock, self._writing():
            g = self._f["raw"].create_group(name, track_order=True)
            if image:
                chunks = (1,) + sample_shape
                g.create_dataset("data", shape=(0,) + sample_shape, maxshape=(None,) + sample_shape,
                                 dtype=dtype, chunks=chunks, **image_compression())
            else:
                row_bytes = max(1, dtype.itemsize * int(np.prod(sample_shape, dtype=np.int64)))
                rows = self._chunk_rows(rate, row_bytes)
                g.create_dataset("data", shape=(0,) + sample_shape, maxshape=(None,) + sample_shape,
                                 dtype=dtype, chunks=(rows,) + sample_shape)
            time_rows = self._chunk_rows(rate, 8)
            for ds_name, ds_dtype in {**schema.STREAM_DATASETS_REQUIRED,
                                      **schema.STREAM_DATASETS_OPTIONAL}.items():
                if ds_name == "data":
                    continue
                g.create_dataset(ds_name, shape=(0,), maxshape=(None,), dtype=ds_dtype,
                                 chunks=(time_rows,))
            g["time_device_s"].attrs["unit"] = "s"
            g["time_device_s"].attrs["clock"] = f"device {device}"
            g["time_host_s"].attrs["unit"] = "s"
            g["time_host_s"].attrs["clock"] = "host, seconds since the Unix epoch (UTC)"
            g["time_arrival_s"].attrs["unit"] = "s"
            g["time_arrival_s"].attrs["clock"] = "host arrival time, s since the Unix epoch; NaN = not recorded"
            a = {"kind": kind, "unit": unit, "frame": frame or "", "nominal_rate_hz": rate,
                 "device": device, "columns": np.array(columns, dtype=STR_DTYPE),
                 "image": bool(image)}
            if unit == "mixed":
                a["column_units"] = np.array(column_units, dtype=STR_DTYPE)
            write_attrs(g, {**(attrs or {}), **a})
            q = self._f["quality/streams"].create_group(name)
            for key, (qdtype, initial) in schema.QUALITY_COUNTERS.items():
                q.attrs[key] = np.dtype(qdtype).type(initial)
        writer = StreamWriter(self, g, name, sample_shape, dtype, bool(image))
        self._streams[name] = writer
        return writer

    @staticmethod
    def _chunk_rows(rate_hz: float, row_bytes: int) -> int:
        rows = int(round(rate_hz * schema.NUMERIC_CHUNK_SECONDS)) if math.isfinite(rate_hz) and rate_hz > 0 else 1024
        rows = min(rows, max(1, schema.NUMERIC_CHUNK_MAX_BYTES // row_bytes))
        return max(1, rows)

    def stream(self, name: str) -> StreamWriter:
        return self._streams[name]

    def add_calibration(self, name: str, attrs: dict | None = None, arrays: dict | None = None) -> None:
        """Record a calibration used for this trial (replaces one of the same name)."""
        _check_name("calibration", name)

        def do(f):
            if name in f["calibration"]:
                del f["calibration"][name]
            g = f["calibration"].create_group(name, track_order=True)
            write_attrs(g, attrs or {})
            write_tree(g, arrays or {})
        self._defer_or_run(do)

    def write_truth(self, arrays: dict | None = None, attrs: dict | None = None) -> None:
        """Simulator ground truth (/truth). Never read by analysis."""
        def do(f):
            if "truth" in f:
                del f["truth"]
            g = f.create_group("truth")
            write_attrs(g, attrs or {})
            write_tree(g, arrays or {})
        self._defer_or_run(do)

    def update_metadata(self, **attrs) -> None:
        """Add or change /metadata attributes (written at close once the trial has started)."""
        def do(f):
            settings = attrs.pop("settings", None)
            write_attrs(f["metadata"], attrs)
            if settings is not None:
                f["metadata"].attrs["settings"] = json.dumps(settings)
        self._defer_or_run(do)

    def set_quality(self, stream: str, **counters) -> None:
        """Set a stream's quality counters (dropped, crc_errors, achieved_rate_hz,
        clock_fit_residual_ms, or any other). The pre-created counters are written at once (also
        live); other keys are written at close once the trial has started."""
        self._check_open()
        if stream not in self._streams:
            raise ValueError(f"set_quality: no stream {stream!r}")
        later = {}
        if self._error is not None:
            return                       # the file can take nothing more (see `error`)
        with self._lock, self._writing():
            q = self._f["quality/streams"][stream]
            for key, value in counters.items():
                if key in schema.QUALITY_COUNTERS:
                    q.attrs[key] = np.dtype(schema.QUALITY_COUNTERS[key][0]).type(value)
                elif not (self._started and self.live):
                    write_attrs(q, {key: value})
                else:
                    later[key] = value
            self._dirty = True
        if later:
            self._at_close.append(lambda f: write_attrs(f["quality/streams"][stream], later))

    def add_fault(self, stream: str, kind: str, message: str, time_host_s: float | None = None) -> None:
        """Record a fault (works while recording live). time_host_s defaults to now."""
        self._check_open()
        t = self._clock() if time_host_s is None else float(time_host_s)
        values = {"time_host_s": t, "stream": stream or "", "kind": kind or "", "message": message or ""}
        if self._error is not None:
            self.unwritten_faults.append(values)     # the file can take nothing more
            return
        with self._lock, self._writing():
            g = self._f["quality/faults"]
            i = self._fault_count
            for field, (ftype, size) in schema.FAULT_FIELDS.items():
                ds = g[field]
                ds.resize((i + 1,))
                v = values[field]
                if ftype == "S":
                    v = _utf8_cut(str(v), size)
                ds[i] = v
            self._fault_count = i + 1
            self._dirty = True

    # ---- streaming ----------------------------------------------------------------------
    def start(self) -> None:
        """Switch to SWMR mode: readers may follow the file; no new streams after this."""
        self._check_open()
        with self._lock:
            if self._started:
                return
            self._raise_if_failed()
            if not self.live:
                self._started = True
                return
            with self._writing():
                self._f.flush()
                self._f.swmr_mode = True
            self._started = True
            self._last_flush = time.monotonic()
        self._flusher = threading.Thread(target=self._flush_loop, name=f"flush {self.path.name}",
                                         daemon=True)
        self._flusher.start()

    def _flush_loop(self) -> None:
        period = self.flush_interval_s / 2
        while not self._stop_flusher.wait(period):
            with self._lock:
                if self._closed or self._error is not None:
                    return
                if self._dirty and time.monotonic() - self._last_flush >= self.flush_interval_s:
                    try:
                        self._flush_locked()
                    except WRITE_ERRORS as exc:      # reported by the next append/flush/close
                        self._fail(exc)
                        return

    def _flush_due(self) -> bool:
        return self.live and time.monotonic() - self._last_flush >= self.flush_interval_s

    def _flush_locked(self) -> None:
        # Samples first, flushed to disk; only then the times that make readers count them. A
        # flush that fails half-way (full disk) then cannot leave counted samples without data.
        for st in self._streams.values():
            st._write_pending_data()
            if self.live and st._rows_written < st._data_written:
                st._data.flush()         # H5Dflush: this dataset's chunks and index only
        for st in self._streams.values():
            st._write_pending_times()
        self._f.flush()
        self._dirty = False
        self._last_flush = time.monotonic()

    def flush(self) -> None:
        with self._lock:
            self._check_open()
            with self._writing():
                self._flush_locked()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"trial {self.path} is already closed")

    # ---- write errors -------------------------------------------------------------------
    @property
    def failed(self) -> bool:
        """True once writing the file failed (full disk, I/O error): see `error`."""
        return self._error is not None

    @property
    def error(self) -> str | None:
        """The one-line reason of the write failure, or None."""
        return self._error

    def _fail(self, exc: BaseException) -> None:
        """Mark the writer failed (caller holds the lock). The flusher stops; nothing more is
        written; the file keeps what was flushed before."""
        if self._error is None:
            self._error = describe_write_error(exc)
            self._stop_flusher.set()
            log.warning("writing trial %s failed: %s", self.path, self._error)
            atexit.register(self._release_at_exit)   # in case nobody calls close()

    def _release_at_exit(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._release_failed()

    def _failure(self) -> TrialWriteError:
        self._error_reported = True
        return TrialWriteError(f"{self.path}: writing the trial failed: {self._error}; what was "
                               f"flushed before is kept (status 'recording': finish it with "
                               f"`station recover {self.path}`)")

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._failure() from None

    class _Writing:
        __slots__ = ("w",)

        def __init__(self, w):
            self.w = w

        def __enter__(self):
            self.w._raise_if_failed()

        def __exit__(self, exc_type, exc, tb):
            if exc_type is not None and issubclass(exc_type, WRITE_ERRORS) \
                    and not isinstance(exc, TrialError):
                self.w._fail(exc)
                raise self.w._failure() from None
            return False

    def _writing(self) -> "_Writing":
        """Context for HDF5 writes: a write error marks the writer failed and becomes a
        TrialWriteError; after a failure it raises at once."""
        return TrialWriter._Writing(self)

    def _release_failed(self) -> None:
        """Close a file whose write failed without damaging what is on disk and without
        crashing: h5py's close flushes again, fails again, and HDF5 then crashes (segfault) when
        the process exits. So the file's descriptor is first pointed at /dev/null: the final
        flush 'succeeds' into nothing, HDF5 closes cleanly, and the file on disk stays as it was
        last flushed (status 'recording', consistency flags set, like after a kill)."""
        f = self._f
        try:
            fd = f.id.get_vfd_handle()
            null = os.open(os.devnull, os.O_RDWR)
            try:
                os.dup2(null, fd)
            finally:
                os.close(null)
        except Exception as exc:         # no descriptor (already closed): nothing to detach
            log.debug("trial %s: cannot detach the file descriptor: %s", self.path, exc)
        try:
            f.close()
        except Exception as exc:
            log.debug("trial %s: close after a write failure: %s", self.path, exc)

    # ---- closing ------------------------------------------------------------------------
    def close(self, status: str = schema.STATUS_COMPLETE, reason: str = "", *,
              end_time_utc=None) -> None:
        """Finish the trial: status 'complete', or 'aborted' with a reason. end_time_utc (Unix
        epoch s, aware datetime or ISO-8601 UTC string) defaults to the writer's clock.

        After a write failure the file is released as last flushed (status 'recording') and a
        TrialWriteError is raised unless the failure was already raised to the caller."""
        self._close(status, reason, end_time_utc, raise_failure=True)

    def _close(self, status, reason, end_time_utc, raise_failure: bool) -> None:
        if self._closed:
            return
        if status not in (schema.STATUS_COMPLETE, schema.STATUS_ABORTED):
            raise ValueError(f"close status must be 'complete' or 'aborted', not {status!r}")
        if status == schema.STATUS_ABORTED and not reason:
            reason = "aborted (no reason given)"
        end = iso_utc(self._clock() if end_time_utc is None else end_time_utc)
        self._stop_flusher.set()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join()

        def finish(f):
            f["metadata"].attrs["end_time_utc"] = end
            f.attrs["status"] = status
            f.attrs["status_reason"] = str(reason)

        with self._lock:
            self._closed = True
            if self._error is None:
                try:
                    self._close_file(finish)
                except WRITE_ERRORS as exc:
                    self._fail(exc)
                except BaseException:    # e.g. a bad value kept for the close: still close
                    try:
                        self._f.close()
                    except WRITE_ERRORS as exc:
                        self._fail(exc)
                        self._release_failed()
                    raise
            if self._error is not None:
                self._release_failed()
                if raise_failure and not self._error_reported:
                    raise self._failure()

    def _close_file(self, finish) -> None:
        f = self._f
        self._flush_locked()             # data, then times (see _flush_locked)
        # Existing attributes only change value, which SWMR allows: the final status is in the
        # file even if a live reader stops us from reopening it below.
        finish(f)
        if self._started and self._at_close:
            f.close()
            f = self._f = self._reopen_for_close()
            for fn in self._at_close:
                fn(f)
            finish(f)
        f.close()

    def _reopen_for_close(self) -> h5py.File:
        """Reopen the closed SWMR file normally to create what was kept for the close. A live
        reader holds a lock on it: wait a little, then write without the lock (we are the only
        writer; the live reader may have to reopen)."""
        deadline = time.monotonic() + 2.0
        while True:
            try:
                return h5py.File(self.path, "r+", libver="latest")
            except OSError as exc:
                if "lock" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    return h5py.File(self.path, "r+", libver="latest", locking=False)
                time.sleep(0.1)

    def __enter__(self) -> "TrialWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._closed:
            return
        if exc_type is None:
            self.close(schema.STATUS_COMPLETE)
        else:       # do not hide the exception in flight (it may be the write error itself)
            self._close(schema.STATUS_ABORTED, f"{exc_type.__name__}: {exc}"[:500], None,
                        raise_failure=False)


def _utf8_cut(text: str, size: int) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) <= size:
        return raw
    return raw[:size].decode("utf-8", errors="ignore").encode("utf-8")

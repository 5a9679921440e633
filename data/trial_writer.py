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
  4. close(status='complete' | 'aborted', reason=...) writes what is gathered, sets the final
     status, reason and end time (changing existing attributes, which SWMR allows), and, if
     anything was kept for the close, reopens the file normally to create it.
Thread-safe: streams may be appended from different threads (one lock per trial).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import threading
import time
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np

from data import schema
from data.h5_tree import write_attrs, write_tree, STR_DTYPE
from data.trial_errors import TrialError
from data.stream_writer import StreamWriter


def utc_now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


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

    def __init__(self, path, metadata: dict, *, flush_interval_s: float = 0.5):
        self.path = Path(path)
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
                "start_time_utc": utc_now_iso(), "end_time_utc": "",
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
        if self._started:
            self._at_close.append(fn)
        else:
            with self._lock:
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

        with self._lock:
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
        with self._lock:
            q = self._f["quality/streams"][stream]
            for key, value in counters.items():
                if key in schema.QUALITY_COUNTERS:
                    q.attrs[key] = np.dtype(schema.QUALITY_COUNTERS[key][0]).type(value)
                elif not self._started:
                    write_attrs(q, {key: value})
                else:
                    later[key] = value
            self._dirty = True
        if later:
            self._at_close.append(lambda f: write_attrs(f["quality/streams"][stream], later))

    def add_fault(self, stream: str, kind: str, message: str, time_host_s: float | None = None) -> None:
        """Record a fault (works while recording live). time_host_s defaults to now."""
        self._check_open()
        t = time.time() if time_host_s is None else float(time_host_s)
        values = {"time_host_s": t, "stream": stream or "", "kind": kind or "", "message": message or ""}
        with self._lock:
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
                if self._closed:
                    return
                if self._dirty and time.monotonic() - self._last_flush >= self.flush_interval_s:
                    self._flush_locked()

    def _flush_locked(self) -> None:
        for st in self._streams.values():
            st._write_pending()
        self._f.flush()
        self._dirty = False
        self._last_flush = time.monotonic()

    def flush(self) -> None:
        with self._lock:
            self._check_open()
            self._flush_locked()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"trial {self.path} is already closed")

    # ---- closing ------------------------------------------------------------------------
    def close(self, status: str = schema.STATUS_COMPLETE, reason: str = "") -> None:
        """Finish the trial: status 'complete', or 'aborted' with a reason."""
        if self._closed:
            return
        if status not in (schema.STATUS_COMPLETE, schema.STATUS_ABORTED):
            raise ValueError(f"close status must be 'complete' or 'aborted', not {status!r}")
        if status == schema.STATUS_ABORTED and not reason:
            reason = "aborted (no reason given)"
        self._stop_flusher.set()
        if self._flusher is not None:
            self._flusher.join()
        end = utc_now_iso()

        def finish(f):
            f["metadata"].attrs["end_time_utc"] = end
            f.attrs["status"] = status
            f.attrs["status_reason"] = str(reason)

        with self._lock:
            self._closed = True
            f = self._f
            try:
                for st in self._streams.values():
                    st._write_pending()
                # Existing attributes only change value, which SWMR allows: the final status is
                # in the file even if a live reader stops us from reopening it below.
                finish(f)
                if self._started and self._at_close:
                    f.close()
                    f = self._reopen_for_close()
                    for fn in self._at_close:
                        fn(f)
                    finish(f)
            finally:
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
        else:
            self.close(schema.STATUS_ABORTED, reason=f"{exc_type.__name__}: {exc}"[:500])


def _utf8_cut(text: str, size: int) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) <= size:
        return raw
    return raw[:size].decode("utf-8", errors="ignore").encode("utf-8")

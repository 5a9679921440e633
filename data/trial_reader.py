"""Reading a trial file: open_trial(path) -> Trial (schema: data/SCHEMA.md).

Image data stays lazy (h5py datasets); times and sequences are read into numpy on demand.
A trial being written (or whose writer was killed) is read through HDF5 SWMR; with live=True,
`refresh()` picks up what the writer flushed since.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import h5py
import hdf5plugin  # noqa: F401  (registers the Blosc filter used by image streams)
import numpy as np

from data import schema
from data.h5_tree import read_attrs, read_tree, to_str
from data.trial_errors import TrialError
from data.trial_open import check_trial_identity, open_h5


@dataclass
class Entry:
    """A described thing (device, calibration, result, truth): attributes plus arrays."""
    name: str
    attrs: dict
    arrays: dict = field(default_factory=dict)


@dataclass
class Fault:
    time_host_s: float
    stream: str
    kind: str
    message: str


class Stream:
    """One raw stream. `data` is the h5py dataset (lazy); len(stream) is the number of complete
    samples (a live or killed file may hold a partly appended last block: it is not counted)."""

    def __init__(self, group: h5py.Group):
        self._group = group
        self.name = group.name.rsplit("/", 1)[-1]
        self.attrs = read_attrs(group)
        self.kind: str = self.attrs.get("kind", "")
        self.unit: str = self.attrs.get("unit", "")
        self.frame: str | None = self.attrs.get("frame") or None
        self.device: str = self.attrs.get("device", "")
        self.columns: list[str] = list(self.attrs.get("columns", []) or [])
        self.column_units: list[str] | None = self.attrs.get("column_units")
        self.nominal_rate_hz: float = float(self.attrs.get("nominal_rate_hz", float("nan")))
        self.image: bool = bool(self.attrs.get("image", False))

    def _ds(self, name: str) -> h5py.Dataset:
        return self._group[name]

    @property
    def data(self) -> h5py.Dataset:
        """The samples (n, *sample_shape) as a lazy h5py dataset; slice it to read."""
        return self._ds("data")

    @property
    def sample_shape(self) -> tuple:
        return self.data.shape[1:]

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __len__(self) -> int:
        names = ["data", "sequence", "time_device_s", "time_host_s"]
        if "time_arrival_s" in self._group:
            names.append("time_arrival_s")
        return min(self._group[n].shape[0] for n in names)

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples [start, stop) as a numpy array."""
        n = len(self)
        stop = n if stop is None else min(stop, n)
        return self.data[start:stop]

    def _column(self, name: str) -> np.ndarray:
        return self._group[name][: len(self)]

    @property
    def sequence(self) -> np.ndarray:
        return self._column("sequence")

    @property
    def time_device_s(self) -> np.ndarray:
        return self._column("time_device_s")

    @property
    def time_host_s(self) -> np.ndarray:
        return self._column("time_host_s")

    @property
    def time_arrival_s(self) -> np.ndarray | None:
        """Host arrival times, or None if the stream does not have them (NaN = not recorded)."""
        if "time_arrival_s" not in self._group:
            return None
        return self._column("time_arrival_s")

    @property
    def times(self) -> np.ndarray:
        """The stream's time base: host-clock times (s since the Unix epoch)."""
        return self.time_host_s

    @property
    def duration_s(self) -> float:
        t = self.time_host_s
        return float(t[-1] - t[0]) if len(t) > 1 else 0.0

    @property
    def achieved_rate_hz(self) -> float:
        """(n - 1) / duration on the host clock; NaN with fewer than 2 samples."""
        n = len(self)
        d = self.duration_s
        return (n - 1) / d if n > 1 and d > 0 else float("nan")

    @property
    def rate(self) -> float:
        return self.achieved_rate_hz

    @property
    def sequence_gaps(self) -> int:
        """Samples missing according to the sequence numbers (sum of gaps)."""
        s = self.sequence
        if len(s) < 2:
            return 0
        d = np.diff(s)
        return int(np.sum(d[d > 1] - 1))

    def refresh(self) -> None:
        for item in self._group.values():
            if isinstance(item, h5py.Dataset):
                item.refresh()

    def __repr__(self) -> str:
        return (f"Stream({self.name!r}, kind={self.kind!r}, n={len(self)}, unit={self.unit!r}, "
                f"frame={self.frame!r})")


class Trial:
    """An open trial file. Close it (or use `with`) when done."""

    def __init__(self, f: h5py.File, path, swmr: bool, live: bool):
        self._f = f
        self.path = path
        self.swmr = swmr
        self.live = live
        self.schema_version = check_trial_identity(f, path)
        try:
            self._load()
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise TrialError(f"{path}: damaged trial file ({' '.join(str(exc).split())[:200]})") from None

    def _load(self) -> None:
        f = self._f
        self.status = to_str(f.attrs.get("status", ""))
        self.status_reason = to_str(f.attrs.get("status_reason", ""))
        md = read_attrs(f["metadata"]) if "metadata" in f else {}
        if isinstance(md.get("settings"), str):
            try:
                md["settings"] = json.loads(md["settings"])
            except json.JSONDecodeError:
                pass
        self.metadata = md
        self._streams = {}
        if "raw" in f:
            for name, g in f["raw"].items():
                st = Stream(g)
                len(st)                 # touches every dataset: damage shows here, not later
                self._streams[name] = st

    # ---- raw streams --------------------------------------------------------------------
    def streams(self) -> dict[str, Stream]:
        """name -> Stream, in file order."""
        return dict(self._streams)

    def stream(self, name: str) -> Stream:
        try:
            return self._streams[name]
        except KeyError:
            raise TrialError(f"{self.path}: no stream {name!r} (streams: "
                             f"{', '.join(self._streams) or 'none'})") from None

    # ---- descriptions -------------------------------------------------------------------
    def _entries(self, group_path: str) -> dict[str, Entry]:
        if group_path not in self._f:
            return {}
        return {name: Entry(name, read_attrs(g), read_tree(g))
                for name, g in self._f[group_path].items() if isinstance(g, h5py.Group)}

    def devices(self) -> dict[str, Entry]:
        return self._entries("devices")

    def calibrations(self) -> dict[str, Entry]:
        return self._entries("calibration")

    def results(self) -> dict[str, Entry]:
        """name -> Entry(attrs (settings decoded), arrays). Derived data, replaceable."""
        out = self._entries("results")
        for e in out.values():
            if isinstance(e.attrs.get("settings"), str):
                try:
                    e.attrs["settings"] = json.loads(e.attrs["settings"])
                except json.JSONDecodeError:
                    pass
        return out

    def result(self, name: str) -> Entry:
        res = self.results()
        if name not in res:
            raise TrialError(f"{self.path}: no results {name!r} (results: {', '.join(res) or 'none'})")
        return res[name]

    def truth(self) -> Entry | None:
        """Simulator ground truth, or None. Analysis must never read it."""
        if "truth" not in self._f:
            return None
        g = self._f["truth"]
        return Entry("truth", read_attrs(g), read_tree(g))

    # ---- quality ------------------------------------------------------------------------
    def quality(self) -> dict[str, dict]:
        """stream -> counters (dropped, crc_errors, achieved_rate_hz, clock_fit_residual_ms, ...)."""
        if "quality/streams" not in self._f:
            return {}
        return {name: read_attrs(g) for name, g in self._f["quality/streams"].items()}

    def faults(self) -> list[Fault]:
        if "quality/faults" not in self._f:
            return []
        g = self._f["quality/faults"]
        cols = {k: g[k][()] for k in schema.FAULT_FIELDS if k in g}
        if not cols:
            return []
        n = min(len(v) for v in cols.values())
        return [Fault(float(cols["time_host_s"][i]), to_str(cols["stream"][i]),
                      to_str(cols["kind"][i]), to_str(cols["message"][i])) for i in range(n)]

    # ---- live ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Pick up data flushed by a live writer since the last refresh (live=True trials)."""
        if not self.swmr:
            return
        for st in self._streams.values():
            st.refresh()
        if "quality/faults" in self._f:
            for ds in self._f["quality/faults"].values():
                ds.refresh()

    @property
    def file(self) -> h5py.File:
        """The underlying h5py file (read-only), for anything this API does not cover."""
        return self._f

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "Trial":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Trial({str(self.path)!r}, status={self.status!r}, streams={list(self._streams)})"


def open_trial(path, live: bool = False) -> Trial:
    """Open a trial for reading. Raises TrialError (one-line reason) for anything that is not a
    readable trial of this schema version. live=True follows a trial still being written."""
    f, swmr = open_h5(path, live=live)
    try:
        return Trial(f, path, swmr=swmr, live=live)
    except BaseException:
        f.close()
        raise

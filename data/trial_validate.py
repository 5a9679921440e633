"""validate_trial(path) -> list of problems (empty = valid), each naming the exact place.

Rules: data/schema.py (machine-readable) and data/SCHEMA.md (human-readable).
"""
from __future__ import annotations

import datetime as _dt
import json

import h5py
import numpy as np

from data import schema
from data.h5_tree import read_attrs, to_str
from data.trial_errors import TrialError
from data.trial_open import check_trial_identity, open_h5


def validate_trial(path) -> list[str]:
    """Check a file against the trial schema. Returns problems as one-line strings."""
    try:
        f, _swmr = open_h5(path)
    except TrialError as exc:
        return [str(exc)]
    try:
        try:
            check_trial_identity(f, path)
        except TrialError as exc:
            return [str(exc)]
        problems: list[str] = []
        try:
            _check_file(f, problems)
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            problems.append(f"damaged file: {' '.join(str(exc).split())[:200]}")
        return problems
    finally:
        f.close()


def _check_file(f: h5py.File, problems: list[str]) -> None:
    for a in schema.ROOT_ATTRS:
        if a not in f.attrs:
            problems.append(f"/: attr {a} missing")
    status = to_str(f.attrs.get("status", ""))
    if "status" in f.attrs and status not in schema.STATUSES:
        problems.append(f"/: status attr is {status!r}, schema allows {', '.join(schema.STATUSES)}")
    if status == schema.STATUS_RECORDING:
        problems.append("/: status is 'recording': the writer has not closed the trial "
                        "(still recording, or killed)")
    if status == schema.STATUS_ABORTED and not to_str(f.attrs.get("status_reason", "")):
        problems.append("/: status is 'aborted' but status_reason is empty")
    for g in schema.REQUIRED_GROUPS:
        if g not in f:
            problems.append(f"{g} missing")
        elif not isinstance(f[g], h5py.Group):
            problems.append(f"{g} is not a group")
    if "metadata" in f:
        _check_metadata(f["metadata"], problems)
    devices = set(f["devices"]) if "devices" in f else set()
    for name in devices:
        if "kind" not in f["devices"][name].attrs:
            problems.append(f"/devices/{name}: attr kind missing")
    if "raw" in f:
        for name, g in f["raw"].items():
            _check_stream(f, name, g, devices, problems)
    if "quality/faults" in f:
        _check_faults(f["quality/faults"], problems)
    if "results" in f:
        for name, g in f["results"].items():
            for a in schema.RESULT_ATTRS:
                if a not in g.attrs:
                    problems.append(f"/results/{name}: attr {a} missing")
            _check_json(g, "settings", f"/results/{name}", problems)
            if name in schema.RESULT_SPECS and isinstance(g, h5py.Group):
                _check_result_attrs(g, f"/results/{name}", schema.RESULT_SPECS[name], problems)


_TYPE_NAMES = {float: "a number", int: "an integer", str: "a string", bool: "a boolean"}


def _check_result_attrs(g: h5py.Group, where: str, spec: dict, problems: list[str]) -> None:
    attrs = read_attrs(g)
    for a, (typ, required) in spec.items():
        if a not in attrs:
            if required:
                problems.append(f"{where}: attr {a} missing")
            continue
        v = attrs[a]
        if typ is float:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        elif typ is int:
            ok = isinstance(v, int) and not isinstance(v, bool)
        else:
            ok = isinstance(v, typ)
        if not ok:
            problems.append(f"{where}: attr {a} must be {_TYPE_NAMES[typ]}, not {v!r}"[:200])


def _check_json(obj, attr: str, where: str, problems: list[str]) -> None:
    if attr not in obj.attrs:
        return
    try:
        value = json.loads(to_str(obj.attrs[attr]))
    except (json.JSONDecodeError, TypeError):
        problems.append(f"{where}: attr {attr} is not valid JSON")
        return
    if not isinstance(value, dict):
        problems.append(f"{where}: attr {attr} must be a JSON object")


def _check_metadata(g: h5py.Group, problems: list[str]) -> None:
    for a, typ in schema.METADATA_ATTRS.items():
        if a not in g.attrs:
            problems.append(f"/metadata: attr {a} missing")
            continue
        value = g.attrs[a]
        if typ is str and not isinstance(value, (str, bytes)):
            problems.append(f"/metadata: attr {a} must be a string, not {type(value).__name__}")
    for a in schema.METADATA_REQUIRED_FROM_CALLER:
        if a in g.attrs and not to_str(g.attrs[a]):
            problems.append(f"/metadata: attr {a} is empty")
    for a in ("start_time_utc", "end_time_utc"):
        text = to_str(g.attrs.get(a, ""))
        if not text:
            continue
        try:
            t = _dt.datetime.fromisoformat(text)
        except ValueError:
            problems.append(f"/metadata: attr {a} {text!r} is not ISO-8601")
            continue
        if t.utcoffset() != _dt.timedelta(0):
            problems.append(f"/metadata: attr {a} {text!r} is not in UTC")
    _check_json(g, "settings", "/metadata", problems)


def _has_blosc(ds: h5py.Dataset) -> bool:
    plist = ds.id.get_create_plist()
    return any(plist.get_filter(i)[0] == schema.BLOSC_FILTER_ID for i in range(plist.get_nfilters()))


def _check_stream(f: h5py.File, name: str, g, devices: set, problems: list[str]) -> None:
    where = f"/raw/{name}"
    if not isinstance(g, h5py.Group):
        problems.append(f"{where} is not a group")
        return
    attrs = read_attrs(g)
    for a in schema.STREAM_ATTRS:
        if a not in attrs:
            problems.append(f"{where}: attr {a} missing")
    kind = attrs.get("kind")
    spec = schema.STREAM_KINDS.get(kind)
    if kind is not None and spec is None:
        problems.append(f"{where}: kind attr is {kind!r}, schema kinds are "
                        f"{', '.join(schema.STREAM_KINDS)}")
    unit = attrs.get("unit")
    if spec is not None and unit is not None:
        if spec["units"] is not None and unit not in spec["units"]:
            allowed = " or ".join(repr(u) for u in spec["units"])
            problems.append(f"{where}: unit attr is {unit!r}, schema requires {allowed} for kind {kind}")
        elif spec["units"] is None and not unit:
            problems.append(f"{where}: unit attr is empty")
    if spec is not None and spec.get("needs_frame") and "frame" in attrs and not attrs["frame"]:
        problems.append(f"{where}: frame attr is empty, kind {kind} needs a coordinate frame")
    device = attrs.get("device")
    if device is not None and device not in devices:
        problems.append(f"{where}: device attr {device!r} has no /devices/{device}")
    if spec is not None and "image" in attrs and bool(attrs["image"]) != spec["image"]:
        problems.append(f"{where}: image attr is {bool(attrs['image'])}, kind {kind} requires {spec['image']}")
    rate = attrs.get("nominal_rate_hz")
    if rate is not None and not (isinstance(rate, float) and (np.isnan(rate) or rate > 0)):
        problems.append(f"{where}: nominal_rate_hz attr must be a positive float (or NaN if irregular)")

    lengths = {}
    required = dict(schema.STREAM_DATASETS_REQUIRED)
    for ds_name, dtype in {**required, **schema.STREAM_DATASETS_OPTIONAL}.items():
        if ds_name not in g:
            if ds_name in required:
                problems.append(f"{where}/{ds_name} missing")
            continue
        ds = g[ds_name]
        if not isinstance(ds, h5py.Dataset):
            problems.append(f"{where}/{ds_name} is not a dataset")
            continue
        lengths[ds_name] = ds.shape[0] if ds.shape else None
        if dtype is not None and ds.dtype != np.dtype(dtype):
            problems.append(f"{where}/{ds_name}: dtype is {ds.dtype}, schema requires {dtype}")
        if dtype is not None and ds.ndim != 1:
            problems.append(f"{where}/{ds_name}: must be 1-D (time), has shape {ds.shape}")
        if ds.maxshape and ds.maxshape[0] is not None:
            problems.append(f"{where}/{ds_name}: time axis must be resizable (maxshape None)")
    times = {k: v for k, v in lengths.items() if k != "data"}
    recording = to_str(f.attrs.get("status", "")) == schema.STATUS_RECORDING
    # While recording (or after a kill) samples may be ahead of their times: the writer writes
    # data first; readers count the shortest dataset.
    uneven = (len(set(times.values())) > 1
              or ("data" in lengths and times and (lengths["data"] < min(times.values()) if recording
                                                   else lengths["data"] != min(times.values()))))
    if uneven:
        desc = ", ".join(f"{k}={v}" for k, v in lengths.items())
        problems.append(f"{where}: datasets differ in length along time ({desc})")

    if "data" in g and isinstance(g["data"], h5py.Dataset):
        _check_stream_data(g["data"], where, spec, kind, attrs, problems)
    _check_times(g, where, problems)
    if f"quality/streams/{name}" not in f:
        problems.append(f"/quality/streams/{name} missing")
    else:
        q = f[f"quality/streams/{name}"]
        for key in schema.QUALITY_COUNTERS:
            if key not in q.attrs:
                problems.append(f"/quality/streams/{name}: attr {key} missing")


def _check_stream_data(ds: h5py.Dataset, where: str, spec, kind, attrs, problems) -> None:
    if spec is None:
        return
    if ds.dtype.name not in spec["dtypes"]:
        problems.append(f"{where}/data: dtype is {ds.dtype}, schema allows "
                        f"{', '.join(spec['dtypes'])} for kind {kind}")
    sample_shape = ds.shape[1:]
    if "sample_ndim" in spec and len(sample_shape) != spec["sample_ndim"]:
        problems.append(f"{where}/data: samples have shape {sample_shape}, kind {kind} needs "
                        f"{spec['sample_ndim']} dimensions")
    if "channels" in spec and sample_shape and sample_shape[-1] != spec["channels"]:
        problems.append(f"{where}/data: {sample_shape[-1]} channels, kind {kind} needs {spec['channels']}")
    if spec["image"]:
        if ds.chunks != (1,) + sample_shape:
            problems.append(f"{where}/data: chunks are {ds.chunks}, images need one frame per "
                            f"chunk {(1,) + sample_shape}")
        if not _has_blosc(ds):
            problems.append(f"{where}/data: not compressed with Blosc (filter {schema.BLOSC_FILTER_ID})")
    elif ds.chunks is None:
        problems.append(f"{where}/data: not chunked; numeric streams must be chunked for appends")
    if ds.maxshape and ds.maxshape[0] is not None:
        problems.append(f"{where}/data: time axis must be resizable (maxshape None)")
    columns = attrs.get("columns") or []
    if columns and (len(sample_shape) != 1 or len(columns) != sample_shape[0]):
        problems.append(f"{where}: {len(columns)} columns for samples of shape {sample_shape}")
    if attrs.get("unit") == "mixed":
        cu = attrs.get("column_units") or []
        if len(cu) != len(columns) or not columns:
            problems.append(f"{where}: unit 'mixed' needs a column_units attr with one unit per column")


def _check_times(g, where: str, problems: list[str]) -> None:
    if "sequence" in g and g["sequence"].ndim == 1:
        s = g["sequence"][()]
        if len(s) > 1 and np.any(np.diff(s) <= 0):
            i = int(np.argmax(np.diff(s) <= 0)) + 1
            problems.append(f"{where}/sequence: not strictly increasing at sample {i}")
    for name in ("time_host_s", "time_device_s"):
        if name in g and g[name].ndim == 1:
            t = g[name][()]
            if not np.all(np.isfinite(t)):
                problems.append(f"{where}/{name}: has non-finite values")
            elif len(t) > 1 and np.any(np.diff(t) < 0):
                i = int(np.argmax(np.diff(t) < 0)) + 1
                problems.append(f"{where}/{name}: goes backwards at sample {i}")


def _check_faults(g: h5py.Group, problems: list[str]) -> None:
    lengths = {}
    for field in schema.FAULT_FIELDS:
        if field not in g:
            problems.append(f"/quality/faults/{field} missing")
        else:
            lengths[field] = g[field].shape[0]
    if len(set(lengths.values())) > 1:
        problems.append("/quality/faults: datasets differ in length")

"""A plain-data summary of a trial (what `station inspect` prints; JSON-serialisable)."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from data.trial_reader import Trial


def _num(x):
    """float -> float or None (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return None if not math.isfinite(x) else x


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 16 else f"array{list(value.shape)} {value.dtype}"
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _array_shapes(tree: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_array_shapes(v, f"{prefix}{k}/"))
        else:
            a = np.asarray(v)
            out[f"{prefix}{k}"] = f"{list(a.shape)} {a.dtype}"
    return out


def stream_summary(st, quality: dict) -> dict:
    n = len(st)
    return {
        "name": st.name, "kind": st.kind, "device": st.device, "unit": st.unit,
        "frame": st.frame, "columns": st.columns, "samples": n,
        "sample_shape": list(st.sample_shape), "dtype": str(st.dtype),
        "duration_s": _num(st.duration_s), "nominal_rate_hz": _num(st.nominal_rate_hz),
        "achieved_rate_hz": _num(st.achieved_rate_hz),
        "sequence_gaps": st.sequence_gaps,
        "quality": _plain(quality),
    }


def trial_summary(trial: Trial, problems: list[str] | None = None) -> dict:
    quality = trial.quality()
    faults = trial.faults()
    results = trial.results()
    truth = trial.truth()
    return {
        "path": str(trial.path),
        "schema_version": trial.schema_version,
        "status": trial.status,
        "status_reason": trial.status_reason,
        "metadata": _plain(trial.metadata),
        "streams": [stream_summary(st, quality.get(name, {})) for name, st in trial.streams().items()],
        "devices": {n: _plain(e.attrs) for n, e in trial.devices().items()},
        "calibrations": {n: {"attrs": _plain(e.attrs), "arrays": _array_shapes(e.arrays)}
                         for n, e in trial.calibrations().items()},
        "faults": {"count": len(faults), "by_kind": dict(Counter(f.kind for f in faults)),
                   "first": [vars(f) for f in faults[:10]]},
        "results": {n: {"attrs": _plain(e.attrs), "arrays": _array_shapes(e.arrays)}
                    for n, e in results.items()},
        "truth": None if truth is None else sorted(_array_shapes(truth.arrays)),
        "problems": list(problems or []),
    }

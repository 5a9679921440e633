"""Vertical force (N) of a trial file: the one place where raw plate data become newtons.

A trial's force streams (kind 'force', docs/CONTRACTS.md) hold either
- unit 'count': raw load-cell ADC counts; the plate calibration stored in the trial under
  /calibration/<stream> (calibration.plate.PlateCalibration: F = gain * (counts - zero) per
  channel) turns them into newtons per cell;
- unit 'N': per-cell loads, or Fz per plate when the stream's attribute content == 'fz_per_plate'
  (what `station import` writes).
Fz of a plate = sum of its cells. One stream per plate, or one stream whose calibration lists
the channels of each plate. With one 4-cell plate, the COP follows from the cell loads
(drivers/plate_geometry.cells_to_force_and_cop).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from drivers.plate_geometry import PlateGeometry, cells_to_force_and_cop


class TrialForceError(ValueError):
    """The trial has no usable force (one-line reason)."""


@dataclass
class TrialForce:
    fz_n: np.ndarray                # (T,) or (T, n_plates)
    rate_hz: float
    time_s: np.ndarray              # (T,) host time of each sample
    streams: list[str]
    cop_plate_m: np.ndarray | None  # (T, 2) for one 4-cell plate


def _calibration_arrays(entry) -> tuple[np.ndarray, np.ndarray, list | None]:
    attrs, arrays = dict(entry.attrs), dict(entry.arrays)
    try:
        from calibration.plate import PlateCalibration
        d = {**attrs, **{k: v for k, v in arrays.items()}}
        if isinstance(d.get("plates"), np.ndarray):     # an empty list comes back as an array
            d["plates"] = [] if d["plates"].size == 0 else list(d["plates"])
        if d.get("kind") == "force_plate_calibration":
            cal = PlateCalibration.from_dict(d)
            return cal.zero_counts, cal.newtons_per_count, cal.plates or None
    except (ImportError, ValueError, KeyError, TypeError):
        pass
    zero = arrays.get("zero_counts", attrs.get("zero_counts"))
    gain = arrays.get("newtons_per_count", attrs.get("newtons_per_count"))
    if zero is None or gain is None:
        raise TrialForceError("its calibration has no zero_counts / newtons_per_count")
    plates = attrs.get("plates")
    if isinstance(plates, np.ndarray):
        plates = list(plates) if plates.size else None
    return np.asarray(zero, float), np.asarray(gain, float), plates


def force_from_trial(trial) -> TrialForce:
    streams = [s for s in trial.streams().values() if s.kind == "force"]
    if not streams:
        raise TrialForceError(f"{trial.path}: no force stream in this trial")
    cals = trial.calibrations()
    plates: list[np.ndarray] = []
    cells_single = None
    geometry = None
    ref = streams[0]
    for st in streams:
        raw = np.asarray(st.read(), dtype=float)
        if raw.ndim == 1:
            raw = raw[:, None]
        if st.unit == "count":
            if st.name not in cals:
                raise TrialForceError(f"{trial.path}: stream {st.name!r} is in ADC counts but the "
                                      f"trial has no /calibration/{st.name}")
            try:
                zero, gain, layout = _calibration_arrays(cals[st.name])
            except TrialForceError as exc:
                raise TrialForceError(f"{trial.path}: stream {st.name!r}: {exc}") from None
            cells = (raw - zero) * gain
        elif st.unit == "N":
            cells, layout = raw, None
            if st.attrs.get("content") == "fz_per_plate":
                plates.extend(cells.T)
                continue
        else:
            raise TrialForceError(f"{trial.path}: stream {st.name!r} has unit {st.unit!r}; "
                                  "the force analysis reads 'count' or 'N'")
        groups = [list(p["channels"]) for p in layout] if layout else [list(range(cells.shape[1]))]
        for g in groups:
            plates.append(cells[:, g].sum(axis=1))
        if len(groups) == 1 and cells.shape[1] == 4:
            cells_single = cells
            if layout and len(layout) == 1:
                geo = {a: b for a, b in layout[0].items() if a != "channels"}
                geometry = PlateGeometry.from_dict(geo) if geo else None
    n = min(len(p) for p in plates)
    fz = np.stack([p[:n] for p in plates], axis=1)
    if fz.shape[1] == 1:
        fz = fz[:, 0]
    t = ref.time_host_s[:n]
    rate = float((n - 1) / (t[-1] - t[0])) if n > 1 and t[-1] > t[0] else float(ref.nominal_rate_hz)
    nominal = float(ref.nominal_rate_hz)
    if math.isfinite(nominal) and abs(rate - nominal) <= 1e-3 * nominal:
        rate = nominal          # the clock agrees with the declared rate: keep it exact
    cop = None
    if cells_single is not None and fz.ndim == 1:
        _, cop = cells_to_force_and_cop(cells_single[:n], geometry or PlateGeometry())
    return TrialForce(fz, rate, t, [s.name for s in streams], cop)

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
from dataclasses import dataclass, field

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
    notes: list = field(default_factory=list)   # what was done to the raw samples, for the results


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
    plate_times: list[np.ndarray] = []     # host time of each plate's samples (its stream's)
    notes: list[str] = []
    cells_single = None
    geometry = None
    ref = streams[0]
    for st in streams:
        raw = np.asarray(st.read(), dtype=float)
        if raw.ndim == 1:
            raw = raw[:, None]
        t_st = np.asarray(st.time_host_s, float)
        seq = np.asarray(st.sequence, np.int64)
        if len(seq) > 1 and np.any(np.diff(seq) != 1) and np.all(np.diff(seq) > 0):
            # lost samples (the driver counts them, never fills them): the analysis needs a
            # regular grid, so the force is interpolated across each gap by sequence number
            # (the raw stream stays as it is); without this every later sample moves earlier
            # by the gap and the rate taken from the host clock is wrong
            full = np.arange(seq[0], seq[-1] + 1)
            notes.append(f"{st.name}: {len(full) - len(seq)} lost sample(s) in "
                         f"{int(np.sum(np.diff(seq) != 1))} gap(s) interpolated for the analysis "
                         f"(the raw stream keeps the gaps)")
            raw = np.column_stack([np.interp(full, seq, c) for c in raw.T])
            t_st = np.interp(full, seq, t_st)
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
                plate_times.extend([t_st] * cells.shape[1])
                continue
        else:
            raise TrialForceError(f"{trial.path}: stream {st.name!r} has unit {st.unit!r}; "
                                  "the force analysis reads 'count' or 'N'")
        groups = [list(p["channels"]) for p in layout] if layout else [list(range(cells.shape[1]))]
        for g in groups:
            plates.append(cells[:, g].sum(axis=1))
            plate_times.append(t_st)
        if len(groups) == 1 and cells.shape[1] == 4:
            cells_single = cells
            if layout and len(layout) == 1:
                geo = {a: b for a, b in layout[0].items() if a != "channels"}
                geometry = PlateGeometry.from_dict(geo) if geo else None
    t_ref = plate_times[0]
    if all(len(t) == len(t_ref) and np.array_equal(t, t_ref) for t in plate_times):
        n = len(t_ref)                      # one stream, or one device carrying every plate
        fz = np.stack(plates, axis=1)
        t = t_ref
    else:
        # streams of different devices start, and sample, at different host times (and may
        # have lost samples): put every plate on the first stream's samples, by host time,
        # over the span all of them cover. Never by index: plate2's sample k is not plate1's.
        lo = max(float(tp[0]) for tp in plate_times)
        hi = min(float(tp[-1]) for tp in plate_times)
        keep = np.nonzero((t_ref >= lo) & (t_ref <= hi))[0]
        if len(keep) < 2:
            raise TrialForceError(f"{trial.path}: the force streams do not overlap in time")
        t = t_ref[keep]
        fz = np.stack([np.interp(t, np.maximum.accumulate(tp), p) for tp, p in
                       zip(plate_times, plates)], axis=1)
        n = len(t)
        cells_single = None                 # several plates: no single-plate COP
    if fz.shape[1] == 1:
        fz = fz[:, 0]
    rate = float((n - 1) / (t[-1] - t[0])) if n > 1 and t[-1] > t[0] else float(ref.nominal_rate_hz)
    nominal = float(ref.nominal_rate_hz)
    if math.isfinite(nominal) and abs(rate - nominal) <= 1e-3 * nominal:
        rate = nominal          # the clock agrees with the declared rate: keep it exact
    cop = None
    if cells_single is not None and fz.ndim == 1:
        _, cop = cells_to_force_and_cop(cells_single[:n], geometry or PlateGeometry())
    return TrialForce(fz, rate, t, [s.name for s in streams], cop, notes)

"""Force plate calibration: zero (tare), channel gains from known masses, centre-of-pressure check.

Model, per channel c:  F_c [N] = k_c * (counts_c - zero_c),  k_c in N/count.

* Zero: the mean counts of an unloaded window (zero_from_window); its SD is the noise floor.
* Gains: known masses M placed at known positions P = (x, y) on the plate (plate frame, m). For
  each placement, static equilibrium of the rigid top gives three equations linear in k:
      sum_c k_c d_c = M g,   sum_c k_c d_c x_c = M g x_P,   sum_c k_c d_c y_c = M g y_P
  with d_c = counts_c - zero_c and (x_c, y_c) the cell positions (drivers/plate_geometry.py).
  Least squares over all placements gives every k_c of the plate. Equilibrium is used rather
  than an assumed per-cell share of the load because four supports under a rigid top are
  statically indeterminate (the "twist" share of a load depends on the cells' stiffness); the
  three equilibrium equations hold whatever it is. Positions off both axes make all four gains
  identifiable (a placement at the centre alone cannot separate the twist pattern).
* Report: per placement the Fz residual (N) and COP error (m); linearity as the maximum deviation
  from a straight line through zero in % of full scale (FS = the largest load applied), for the
  total Fz and, where one position carried two or more masses, per channel.
* COP check (cop_check): a calibration is applied to placements at known positions; Fz and COP
  errors are reported against tolerances.

Saved as JSON (PlateCalibration.save) in calibration_dir(): $STATION_HOME/calibration or
~/.station/calibration, named plate_<serial>_<UTC time>.json. check() warns when a calibration is
older than max_age_days or the unloaded zero has drifted by more than max_zero_drift_n.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis.constants import G
from calibration.store import age_days, calibration_dir, load_calibration_json, save_calibration_json
from drivers.plate_geometry import PlateGeometry, cells_to_force_and_cop

DEFAULT_MAX_AGE_DAYS = 30.0
DEFAULT_MAX_ZERO_DRIFT_N = 5.0


def _now_utc() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


@dataclass
class Placement:
    """A known mass at a known position on one plate, with the mean counts it produced."""
    mass_kg: float
    position_plate_m: tuple          # (x, y) from the plate centre, plate frame
    counts_mean: np.ndarray          # (channels,) mean counts of the window
    plate: int = 0                   # which plate of the device (0 or 1)
    counts_sd: np.ndarray | None = None


@dataclass
class PlateCalibration:
    device_serial: str
    channels: int
    zero_counts: np.ndarray                     # (channels,)
    newtons_per_count: np.ndarray               # (channels,)
    date_utc: str = field(default_factory=lambda: _now_utc().isoformat(timespec="seconds"))
    device_model: str = ""
    plates: list = field(default_factory=list)  # [{geometry dict..., "channels": [..]}]
    report: dict = field(default_factory=dict)
    path: str | None = None

    def to_newtons(self, counts) -> np.ndarray:
        """(n, channels) counts -> (n, channels) N."""
        c = np.asarray(counts, dtype=float)
        return (c - self.zero_counts) * self.newtons_per_count

    def plate_geometries(self) -> list[tuple[PlateGeometry, list[int]]]:
        out = []
        for k, p in enumerate(self.plates or [{"channels": list(range(self.channels))}]):
            geo = {a: b for a, b in p.items() if a != "channels"}
            out.append((PlateGeometry.from_dict(geo) if geo else PlateGeometry(name=f"plate{k + 1}"),
                        list(p["channels"])))
        return out

    # ---- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"kind": "force_plate_calibration", "version": 1,
                "device_serial": self.device_serial, "device_model": self.device_model,
                "channels": self.channels, "date_utc": self.date_utc,
                "zero_counts": [float(v) for v in self.zero_counts],
                "newtons_per_count": [float(v) for v in self.newtons_per_count],
                "plates": self.plates, "report": _jsonable(self.report)}

    @classmethod
    def from_dict(cls, d: dict) -> "PlateCalibration":
        if d.get("kind") != "force_plate_calibration":
            raise ValueError("not a force plate calibration")
        return cls(device_serial=str(d["device_serial"]), channels=int(d["channels"]),
                   zero_counts=np.asarray(d["zero_counts"], float),
                   newtons_per_count=np.asarray(d["newtons_per_count"], float),
                   date_utc=d["date_utc"], device_model=d.get("device_model", ""),
                   plates=d.get("plates", []), report=d.get("report", {}))

    def save(self, folder: str | Path | None = None) -> Path:
        path = save_calibration_json("plate", self.device_serial, self.date_utc, self.to_dict(), folder)
        self.path = str(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "PlateCalibration":
        return load_calibration_json("plate", path, cls.from_dict)

    # ---- validity ------------------------------------------------------------------------
    def age_days(self, now: _dt.datetime | None = None) -> float:
        return age_days(self.date_utc, now)

    def zero_drift_n(self, zero_counts_now) -> np.ndarray:
        """Per-channel change of the unloaded reading since calibration, in N."""
        return (np.asarray(zero_counts_now, float) - self.zero_counts) * self.newtons_per_count

    def check(self, *, max_age_days: float = DEFAULT_MAX_AGE_DAYS, zero_counts_now=None,
              max_zero_drift_n: float = DEFAULT_MAX_ZERO_DRIFT_N,
              now: _dt.datetime | None = None) -> list[str]:
        """Warnings (empty list = fine): calibration too old, zero drifted too far."""
        warnings = []
        age = self.age_days(now)
        if age > max_age_days:
            warnings.append(f"plate {self.device_serial}: calibration is {age:.0f} days old "
                            f"(limit {max_age_days:g}); run `station calibrate plate`")
        if zero_counts_now is not None:
            drift = self.zero_drift_n(zero_counts_now)
            worst = int(np.argmax(np.abs(drift)))
            total = float(drift.sum())
            if abs(drift[worst]) > max_zero_drift_n or abs(total) > max_zero_drift_n:
                warnings.append(f"plate {self.device_serial}: zero has drifted {drift[worst]:+.1f} N on "
                                f"channel {worst} ({total:+.1f} N in total, limit {max_zero_drift_n:g} N); "
                                "re-zero the unloaded plate")
        return warnings


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


# ---- the computations -----------------------------------------------------------------------
def zero_from_window(counts) -> tuple[np.ndarray, np.ndarray]:
    """Zero (mean counts) and noise (SD counts) per channel of an unloaded window (n, channels)."""
    c = np.asarray(counts, dtype=float)
    if c.ndim != 2 or len(c) < 2:
        raise ValueError("the zero window needs at least 2 samples of (n, channels) counts")
    return c.mean(axis=0), c.std(axis=0, ddof=1)


def fit_gains(zero_counts, placements: list[Placement], plates: list[tuple[PlateGeometry, list[int]]],
              g: float = G) -> tuple[np.ndarray, dict]:
    """Least-squares N/count for every channel from static equilibrium (see module doc).
    plates: [(geometry, channel indices)]. Returns (newtons_per_count, report)."""
    zero = np.asarray(zero_counts, float)
    k_all = np.full(zero.shape, np.nan)
    report = {"placements": [], "plates": []}
    for p_idx, (geom, chans) in enumerate(plates):
        mine = [pl for pl in placements if pl.plate == p_idx]
        if not mine:
            raise ValueError(f"no placements on plate {p_idx + 1}: its gains cannot be fitted")
        pos = geom.cell_positions_plate_m
        sx, sy = geom.cell_half_x_m, geom.cell_half_y_m
        rows, rhs = [], []
        for pl in mine:
            d = np.asarray(pl.counts_mean, float)[chans] - zero[chans]
            w = pl.mass_kg * g
            x, y = pl.position_plate_m
            rows += [d, d * pos[:, 0] / sx, d * pos[:, 1] / sy]
            rhs += [w, w * x / sx, w * y / sy]
        A, b = np.array(rows), np.array(rhs)
        k, *_ = np.linalg.lstsq(A, b, rcond=None)
        sv = np.linalg.svd(A / np.linalg.norm(A, axis=0), compute_uv=False)
        conditioning = float(sv[-1] / sv[0])
        rank = int(np.sum(sv > 1e-3 * sv[0]))
        if rank < len(chans):
            raise ValueError(f"plate {p_idx + 1}: the placements do not determine all {len(chans)} "
                             "gains; place the mass off both axes (e.g. near each corner)")
        k_all[chans] = k
        report["plates"].append({"plate": p_idx, "rank": rank, "conditioning": conditioning,
                                 "channels": list(chans)})
    # residuals per placement
    fz_meas, fz_true = [], []
    for pl in placements:
        geom, chans = plates[pl.plate]
        cells = (np.asarray(pl.counts_mean, float)[chans] - zero[chans]) * k_all[chans]
        fz, cop = cells_to_force_and_cop(cells[None, :], geom, min_fz_n=0.0)
        w = pl.mass_kg * g
        err = cop[0] - np.asarray(pl.position_plate_m, float)
        report["placements"].append({
            "plate": pl.plate, "mass_kg": pl.mass_kg, "position_plate_m": list(pl.position_plate_m),
            "fz_applied_n": w, "fz_measured_n": float(fz[0]), "fz_residual_n": float(fz[0] - w),
            "cop_measured_plate_m": cop[0].tolist(), "cop_error_m": float(np.hypot(*err))})
        fz_meas.append(fz[0])
        fz_true.append(w)
    fz_meas, fz_true = np.array(fz_meas), np.array(fz_true)
    report["fz_residual_rms_n"] = float(np.sqrt(np.mean((fz_meas - fz_true) ** 2)))
    report["cop_error_max_m"] = max(p["cop_error_m"] for p in report["placements"])
    report["linearity_fz_pct_fs"] = _linearity(fz_true, fz_meas)
    report["linearity_channel_pct_fs"] = _channel_linearity(zero, placements, len(zero))
    report["full_scale_n"] = float(fz_true.max())
    return k_all, report


def _linearity(load: np.ndarray, reading: np.ndarray) -> float:
    """Max deviation from the best line through zero, % of the reading at full scale."""
    load = np.concatenate([[0.0], load])
    reading = np.concatenate([[0.0], reading])
    s = float(load @ reading / (load @ load))
    return float(np.max(np.abs(reading - s * load)) / (s * load.max()) * 100.0)


def _channel_linearity(zero, placements, n_ch) -> list:
    """Per channel, worst linearity (% FS) over positions that carried >= 2 different masses;
    None where no position did."""
    groups: dict = {}
    for pl in placements:
        key = (pl.plate, tuple(np.round(pl.position_plate_m, 4)))
        groups.setdefault(key, []).append(pl)
    out = [None] * n_ch
    for pls in groups.values():
        if len({p.mass_kg for p in pls}) < 2:
            continue
        loads = np.array([p.mass_kg * G for p in pls])
        d = np.array([np.asarray(p.counts_mean, float) - zero for p in pls])
        for c in range(n_ch):
            if np.abs(d[:, c]).max() < 1e-9:
                continue
            lin = _linearity(loads, d[:, c])
            out[c] = lin if out[c] is None else max(out[c], lin)
    return out


def calibrate(zero_counts, placements: list[Placement], *, device_serial: str, plates_desc: list[dict],
              device_model: str = "", zero_sd_counts=None) -> PlateCalibration:
    """Zero + placements -> PlateCalibration (with its report)."""
    zero = np.asarray(zero_counts, float)
    cal = PlateCalibration(device_serial=device_serial, channels=len(zero), zero_counts=zero,
                           newtons_per_count=np.ones(len(zero)), device_model=device_model,
                           plates=plates_desc)
    k, report = fit_gains(zero, placements, cal.plate_geometries())
    cal.newtons_per_count = k
    if zero_sd_counts is not None:
        report["noise_n"] = (np.asarray(zero_sd_counts, float) * np.abs(k)).tolist()
    cal.report = report
    return cal


def cop_check(cal: PlateCalibration, placements: list[Placement], *, max_cop_error_m: float = 0.01,
              max_fz_error_pct: float = 1.0) -> dict:
    """Apply a calibration to placements at known positions: Fz and COP errors, pass/fail."""
    rows = []
    geoms = cal.plate_geometries()
    for pl in placements:
        geom, chans = geoms[pl.plate]
        cells = cal.to_newtons(np.asarray(pl.counts_mean, float)[None, :])[:, chans]
        fz, cop = cells_to_force_and_cop(cells, geom, min_fz_n=0.0)
        w = pl.mass_kg * G
        err = float(np.hypot(*(cop[0] - np.asarray(pl.position_plate_m, float))))
        fz_pct = float((fz[0] - w) / w * 100.0)
        rows.append({"plate": pl.plate, "mass_kg": pl.mass_kg, "position_plate_m": list(pl.position_plate_m),
                     "cop_measured_plate_m": cop[0].tolist(), "cop_error_m": err,
                     "fz_error_pct": fz_pct,
                     "ok": err <= max_cop_error_m and abs(fz_pct) <= max_fz_error_pct})
    return {"max_cop_error_m": max_cop_error_m, "max_fz_error_pct": max_fz_error_pct,
            "checks": rows, "passed": all(r["ok"] for r in rows)}


def latest_calibration(device_serial: str, folder: str | Path | None = None) -> PlateCalibration | None:
    """The newest saved calibration of this device, or None."""
    folder = Path(folder) if folder else calibration_dir()
    best = None
    for f in folder.glob("plate_*.json"):
        try:
            cal = PlateCalibration.from_dict(json.loads(f.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if cal.device_serial != device_serial:
            continue
        if best is None or cal.date_utc > best.date_utc:
            cal.path = str(f)
            best = cal
    return best

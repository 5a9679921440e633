"""A trial as plain CSV tables, one tidy table each, units in the headers (`name [unit]`):

- `<stem>_metrics.csv`: one row per rep: trial, athlete, kind, rep, body weight, every force
  metric of the rep and, with skeleton results, per-leg kinematics (`left_...`, `right_...`,
  degrees where the name says _deg). Force results come from /results/force, or are computed with
  default settings when the trial has none (not written into the trial).
- `<stem>_force.csv`: one row per force sample: time (s from the first sample), vertical force of
  each plate and the total (N), the centre of pressure (m, plate frame) with one 4-cell plate.
- `<stem>_kinematics.csv` (only with /results/skeleton or /results/kinematics): one row per
  camera frame: time (s, force time base), per-leg angles (deg) and joint positions (m, lab frame).

Numbers are written with Python's repr (shortest exact form), so reading them back gives the very
same float64 values; empty cells are missing values.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from analysis.report.metrics import columns_of, rep_rows
from analysis.report.units import header


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return repr(v) if np.isfinite(v) else ""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    return str(v)


def write_table(path: Path, columns: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for r in rows:
            w.writerow([_cell(v) for v in r])
    return path


def metrics_table(view) -> tuple[list[str], list[list]]:
    md = view.metadata
    rows = rep_rows(view.force, view.kinematics.reps if view.kinematics else None,
                    trial=Path(view.path).name, athlete_id=md.get("athlete_id", ""),
                    trial_kind=md.get("trial_kind", ""))
    cols = columns_of(rows)
    return [header(c) for c in cols], [[r.get(c) for c in cols] for r in rows]


def force_table(view) -> tuple[list[str], list[list]] | None:
    if view.force_fz_n is None:
        return None
    fz = np.asarray(view.force_fz_n, float)
    fz2 = fz[:, None] if fz.ndim == 1 else fz
    cols = ["time_s [s]"] + [f"fz_plate{k + 1}_n [N]" for k in range(fz2.shape[1])] + ["fz_total_n [N]"]
    data = [view.force_time_s] + [fz2[:, k] for k in range(fz2.shape[1])] + [fz2.sum(axis=1)]
    return cols, [list(r) for r in zip(*data)]


def kinematics_table(view) -> tuple[list[str], list[list]] | None:
    from analysis.joints import JOINT_NAMES
    kin = view.kinematics
    if kin is None:
        return None
    cols, data = ["time_s [s]"], [kin.time_s]
    for side in ("left", "right"):
        for name, y in kin.curves[side].items():
            cols.append(f"{side}_{name}_deg [deg]")
            data.append(np.degrees(y))
    if kin.joints_lab_m is not None:
        for j, name in enumerate(JOINT_NAMES[:kin.joints_lab_m.shape[1]]):
            for a, axis in enumerate("xyz"):
                cols.append(f"{name}_{axis}_lab_m [m]")
                data.append(kin.joints_lab_m[:, j, a])
    return cols, [list(r) for r in zip(*data)]


def export_csv(trial_path, out_dir) -> list[Path]:
    """Write the trial's tables into out_dir (created if needed); returns the files written."""
    from analysis.report.trial_view import load_trial_view
    view = load_trial_view(trial_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(trial_path).stem
    written = [write_table(out_dir / f"{stem}_metrics.csv", *metrics_table(view))]
    for suffix, tab in (("force", force_table(view)), ("kinematics", kinematics_table(view))):
        if tab is not None:
            written.append(write_table(out_dir / f"{stem}_{suffix}.csv", *tab))
    return written


def read_table(path) -> tuple[list[str], list[list]]:
    """Read a table written here: (column keys without units, rows with floats / str / None)."""
    from analysis.report.units import key_of_header
    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.reader(fh)
        head = next(r)
        rows = []
        for line in r:
            row = []
            for v in line:
                if v == "":
                    row.append(None)
                    continue
                try:
                    row.append(float(v))
                except ValueError:
                    row.append(v)
            rows.append(row)
    return [key_of_header(h) for h in head], rows

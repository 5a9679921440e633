"""The metric tables shared by the report, the CSV export and the batch table.

`rep_rows(force, kinematics_reps, trial=..)` -> one dict per rep: identification columns, the
trial's body weight, every numeric force metric of the rep and, with skeleton results, the per-leg
kinematic values named `left_<key>` / `right_<key>` (degrees where the key says _deg). Keys carry
their unit (analysis/report/units.py); values are floats (None where a metric does not apply).
"""
from __future__ import annotations

import math

ID_COLUMNS = ("trial", "athlete_id", "trial_kind", "rep", "kind")
TRIAL_COLUMNS = ("body_weight_n", "body_mass_kg")


def _num(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def kinematic_rep_values(krep: dict) -> dict:
    """Flat per-leg values of one skeleton rep: left_<key>, right_<key>, plus whole-body ones."""
    out = {}
    for side in ("left", "right"):
        for k, v in (krep.get(side) or {}).items():
            if _num(v) is not None or v is None:
                out[f"{side}_{k}"] = _num(v)
    for k in ("separation_ratio_min", "trunk_lean_max_deg"):
        if k in krep:
            out[k] = _num(krep[k])
    return out


def match_kinematic_rep(krep_list: list, rep_number) -> dict | None:
    for kr in krep_list or []:
        if kr.get("rep") == rep_number:
            return kr
    return None


def rep_rows(force: dict | None, kinematics_reps: list | None = None, trial: str = "",
             athlete_id: str = "", trial_kind: str = "") -> list[dict]:
    """One row per rep (or one row with no rep when the trial has none)."""
    force = force or {}
    base = {"trial": trial, "athlete_id": athlete_id, "trial_kind": trial_kind}
    for k in TRIAL_COLUMNS:
        base[k] = _num(force.get(k))
    reps = force.get("reps") or []
    rows = []
    for i, r in enumerate(reps):
        row = dict(base, rep=r.get("rep", i + 1), kind=r.get("kind", force.get("kind", "")))
        for k, v in r.items():
            if k in ("rep", "kind"):
                continue
            if _num(v) is not None or v is None:
                row[k] = _num(v)
        kr = match_kinematic_rep(kinematics_reps, row["rep"])
        if kr:
            row.update(kinematic_rep_values(kr))
        rows.append(row)
    if not rows:
        rows.append(dict(base, rep=None, kind=force.get("kind", "")))
    return rows


def columns_of(rows: list[dict]) -> list[str]:
    """Union of keys in first-seen order, identification columns first."""
    cols = [c for c in ID_COLUMNS + TRIAL_COLUMNS if any(c in r for r in rows)]
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols

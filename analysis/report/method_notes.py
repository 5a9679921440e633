"""How a trial's camera angles were made, in sentences: where FPPA's frontal plane came from, how
the joints were low-passed, and (landings) how the depth frames before the contact got their
joints and how precise the dorsiflexion at contact is. Read from the skeleton result
(analysis/skeleton_pipeline.analyze_skeleton); `station analyze` prints these lines under its
kinematics table and the HTML report lists them under the curves."""
from __future__ import annotations


def is_landing(reps: list[dict]) -> bool:
    return any(r.get("kind") not in (None, "squat") for r in reps or [])


def filter_line(f: dict) -> str:
    """One line: the joints' cut-off, where it came from, and the residual analysis beside it."""
    line = (f"joints low-passed at {f['cutoff_hz']:g} Hz (zero-lag, {f.get('cutoff_source', '')})")
    ra = f.get("residual_analysis_hz") or {}
    if ra.get("n_series"):
        line += (f"; residual analysis of the legs' joints: median {ra['median_hz']:.1f} Hz, "
                 f"max {ra['max_hz']:.1f} Hz")
    if f.get("above_cutoff"):
        line += " - ABOVE the cut-off: the filter may have smoothed real motion (--joint-cutoff)"
    return line


def method_lines(reps: list[dict], frontal_plane: dict | None = None, joint_filter: dict | None = None,
                 landing_joints: dict | None = None, contact_precision: dict | None = None) -> list[str]:
    out = []
    if (frontal_plane or {}).get("source"):
        out.append(f"FPPA's frontal plane: {frontal_plane['source']}")
    if joint_filter and "cutoff_hz" in joint_filter:
        out.append(filter_line(joint_filter))
    if landing_joints and is_landing(reps):
        how = ("from their own side of the contact" if landing_joints.get("own_side")
               else "from a line across the contact")
        out.append(f"DF@IC: the depth frames before the contact take the joints {how} "
                   f"({landing_joints.get('chosen_by', '')})")
    if (contact_precision or {}).get("line") and is_landing(reps):
        out.append(f"DF@IC precision: {contact_precision['line']}")
    return out


def _dict(x) -> dict:
    """x where it is a dict, else {} (a damaged or foreign result's attribute)."""
    return x if isinstance(x, dict) else {}


def setup_warnings(result: dict) -> list[str]:
    """A skeleton result's warnings about the set-up: the camera's distance against the measured
    one, then the leg bones against the stature."""
    notes = [_dict(result.get("camera_setup")).get("note")]
    notes += list(_dict(result.get("bone_length_check")).get("notes") or [])
    return [str(n) for n in notes if n]


def result_method_lines(attrs: dict) -> list[str]:
    """method_lines from a skeleton result's attributes, then its set-up warnings, each starting
    with 'warning: '."""
    reps = attrs.get("reps") if isinstance(attrs.get("reps"), list) else []
    out = method_lines(reps, _dict(attrs.get("frontal_plane")), _dict(attrs.get("filter")),
                       _dict(attrs.get("landing_joints")), _dict(attrs.get("contact_dorsiflexion_precision")))
    return out + [f"warning: {n}" for n in setup_warnings(attrs)]

"""Kinematic curves per leg from fitted joints (lab frame) and their values at the force events.

Definitions: analysis/angles.py (imported, never re-implemented here). Curves are radians or
metres inside; degrees appear only in the per-rep summary dicts (keys ending _deg).

Events per force rep (times on the plate's time base, seconds from the plate's first sample,
as analysis/force reports them):
  * jumps: initial contact = the drop landing for drop jumps (takeoff_s - contact_time_s: the
    landing from the box, the one the DVJ screens) and landing_s otherwise; peak vertical force =
    rep['peak_force_s'] if given, else landing_s + time_to_peak_landing_force_s for the landing it
    belongs to; phase = contact (drop jump) or landing_s .. landing_s + landing_phase_time_s
    (at least `min_landing_phase_s`); peak knee flexion = the maximum in the phase.
  * squat reps: the bottom (bottom_s) stands in for the contact; phase = start_s .. end_s.
"""
from __future__ import annotations

import numpy as np

from analysis import angles
from analysis.joints import SIDES, joint

LEG_CURVES = ("dorsiflexion", "shank_inclination", "fppa", "knee_abduction", "knee_flexion",
              "hip_flexion", "medial_knee_displacement")
MIN_LANDING_PHASE_S = 0.4


MAX_FACING_OFFSET_DEG = 35.0     # frontal_axis: a right axis farther than this from the lab's x


def static_reference(joints_lab: np.ndarray) -> dict:
    """Neutral values from a static standing trial (or its quiet frames): per side the mean
    shank-foot angle (rad; dorsiflexion's zero) and medial knee displacement (m, in the stance's
    frontal plane); 'right_axis_lab': the stance's right axis (list of 3, lab frame, or None),
    the frontal plane for a trial that has no stance of its own (see frontal_axis)."""
    axis = _stance_axis_or_none(joints_lab)
    out = {"right_axis_lab": None if axis is None else [float(v) for v in axis]}
    for side in SIDES:
        out[side] = {
            "shank_foot_angle_rad": float(np.nanmedian(angles.ankle_shank_foot_angle(joints_lab, side))),
            "medial_knee_displacement_m": float(np.nanmedian(angles.medial_knee_displacement(joints_lab, side, axis))),
        }
    return out


def _stance_axis_or_none(joints_lab):
    try:
        return angles.stance_right_axis(joints_lab)
    except ValueError:
        return None


def frontal_axis(joints_lab: np.ndarray, static: dict, static_source: str | None = None):
    """The trial's constant right axis (3,) (lab frame; None if there is no finite frame) and
    where it comes from:
      1. this trial's stance: upright frames with both feet down (angles.stance_right_axis);
      2. else the static reference's stance (`static['right_axis_lab']`): a single-leg task has
         no such frame, and there the pelvis is no stand-in - with the free leg held up the
         fitted hips turned the pelvis 4.8-5.7 deg in the bench's single-leg squats, against
         <= 0.2 deg for the static trial's stance (docs/SKELETON.md). It assumes the athlete
         faces the way he faced in the static trial, as the protocol asks;
      3. else the pelvis in this trial's least-flexed frames.
    static_source, when given, is appended to the source in case 2 (which static reference).
    An axis more than MAX_FACING_OFFSET_DEG from the lab's x axis is not taken: by the protocol
    the athlete stands on the plate facing its +y (the lab frame's x is his right), so such an
    axis comes from mis-tracked stance frames (on the virtual station at 2.25 m aimed 0.65 m up a
    drop jump's stance gave one 122 deg off, and FPPA errors of 20-70 deg with verdict ok). The
    next source is tried; with none left, the lab's x axis, and the source says why."""
    skipped = []

    def plausible(axis, source):
        if axis is None:
            return False
        off = float(np.degrees(np.arccos(np.clip(np.asarray(axis, float)[0] / max(np.linalg.norm(axis), 1e-12),
                                                 -1.0, 1.0))))
        if off <= MAX_FACING_OFFSET_DEG:
            return True
        skipped.append(f"{source} gave a right axis {off:.0f} deg from the plate's x axis")
        return False

    def with_skipped(source):
        return source + ("" if not skipped else " - not taken: " + "; ".join(skipped))

    try:
        axis = angles.stance_right_axis(joints_lab, feet_down_required=True)
        if plausible(axis, "this trial's stance"):
            return axis, "this trial's stance (upright frames with both feet down)"
    except ValueError:
        pass
    if static.get("right_axis_lab") is not None:
        axis = np.asarray(static["right_axis_lab"], dtype=float)
        if plausible(axis, "the static reference's stance"):
            return axis, with_skipped(
                "the static reference's stance (this trial has no upright frame with both feet down"
                + (" that gives a plausible one" if skipped else "") + ")"
                + (f" ({static_source})" if static_source else ""))
    axis = _stance_axis_or_none(joints_lab)
    if axis is None and not skipped:
        return None, None
    if plausible(axis, "this trial's pelvis"):
        return axis, with_skipped("this trial's pelvis in its least-flexed frames "
                                  "(no frame with both feet down, no static reference)")
    return (np.array([1.0, 0.0, 0.0]),
            with_skipped("the lab's x axis (the athlete faces the plate's +y by the protocol)"))


def leg_curves(joints_lab: np.ndarray, static: dict, right_axis=None, static_source: str | None = None) -> dict:
    """{side: {curve: (T,)}} plus 'trunk_lean', 'trunk_lateral_lean', 'separation_ratio' (T,),
    'right_axis_lab' and 'right_axis_source'. Frontal-plane curves (fppa,
    medial_knee_displacement, separation_ratio) use the trial's constant frontal plane
    `right_axis` (default: frontal_axis(joints_lab, static, static_source); see
    analysis/angles.py for why)."""
    source = "given"
    if right_axis is None:
        right_axis, source = frontal_axis(joints_lab, static, static_source)
    out = {"right_axis_lab": right_axis, "right_axis_source": source}
    for side in SIDES:
        ref = static[side]
        out[side] = {
            "dorsiflexion": angles.ankle_dorsiflexion(joints_lab, side, ref["shank_foot_angle_rad"]),
            "shank_inclination": angles.shank_inclination(joints_lab, side),
            "fppa": angles.knee_fppa(joints_lab, side, right_axis),
            "knee_abduction": angles.knee_abduction_3d(joints_lab, side),
            "knee_flexion": angles.knee_flexion(joints_lab, side),
            "hip_flexion": angles.hip_flexion(joints_lab, side),
            "medial_knee_displacement": angles.medial_knee_displacement(joints_lab, side, right_axis)
            - ref["medial_knee_displacement_m"],
        }
    out["trunk_lean"] = angles.trunk_lean(joints_lab)
    out["trunk_lateral_lean"] = angles.trunk_lateral_lean(joints_lab)
    out["separation_ratio"] = angles.knee_to_ankle_separation_ratio(joints_lab, right_axis)
    return out


def value_at(time_s: np.ndarray, y: np.ndarray, t: float) -> float:
    """Linear interpolation of y at t; NaN outside the samples or next to a missing sample."""
    if t is None or not np.isfinite(t) or len(time_s) < 2 or t < time_s[0] or t > time_s[-1]:
        return float("nan")
    i = int(np.clip(np.searchsorted(time_s, t) - 1, 0, len(time_s) - 2))
    y0, y1 = y[i], y[i + 1]
    if not (np.isfinite(y0) and np.isfinite(y1)):
        return float("nan")
    w = (t - time_s[i]) / (time_s[i + 1] - time_s[i])
    return float((1 - w) * y0 + w * y1)


APPROACH_SAMPLES = 4          # depth frames (90 fps: the last ~40 ms before the contact)
APPROACH_SAMPLES_COLOUR = 3   # colour frames (30 fps) when no depth frame was registered densely


def value_on_approach(time_s: np.ndarray, y: np.ndarray, t: float, n: int = 2) -> float:
    """y at t from the samples BEFORE t: the least-squares line through the last n of them,
    extended to t (the last one at most 1.5 sample periods before t); NaN when they are missing.
    A landing's dorsiflexion at initial contact: the curve kinks there (the heel drops within
    ~20 ms of the contact, ~1 deg per ms), so the value at the contact is the limit of the
    approach, not an average across the kink (the skeleton's filter does not cross the contact
    either: analysis/skeleton/fit.lowpass_piecewise)."""
    time_s = np.asarray(time_s, float)
    if t is None or not np.isfinite(t) or len(time_s) < 2:
        return float("nan")
    i = int(np.searchsorted(time_s, t))              # samples [0, i) are before t
    k = np.arange(max(i - n, 0), i)
    if len(k) < 2 or not np.isfinite(y[k]).all():
        return float("nan")
    dt = float(np.median(np.diff(time_s[k])))
    if dt <= 0 or t - time_s[k[-1]] > 1.5 * dt:
        return float("nan")
    slope, icpt = np.polyfit(time_s[k] - t, y[k], 1)
    return float(icpt)


# A landing's contact dorsiflexion read from the depth frames is withheld when the foot's
# registration stepped faster than an ankle turns between consecutive depth frames just before the
# contact: measured on the virtual drop jumps (docs/SKELETON.md, session 6), a registration that
# jumped 24 deg in one 11 ms frame (~2200 deg/s; the true ankle ~500 deg/s there) and stayed
# gave -13.3 deg of error with verdict ok. The per-frame pitch scatter (~2.7 deg RMS) makes a
# step's noise ~350 deg/s RMS, so 1500 deg/s sits > 2.5 sigma above the fastest true approach.
MAX_APPROACH_RATE_DEG_S = 1500.0
WITHHELD = "not reported"
APPROACH_RATE_SAMPLES = 4


def contact_value_withheld(leg: dict | None) -> bool:
    """Did rep_summary withhold this leg's contact dorsiflexion (MAX_APPROACH_RATE_DEG_S)? Its
    `dorsiflexion_at_contact_from` then starts with WITHHELD and gives the reason."""
    return str((leg or {}).get("dorsiflexion_at_contact_from") or "").startswith(WITHHELD)


def fastest_step_before(time_s: np.ndarray, y: np.ndarray, t: float, n: int = APPROACH_RATE_SAMPLES) -> float:
    """The largest |dy/dt| (y's unit per s) between consecutive finite samples among the last n
    samples before t; NaN when fewer than two of them are finite."""
    time_s, y = np.asarray(time_s, float), np.asarray(y, float)
    if t is None or not np.isfinite(t):
        return float("nan")
    i = int(np.searchsorted(time_s, t))
    k = np.arange(max(i - n, 0), i)
    k = k[np.isfinite(y[k])]
    if len(k) < 2:
        return float("nan")
    dt = np.diff(time_s[k])
    ok = dt > 0
    return float(np.max(np.abs(np.diff(y[k])[ok] / dt[ok]))) if ok.any() else float("nan")


def value_at_last_sample(time_s: np.ndarray, y: np.ndarray, t: float) -> float:
    """y at the last sample BEFORE t (at most 1.5 sample periods before t, else NaN): the value
    at a landing's initial contact read from the last depth frame before it, ASSUMING the value
    changes little over that gap (at 90 fps depth 0-11 ms; the virtual landings' dorsiflexion moves
    by 0.1 deg in their last 2-4 ms before the contact - a real ankle plantarflexing at 100 deg/s
    into the contact would move up to ~1 deg in 11 ms). Unlike value_on_approach's line it
    extrapolates nothing: a line through 4 per-frame samples (each with its own depth noise)
    carries their scatter and the approach's slowing into the value (measured, virtual jumps with
    the legs measured at the depth frames: -2.0 deg mean, 9 of 24 legs > 3 deg; the last frame
    +0.4 mean, 3 of 24; docs/SKELETON.md)."""
    time_s = np.asarray(time_s, float)
    if t is None or not np.isfinite(t) or len(time_s) < 2:
        return float("nan")
    i = int(np.searchsorted(time_s, t)) - 1          # the last sample before t
    if i < 1:
        return float("nan")
    dt = float(np.median(np.diff(time_s[max(i - 3, 0):i + 1])))
    if dt <= 0 or t - time_s[i] > 1.5 * dt:
        return float("nan")
    return float(y[i])


def rep_events(rep: dict) -> dict:
    """Event times and the analysis phase of one force rep (see the module docstring)."""
    g = rep.get
    if g("bottom_s") is not None:
        return {"kind": "squat", "contact_s": g("bottom_s"), "peak_force_s": g("peak_force_s"),
                "phase": (g("start_s"), g("end_s")), "bottom_s": g("bottom_s")}
    landing = g("landing_s")
    if g("kind") == "drop_jump" and g("contact_time_s") is not None and g("takeoff_s") is not None:
        ic = g("takeoff_s") - g("contact_time_s")
        return {"kind": "drop_jump", "contact_s": ic, "peak_force_s": g("peak_force_s"),
                "phase": (ic, g("takeoff_s"))}
    if landing is None:
        return {"kind": g("kind"), "contact_s": None, "peak_force_s": None, "phase": (None, None)}
    pf = g("peak_force_s")
    if pf is None and g("time_to_peak_landing_force_s") is not None:
        pf = landing + g("time_to_peak_landing_force_s")
    phase_len = max(g("landing_phase_time_s") or 0.0, MIN_LANDING_PHASE_S)
    return {"kind": g("kind") or "landing", "contact_s": landing, "peak_force_s": pf,
            "phase": (landing, landing + phase_len)}


def _in_phase(time_s, phase):
    a, b = phase
    if a is None or b is None:
        return np.zeros(len(time_s), bool)
    return (time_s >= a) & (time_s <= b)


def rep_summary(time_s: np.ndarray, curves: dict, valid_leg: dict, rep: dict,
                dense: dict | None = None) -> dict:
    """Per-rep 'left'/'right' dicts: values at events (degrees at this edge) and in the phase,
    with tracking_quality = fraction of the phase's frames where the leg had valid 3D
    landmarks. dense: optional {'time_s': (K,), side: {'dorsiflexion': (K,)}} from the depth
    frames registered one by one around the contacts (90 fps): a landing's dorsiflexion at
    initial contact comes from the last of them before the contact when dense['at_last_frame']
    (value_at_last_sample; FootSettings.contact_at_last_depth_frame), else from their approach
    (value_on_approach over APPROACH_SAMPLES of them),
    else from the colour frames' approach (APPROACH_SAMPLES_COLOUR); `dorsiflexion_at_contact_from`
    says which. On the virtual drop jump's noise-free truth the approach reads the contact's
    -12 deg within -4.2..-1.4 deg from 90 fps samples and -0.9..+2.7 from 30 fps samples
    (interpolating across the kink: ~+9)."""
    ev = rep_events(rep)
    m = _in_phase(time_s, ev["phase"])
    out = {"events": {k: ev[k] for k in ("kind", "contact_s", "peak_force_s")},
           "phase_s": list(ev["phase"])}
    for side in SIDES:
        c = curves[side]
        kf = c["knee_flexion"]
        pk = float("nan")
        if m.any() and np.isfinite(kf[m]).any():
            pk = float(time_s[m][np.nanargmax(kf[m])])
        out["events"][f"{side}_peak_knee_flexion_s"] = pk

        def at(name, t):
            return np.degrees(value_at(time_s, c[name], t)) if t is not None else float("nan")

        def df_at_contact():
            t = ev["contact_s"]
            if ev["kind"] == "squat" or t is None:
                return at("dorsiflexion", t), "colour frames (interpolated)"
            if dense is not None and len(dense.get("time_s", ())):
                if dense.get("at_last_frame"):
                    v = value_at_last_sample(dense["time_s"], dense[side]["dorsiflexion"], t)
                    if np.isfinite(v):
                        rate = np.degrees(fastest_step_before(dense["time_s"], dense[side]["dorsiflexion"], t))
                        if rate > MAX_APPROACH_RATE_DEG_S:
                            # no fallback: the colour frames carry the same registrations
                            return float("nan"), (
                                f"{WITHHELD}: the foot's registration stepped at {rate:.0f} deg/s between "
                                f"depth frames just before the contact (an ankle turns at most "
                                f"{MAX_APPROACH_RATE_DEG_S:.0f} deg/s)")
                        return np.degrees(v), "the last of the depth frames before the contact"
                v = value_on_approach(dense["time_s"], dense[side]["dorsiflexion"], t, APPROACH_SAMPLES)
                if np.isfinite(v):
                    return np.degrees(v), f"the last {APPROACH_SAMPLES} depth frames before the contact"
            return (np.degrees(value_on_approach(time_s, c["dorsiflexion"], t, APPROACH_SAMPLES_COLOUR)),
                    f"the last {APPROACH_SAMPLES_COLOUR} colour frames before the contact")
        df_ic, df_ic_from = df_at_contact()

        def mx(name):
            v = c[name][m]
            return float(np.degrees(np.nanmax(v))) if v.size and np.isfinite(v).any() else float("nan")

        d = {
            "dorsiflexion_at_contact_deg": df_ic,
            "dorsiflexion_at_contact_from": df_ic_from,
            "dorsiflexion_max_deg": mx("dorsiflexion"),
            "dorsiflexion_at_peak_force_deg": at("dorsiflexion", ev["peak_force_s"]),
            "dorsiflexion_at_peak_knee_flexion_deg": at("dorsiflexion", pk),
            "shank_inclination_max_deg": mx("shank_inclination"),
            "fppa_at_contact_deg": at("fppa", ev["contact_s"]),
            "fppa_max_deg": mx("fppa"),
            "fppa_at_peak_force_deg": at("fppa", ev["peak_force_s"]),
            "fppa_at_peak_knee_flexion_deg": at("fppa", pk),
            "knee_abduction_max_deg": mx("knee_abduction"),
            "knee_flexion_at_contact_deg": at("knee_flexion", ev["contact_s"]),
            "knee_flexion_max_deg": mx("knee_flexion"),
            "hip_flexion_max_deg": mx("hip_flexion"),
            "medial_knee_displacement_max_m": (float(np.nanmax(c["medial_knee_displacement"][m]))
                                               if m.any() and np.isfinite(c["medial_knee_displacement"][m]).any()
                                               else float("nan")),
            "tracking_quality": float(np.mean(valid_leg[side][m])) if m.any() else 0.0,
        }
        out[side] = d
    sep = curves["separation_ratio"][m]
    out["separation_ratio_min"] = float(np.nanmin(sep)) if m.any() and np.isfinite(sep).any() else float("nan")
    tl = curves["trunk_lean"][m]
    out["trunk_lean_max_deg"] = float(np.degrees(np.nanmax(tl))) if m.any() and np.isfinite(tl).any() else float("nan")
    return out


def leg_valid(valid_3d: np.ndarray, side: str) -> np.ndarray:
    """(T,) True where the leg's hip, knee, ankle and toe all had measured (not gap-filled)
    depth. The heel has no depth by design (the fit places it from 2D and bone lengths)."""
    idx = [joint(side, n) for n in ("hip", "knee", "ankle", "toe")]
    return valid_3d[:, idx].all(axis=1)

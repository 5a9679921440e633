"""One entry from a trial's color + depth streams to fitted joints in the lab frame and the
kinematics at the force events: `analyze_skeleton(trial, settings, force_events)`.

Inputs read from the trial (data/trial.py):
  * streams 'color' (rgb8/bgr8) and 'depth' (z16, mm) with their host times;
  * /devices/<camera>: `depth` / `color` -> `intrinsics`, `T_color_from_depth`, `depth_scale_m`
    (drivers/camera.py `description()`);
  * /calibration/camera_pose: T_lab_from_color, or T_lab_from_depth, or T_lab_from_camera (taken
    as the depth camera's pose, CONTRACTS.md) - calibration/camera_pose.py;
  * /calibration/time_sync attr offset_s (t_plate - t_camera; calibration/time_sync.py);
  * the force stream's first host time: force event times count from it (analysis/force).
Settings (dict, all optional; `settings['skeleton']` if present, else the dict itself):
  estimator ('mediapipe' | 'truth_projection' - test only, needs `estimator_object`),
  estimator_options (keyword arguments of the estimator, e.g. {"smooth_landmarks": False}),
  cutoff_hz (default: SQUAT_CUTOFF_HZ for squats and standing, LANDING_CUTOFF_HZ otherwise;
  see their comments), time_offset_s (overrides
  the trial's time sync), stature_m (else metadata height_m, else 1.75), static (the output of
  `static_reference_from_trial` on the static standing trial: bone lengths + neutral angles; if
  absent, this trial's own first `static_window_s` is used and the output says so),
  color_stream, depth_stream, camera_device, quality (QualitySettings fields), mass_kg (else
  metadata mass_kg, else 75; sets the legs' anthropometric radii), refine (RefineSettings fields,
  e.g. {"enabled": False}: the depth-model refinement of the legs, analysis/skeleton/refine.py),
  foot (FootSettings fields, e.g. {"enabled": False}: the foot registration to the static
  trial's shoe template, analysis/skeleton/foot.py; the template travels in `static`;
  `smooth_px` its depth smoothing, `dense_window_s` the windows around the force events where
  every depth frame is registered - they need the force events' time origin; refine's
  `smooth_px` likewise smooths the legs' depth),
  lift / fit (LiftSettings / FitSettings fields), landmarks_cache (a dict the caller keeps to
  analyse the same colour frames again with other settings without re-running the estimator:
  keyed by the estimator, its options and a hash of the frames and their times; not for
  `estimator_object`).
Frontal plane: FPPA, medial knee displacement and the separation ratio are measured in the
trial's constant frontal plane from the athlete's stance (analysis.angles.stance_right_axis);
the output's `frontal_plane` gives it.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, fields
from typing import Optional

import numpy as np

from analysis.json_ready import json_ready
from analysis import angles, kinematics
from analysis.joints import JOINT_INDEX, SIDES
from analysis.pose.estimator import make_estimator
from analysis.skeleton.fit import BONES, FitSettings
from analysis.skeleton.lift import LiftSettings
from analysis.skeleton.refine import RefineSettings
from analysis.skeleton.foot import FootSettings, landing_joints_rule, template_from_json, template_to_json
from analysis.skeleton.reconstruct import (CameraSetup, Landmarks, SkeletonSettings, estimate_2d,
                                           reconstruct)
from analysis.tracking_quality import QualitySettings, free_leg_verdict, leg_verdict
from calibration.setup_advice import (CHAIN_BY_DISTANCE, DEFAULT_DISTANCE_M, VALIDATED_WITHIN_M,
                                      contact_dorsiflexion_precision, plate_distance_m,
                                      within_measured_distance)
from drivers.camera_model import Intrinsics
from station.errors import UserError

SINGLE_LEG_KINDS = ("single-leg-squat", "single_leg_squat", "sl_squat")
# slow tasks: the squats and standing, by the protocol's kind names (station/protocol.py KINDS:
# "stand", "static", "squat", "single-leg-squat") and the other spellings trials carry
SQUAT_KINDS = ("squat", "squats", "static", "stand", "quiet_standing") + SINGLE_LEG_KINDS
# The joints' low-pass cut-offs (zero-lag 4th order, fit.lowpass_zero_lag; recorded with the
# results under settings.fit.cutoff_hz; the setting `cutoff_hz` overrides both).
# Squats and standing: 4 Hz, below STATION.md's "usually 6-8 Hz" - that is marker practice, and
# the depth camera's joints are noisier. Measured on the bench's 12 squat trials (docs/SKELETON.md,
# round 8): Winter's residual analysis of the leg joints reads 1.0-4.0 Hz (208 of the 216
# coordinates at or below 2.5 Hz; it reads ~2x a pure sine's frequency), and what a 7 Hz filter
# passes above that is depth noise of +-2-3 deg in the FPPA at a squat's bottom; 7 -> 6 -> 4 -> 3 Hz
# improved every figure there, the knee flexion at the bottom included.
# 4 Hz keeps a 2 Hz component at 94 % of its amplitude (|H|^2 = 1 / (1 + (f / fc)^4) for the
# filtfilt pair) and leaves room for a faster squat than the bench's.
# Landings: 12 Hz (STATION.md 12-15 Hz): the impact is fast, and the colour frames' 30 fps put
# the Nyquist at 15 Hz.
SQUAT_CUTOFF_HZ = 4.0
LANDING_CUTOFF_HZ = 12.0
FREE_FOOT_HIGHER_M = 0.05


def camera_setup_note(cam: CameraSetup) -> dict:
    """{'plate_distance_m', 'measured_range_m', 'within': bool, 'note': None or what it means}:
    the camera's horizontal distance from the plate centre against the set-up the analysis'
    accuracy was measured at (calibration/setup_advice.py, which the wizard warns from too)."""
    d = plate_distance_m(cam.T_lab_from_depth)
    within = within_measured_distance(d)
    lo, hi = (round(DEFAULT_DISTANCE_M + k * VALIDATED_WITHIN_M, 3) for k in (-1, 1))
    note = None if within else (
        f"the camera stood {d:.2f} m from the plate centre; the analysis' accuracy was measured at "
        f"{lo:g}-{hi:g} m (the virtual jumps' dorsiflexion was within 3 deg at every event in "
        f"{CHAIN_BY_DISTANCE}): treat the angles as unvalidated")
    return {"plate_distance_m": d, "measured_range_m": [lo, hi], "within": within, "note": note}


def cutoff_for_kind(trial_kind: str) -> float:
    """The joints' default low-pass cut-off (Hz) for a trial kind (see SQUAT_CUTOFF_HZ)."""
    return SQUAT_CUTOFF_HZ if trial_kind in SQUAT_KINDS else LANDING_CUTOFF_HZ


def filter_summary(fit: FitSettings, residual_hz: dict, cutoff_from_setting: bool) -> dict:
    """How the joints were low-passed, and the residual analysis of the leg joints beside it
    (analysis/skeleton/residual_analysis.py): 'above_cutoff' when some leg coordinate's signal
    reached past the cut-off (the filter may then have smoothed real motion)."""
    mx = residual_hz.get("max_hz", float("nan"))
    return {"cutoff_hz": float(fit.cutoff_hz), "order": int(fit.filter_order), "zero_lag": True,
            "cutoff_source": "the cutoff_hz setting" if cutoff_from_setting else "the trial kind's default",
            "split_at_contact": bool(fit.split_at_contact),
            "residual_analysis_hz": residual_hz,
            "above_cutoff": bool(np.isfinite(mx) and mx > fit.cutoff_hz)}


def free_leg(trial_kind: str, metadata: dict, s: dict, joints_lab_m: np.ndarray):
    """(free side, how it was known) for a single-leg squat, else (None, None): the setting
    `stance_side`, else the protocol step's `side` (metadata settings.step.side, written by the
    capture session), else the foot held higher (median ankle height, lab frame, by more than
    FREE_FOOT_HIGHER_M)."""
    if trial_kind not in SINGLE_LEG_KINDS:
        return None, None
    settings = metadata.get("settings")
    step = settings.get("step") if isinstance(settings, dict) else None
    for stance, source in ((s.get("stance_side"), "the stance_side setting"),
                           (step.get("side") if isinstance(step, dict) else None, "the protocol step's stance side")):
        if stance in SIDES:
            return ("right" if stance == "left" else "left"), source
    z = {side: np.nanmedian(joints_lab_m[:, JOINT_INDEX[f"{side}_ankle"], 2]) for side in SIDES}
    if np.isfinite(list(z.values())).all() and abs(z["left"] - z["right"]) > FREE_FOOT_HIGHER_M:
        return ("left" if z["left"] > z["right"] else "right"), "its foot held higher"
    return None, None


class SkeletonError(UserError):
    """The trial cannot be analysed for the skeleton (one line: what is wrong; what to do)."""


def _jsonish(v):
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def camera_setup_from_trial(trial, camera_device: Optional[str] = None) -> CameraSetup:
    devs = trial.devices()
    name = camera_device or next((n for n, e in devs.items() if e.attrs.get("kind") == "depth_camera"), None)
    if name is None or name not in devs:
        raise SkeletonError("the trial has no depth camera; the skeleton needs one: record with the camera connected")
    a = {k: _jsonish(v) for k, v in devs[name].attrs.items()}
    try:
        di = Intrinsics.from_dict(a["depth"]["intrinsics"])
        ci = Intrinsics.from_dict(a["color"]["intrinsics"])
    except (KeyError, TypeError) as e:
        raise SkeletonError(f"camera description lacks stream intrinsics ({e}); re-record the trial") from None
    T_cd = devs[name].arrays.get("T_color_from_depth_m")
    if T_cd is None:
        T_cd = a.get("T_color_from_depth")
    if T_cd is None:
        raise SkeletonError("camera description lacks the depth->color extrinsic")
    scale = float(a.get("depth_scale_m", 0.001))
    cals = trial.calibrations()
    if "camera_pose" not in cals:
        raise SkeletonError("the trial has no camera_pose calibration; run `station calibrate camera` first")
    arr = cals["camera_pose"].arrays
    T_cd = np.asarray(T_cd, float)
    if "T_lab_from_depth" in arr:
        T_ld = np.asarray(arr["T_lab_from_depth"], float)
    elif "T_lab_from_color" in arr:
        T_ld = np.asarray(arr["T_lab_from_color"], float) @ T_cd
    elif "T_lab_from_camera" in arr:
        T_ld = np.asarray(arr["T_lab_from_camera"], float)
    else:
        raise SkeletonError("camera_pose calibration has no T_lab_from_depth/T_lab_from_color array")
    b = a.get("stereo_baseline_m")
    try:
        b = float(b) if b is not None else None
    except (TypeError, ValueError):
        b = None
    if b is not None and not (np.isfinite(b) and 0.0 < b < 1.0):
        b = None                               # not a baseline in metres: treated as unknown
    return CameraSetup(di, ci, T_cd, scale, T_ld, stereo_baseline_m=b)


def _settings(settings: Optional[dict]) -> dict:
    s = dict(settings or {})
    return dict(s.get("skeleton", s))


def _skeleton_settings(s: dict, trial_kind: str, stature_m: float, time_offset_s: float,
                       mass_kg: float = 75.0) -> SkeletonSettings:
    lift = LiftSettings(stature_m=stature_m)
    refine = RefineSettings(mass_kg=mass_kg)
    for k, v in s.get("refine", {}).items():
        setattr(refine, k, v)
    foot = FootSettings()
    for k, v in s.get("foot", {}).items():
        setattr(foot, k, tuple(v) if isinstance(v, list) else v)
    fit = FitSettings(cutoff_hz=float(s.get("cutoff_hz", cutoff_for_kind(trial_kind))))
    for k, v in s.get("lift", {}).items():
        setattr(lift, k, v)
    for k, v in s.get("fit", {}).items():
        setattr(fit, k, v)
    return SkeletonSettings(lift=lift, fit=fit, refine=refine, foot=foot, time_offset_s=time_offset_s)


def _landmarks_from_trial(trial, s: dict, timings: dict):
    color = trial.stream(s.get("color_stream", "color"))
    frames = color.read()
    if color.unit == "bgr8":
        frames = frames[..., ::-1]
    t_color = np.asarray(color.time_host_s, float)
    cache, key = s.get("landmarks_cache"), None
    if cache is not None and s.get("estimator_object") is None:
        digest = hashlib.sha1(t_color.tobytes())
        digest.update(np.ascontiguousarray(frames).data)
        key = (s.get("estimator", "mediapipe"),
               json.dumps(s.get("estimator_options", {}), sort_keys=True), digest.hexdigest())
        if key in cache:
            timings["pose_2d_s"] = 0.0          # the same frames were estimated before
            return cache[key]
    est = s.get("estimator_object") or make_estimator(s.get("estimator", "mediapipe"),
                                                      **s.get("estimator_options", {}))
    t0 = time.perf_counter()
    try:
        lm = estimate_2d(est, frames, t_color)
    finally:
        if s.get("estimator_object") is None:
            est.close()
    timings["pose_2d_s"] = time.perf_counter() - t0
    if key is not None:
        cache[key] = lm
    return lm


class _LazyDepth:
    def __init__(self, stream):
        self.ds = stream.data

    def __getitem__(self, k):
        return np.asarray(self.ds[k])


def _reconstruct_trial(trial, s: dict, timings: dict, bone_lengths=None, foot_template=None,
                       template_window_s=None, dense_windows_plate_s=None, origin_host_s=None,
                       contacts_plate_s=()):
    cam = camera_setup_from_trial(trial, s.get("camera_device"))
    md = trial.metadata
    stature = float(s.get("stature_m", md.get("height_m", 1.75) or 1.75))
    cals = trial.calibrations()
    offset = s.get("time_offset_s")
    if offset is None:
        offset = float(cals["time_sync"].attrs.get("offset_s", 0.0)) if "time_sync" in cals else 0.0
    mass = float(s.get("mass_kg", md.get("mass_kg", 75.0) or 75.0))
    sk = _skeleton_settings(s, md.get("trial_kind", ""), stature, float(offset), mass)
    sk.foot.no_interpolation_across_contact, why = landing_joints_rule(cam, sk.foot)
    lm = _landmarks_from_trial(trial, s, timings)
    depth = trial.stream(s.get("depth_stream", "depth"))
    t0 = time.perf_counter()
    frames = None
    if template_window_s is not None and len(lm.time_s):
        frames = lm.time_s <= lm.time_s[0] + template_window_s
    dense, breaks = None, []
    if origin_host_s is not None:
        def host(t_plate):                 # plate time -> color host time
            return t_plate + origin_host_s - sk.time_offset_s
        dense = [(host(a), host(b)) for a, b in dense_windows_plate_s or []] or None
        breaks = [host(c) for c in contacts_plate_s]
    rec = reconstruct(lm, _LazyDepth(depth), np.asarray(depth.time_host_s, float), cam, sk,
                      bone_lengths=bone_lengths, timings=timings, foot_template=foot_template,
                      foot_template_frames=frames, dense_windows_s=dense, filter_breaks_s=breaks)
    timings["reconstruct_s"] = time.perf_counter() - t0
    rec["landmarks"] = lm
    rec["landing_joints"] = {"own_side": bool(sk.foot.no_interpolation_across_contact), "chosen_by": why}
    return rec, sk, cam


def static_reference_from_trial(trial, settings: Optional[dict] = None) -> dict:
    """From the static standing trial: bone lengths (medians), neutral angles and the feet's
    depth template (analysis/skeleton/foot.py). Pass the result as settings['skeleton']['static']
    to analyze_skeleton for the athlete's other trials."""
    return static_reference_and_landmarks(trial, settings)[0]


def static_reference_and_landmarks(trial, settings: Optional[dict] = None):
    """static_reference_from_trial's result and the static trial's 2D landmarks (with
    MediaPipe's world landmarks), from one reconstruction of the trial."""
    s = _settings(settings)
    timings = {}
    rec, _, _ = _reconstruct_trial(trial, s, timings)
    ref = {"bone_lengths_m": {f"{a}-{b}": v for (a, b), v in rec["bone_lengths"].items()},
           "reference": kinematics.static_reference(rec["joints_lab_m"]),
           "foot_template": template_to_json(rec["foot_template"] or {}),
           "bone_length_check": rec["bone_length_check"],
           "source": "static trial"}
    return ref, rec["landmarks"]


def _template_frames(template) -> int | None:
    """The fewest static frames a side's foot template was built from; None without one."""
    n = [int(tp["n_frames"]) for tp in (template or {}).values() if "n_frames" in tp]
    return min(n) if n else None


def _bone_lengths_from(static: dict):
    bl = static.get("bone_lengths_m")
    if not bl:
        return None
    return {(a, b): float(bl[f"{a}-{b}"]) for a, b in BONES}


def _landing_contacts(force_events: Optional[dict]) -> list:
    """Plate times of the landings' initial contacts (not squat bottoms)."""
    out = []
    for rep in (force_events or {}).get("reps", []):
        ev = kinematics.rep_events(rep)
        if ev["contact_s"] is not None and ev["kind"] != "squat":
            out.append(float(ev["contact_s"]))
    return out


def _dense_windows(force_events: Optional[dict], s: dict) -> list:
    """Plate-time windows where the foot is registered in every depth frame (FootSettings
    dense_window_s): jumps from the initial contact - w to the end of the landing phase, squats
    the bottom +- w."""
    w = float(s.get("foot", {}).get("dense_window_s", FootSettings.dense_window_s))
    out = []
    if w <= 0:
        return out
    for rep in (force_events or {}).get("reps", []):
        ev = kinematics.rep_events(rep)
        if ev["contact_s"] is None:
            continue
        if ev["kind"] == "squat":
            out.append((ev["contact_s"] - w, ev["contact_s"] + w))
        else:
            end = ev["phase"][1] if ev["phase"][1] is not None else ev["contact_s"] + w
            out.append((ev["contact_s"] - w, end))
    return out


def analyze_skeleton(trial, settings: Optional[dict], force_events: Optional[dict]) -> dict:
    """Skeleton + kinematics for one trial. force_events: the force analysis result
    (analysis.force.analyze ForceResult.to_dict(): 'reps' with landing_s / bottom_s ...; times
    from the force stream's first sample; or 'time_origin_host_s' to give that origin).

    Returns a JSON-ready dict (+ 'arrays' for the results group, numpy):
      reps: [{rep, kind, events{contact_s, peak_force_s, <side>_peak_knee_flexion_s}, phase_s,
              left{...}, right{...}, verdict{left, right}}]; each side has
              dorsiflexion_at_contact_deg, dorsiflexion_max_deg, dorsiflexion_at_peak_force_deg,
              dorsiflexion_at_peak_knee_flexion_deg, shank_inclination_max_deg,
              fppa_at_contact_deg, fppa_max_deg, fppa_at_peak_force_deg,
              fppa_at_peak_knee_flexion_deg, knee_abduction_max_deg, knee_flexion_at_contact_deg,
              knee_flexion_max_deg, hip_flexion_max_deg, medial_knee_displacement_max_m,
              tracking_quality (None-valued numbers when the leg's verdict is not_tracked);
      tracking_quality {left, right} (whole trial), verdict {ok, reasons},
      static_reference {source, reference}, bone_lengths_m, settings, timings_s,
      filter {cutoff_hz, order, zero_lag, cutoff_source, split_at_contact,
              residual_analysis_hz {median_hz, max_hz, n_series}, above_cutoff} (filter_summary),
      arrays {time_s, joints_lab_m, valid_3d, filled, reason, visibility, curve_<side>_<name>}.
    """
    s = _settings(settings)
    timings: dict = {}
    t_start = time.perf_counter()
    static = s.get("static") or {}
    template = template_from_json(static.get("foot_template"))
    # plate time base: seconds from the force stream's first sample
    origin = (force_events or {}).get("time_origin_host_s")
    if origin is None:
        fs = [st for st in trial.streams().values() if getattr(st, "kind", None) == "force"]
        if not fs:
            fs = [st for n, st in trial.streams().items() if n.startswith("plate")]
        origin = float(fs[0].time_host_s[0]) if fs else None
    rec, sk, cam = _reconstruct_trial(trial, s, timings, bone_lengths=_bone_lengths_from(static),
                                      foot_template=template,
                                      template_window_s=None if template else float(s.get("static_window_s", 0.5)),
                                      dense_windows_plate_s=_dense_windows(force_events, s), origin_host_s=origin,
                                      contacts_plate_s=_landing_contacts(force_events))
    if origin is None:
        origin = float(rec["time_s"][0])
    # the leg bones against the stature: the static trial's check when its lengths were given,
    # else this trial's own (analysis/skeleton/fit.check_leg_bones)
    bone_check = (static.get("bone_length_check") if _bone_lengths_from(static) is not None
                  else rec["bone_length_check"]) or {"notes": [], "unusable_sides": []}
    joints = rec["joints_lab_m"]
    if static.get("reference"):
        ref, ref_source = static["reference"], static.get("source", "static trial")
    else:
        w = float(s.get("static_window_s", 0.5))
        first = rec["time_s"] <= rec["time_s"][0] + w
        ref = kinematics.static_reference(joints[first])
        ref_source = f"first {w:.1f} s of this trial (no static trial given)"
    curves = kinematics.leg_curves(joints, ref, static_source=ref_source)

    t = rec["time_s"] - origin

    valid_leg = {side: kinematics.leg_valid(rec["valid_3d"], side) for side in SIDES}
    qs = QualitySettings(**{k: v for k, v in s.get("quality", {}).items()
                            if k in {f.name for f in fields(QualitySettings)}})
    dense_curves = None
    feet = rec.get("feet_at_depth_frames")
    if feet is not None:
        dense_curves = {"time_s": feet["time_s"] - origin,
                        "at_last_frame": bool(sk.foot.contact_at_last_depth_frame)}
        for side in SIDES:
            dense_curves[side] = {"dorsiflexion": angles.ankle_dorsiflexion(
                feet["joints_lab_m"], side, ref[side]["shank_foot_angle_rad"])}
    free, free_source = free_leg(trial.metadata.get("trial_kind", ""), trial.metadata, s, joints)
    foot_on = bool(sk.foot.enabled and rec.get("foot_template"))
    reps_out = []
    for i, rep in enumerate((force_events or {}).get("reps", [])):
        summ = kinematics.rep_summary(t, curves, valid_leg, rep, dense=dense_curves)
        ev = kinematics.rep_events(rep)
        a, b = ev["phase"]
        mask = (t >= a) & (t <= b) if a is not None and b is not None else np.zeros(len(t), bool)
        verdict = {}
        for li, side in enumerate(SIDES):
            if side == free:
                v = free_leg_verdict(side, free_source)
            else:
                v = leg_verdict(side, t, rec["reason"], rec["valid_3d"], rec["filled"], mask,
                                {"initial_contact" if ev["kind"] != "squat" else "squat_bottom": ev["contact_s"],
                                 "peak_force": ev["peak_force_s"]},
                                summ[side]["tracking_quality"], qs,
                                dorsiflexion_rad=curves[side]["dorsiflexion"],
                                foot_registered=(rec["foot_fitness"][:, li] > 0) if foot_on else None)
            if side in bone_check["unusable_sides"] and v["verdict"] == "ok":
                v = {"verdict": "not_tracked",
                     "reasons": [x for x in bone_check["notes"] if x.startswith(f"the measured {side} ")]}
            if v["verdict"] == "ok" and kinematics.contact_value_withheld(summ[side]):
                # the leg's other numbers stand; this one is withheld, and the verdict says why
                why = summ[side]["dorsiflexion_at_contact_from"]
                v = dict(v, reasons=list(v.get("reasons", [])) + [f"{side} dorsiflexion at contact {why}"])
            verdict[side] = v
            if v["verdict"] != "ok":
                summ[side] = {k: (None if k != "tracking_quality" else val) for k, val in summ[side].items()}
        summ["verdict"] = verdict
        summ["rep"] = rep.get("rep", i + 1)
        summ["kind"] = ev["kind"]
        reps_out.append(summ)
    reasons = [f"rep {r['rep']}: {x}" for r in reps_out for side in SIDES for x in r["verdict"][side]["reasons"]
               if r["verdict"][side]["verdict"] != "free_leg"]
    tq = {side: float(np.mean(valid_leg[side])) if len(t) else 0.0 for side in SIDES}
    for side in SIDES:
        if tq[side] < qs.min_tracking and side != free:
            reasons.append(f"{side} leg tracked in only {100 * tq[side]:.0f}% of the trial's frames")
    timings["total_s"] = time.perf_counter() - t_start
    arrays = {"time_s": t, "joints_lab_m": joints, "valid_3d": rec["valid_3d"],
              "depth_rejected": rec["depth_rejected"], "fit_rms_m": rec["fit_rms_m"],
              "refine_points": rec["refine_points"], "foot_fitness": rec["foot_fitness"],
              "foot_dense": rec["foot_dense"],
              "foot_pose_lab": rec["foot_pose_lab"],
              "filled": rec["filled"], "reason": rec["reason"], "visibility": rec["visibility"]}
    for side in SIDES:
        for name, y in curves[side].items():
            arrays[f"curve_{side}_{name}"] = y
    for name in ("trunk_lean", "trunk_lateral_lean", "separation_ratio"):
        arrays[f"curve_{name}"] = curves[name]
    if dense_curves is not None:
        # the depth frames registered one by one around the force events (the dorsiflexion at a
        # landing's contact comes from the last of them before it): kept so the value can be checked
        arrays["depth_frames_time_s"] = dense_curves["time_s"]
        for side in SIDES:
            arrays[f"depth_frames_{side}_dorsiflexion"] = dense_curves[side]["dorsiflexion"]
    return json_ready({
        "reps": reps_out,
        "tracking_quality": tq,
        "verdict": {"ok": not reasons, "reasons": reasons},
        "static_reference": {"source": ref_source, "reference": ref},
        "frontal_plane": {"right_axis_lab": (None if curves["right_axis_lab"] is None
                                             else [float(v) for v in curves["right_axis_lab"]]),
                          "source": curves["right_axis_source"],
                          "constant_over_trial": True},
        "bone_lengths_m": {f"{a}-{b}": v for (a, b), v in rec["bone_lengths"].items()},
        "bone_length_check": bone_check,
        # how a landing's dorsiflexion at contact gets its depth frames' joints (FootSettings.
        # no_interpolation_across_contact): the rule and why it was chosen for this trial
        "landing_joints": rec["landing_joints"],
        "camera_setup": camera_setup_note(cam),
        # how precise a landing's dorsiflexion at contact can be (one depth frame's bound) and was
        # measured to be on the virtual station, for this camera where it stands
        "contact_dorsiflexion_precision": contact_dorsiflexion_precision(
            cam.T_lab_from_depth, cam.stereo_baseline_m, cam.depth_intrinsics.fx,
            _template_frames(rec["foot_template"])),
        "filter": filter_summary(sk.fit, rec["residual_analysis_hz"], cutoff_from_setting="cutoff_hz" in s
                                 or "cutoff_hz" in s.get("fit", {})),
        "settings": {"lift": asdict(sk.lift), "fit": asdict(sk.fit), "refine": asdict(sk.refine),
                     "foot": asdict(sk.foot), "time_offset_s": sk.time_offset_s,
                     "estimator": getattr(s.get("estimator_object"), "name", None) or s.get("estimator", "mediapipe")},
        "timings_s": timings,
        "n_frames": int(len(t)),
    }) | {"arrays": arrays, "_landmarks": rec["landmarks"]}

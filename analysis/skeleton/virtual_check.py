"""Whole-chain check of the skeleton on the virtual athlete (tests and bench only).

virtual athlete (drivers/athlete: motion, renderer) -> a trial file written with
data.trial.TrialWriter (camera device description as drivers/camera.py writes it, raw depth and
color streams, camera_pose calibration, truth) -> analysis.skeleton_pipeline.analyze_skeleton ->
errors against the truth, side by side with two baselines measured in the same run on the same
frames: MediaPipe's own 3D world landmarks (RGB only) and a 2D FPPA on the color image.

The force events given to the analysis are the simulation's own event times in the force
analysis' format (the force chain is checked by its own tests); the camera pose is the true one
(calibration is checked by its own tests).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis import angles
from analysis.joints import SIDES
from analysis.kinematics import contact_value_withheld
from analysis.pose.angles_2d import fppa_2d_rad
from analysis.skeleton.mapping import landmarks_to_joints
from drivers.athlete.render_noise import DepthNoise
from drivers.camera_model import (D435_COLOR_640x480, D435_DEPTH_848x480, T_COLOR_FROM_DEPTH_D435,
                                  standard_camera_pose)

EPOCH_S = 1.8e9        # arbitrary host-clock origin of the simulated trials
KIND_TO_TRIAL = {"squat": "squat", "single-leg-squat": "single_leg_squat", "cmj": "cmj",
                 "dj": "drop_jump", "static": "static"}


@dataclass
class VirtualSpec:
    kind: str = "squat"                      # drivers.athlete.motion kinds
    view: str = "front"                      # 'front' | '45'
    traits: dict = field(default_factory=dict)
    seed: int = 0
    side: str = "left"                       # stance leg of a single-leg squat
    color_fps: float = 30.0
    depth_fps: float = 90.0
    window_s: tuple | None = None            # (t0, t1) of the motion to record; None = all
    depth_baseline_m: float = DepthNoise.baseline_m   # the depth noise model's stereo baseline
                                             # (render_noise: RMS z^2 * subpixel / (fx * baseline)): its
                                             # default the D435's 50 mm; 0.095 a D455's (the rest of the
                                             # camera stays the D435's)
    camera_distance_m: float = 2.5           # horizontal distance from the plate centre
                                             # (drivers.camera_model.standard_camera_pose, 1.0 m high)
    camera_aim_height_m: float = 0.8         # ... aimed at this height above the plate centre


def _motion(spec: VirtualSpec, kind=None):
    from drivers.athlete.motion import simulate_motion
    from drivers.athlete.traits import Traits
    kw = {"side": spec.side} if (kind or spec.kind) == "single-leg-squat" else {}
    return simulate_motion(kind or spec.kind, Traits(**spec.traits), seed=spec.seed,
                           reps=None if (kind or spec.kind) == "static" else 1, **kw)


def _trial_name(spec: VirtualSpec) -> str:
    """The file a spec is rendered to: one name per spec (a folder can hold several)."""
    digest = hashlib.sha1(repr(spec).encode()).hexdigest()[:10]
    return f"{spec.kind}_{spec.view}_{spec.seed}_{digest}.h5"


def _renderer(spec: VirtualSpec, seed: int):
    from drivers.athlete.render import Renderer
    return Renderer(standard_camera_pose(spec.view, distance_m=spec.camera_distance_m,
                                         target_height_m=spec.camera_aim_height_m), seed=seed,
                    noise=DepthNoise(baseline_m=spec.depth_baseline_m))


def write_virtual_trial(path, spec: VirtualSpec, motion=None) -> dict:
    """Render and write one trial. Returns {'motion', 'color_t', 'path'}."""
    from data.trial import TrialWriter
    motion = motion or _motion(spec)
    r = _renderer(spec, spec.seed)
    t0, t1 = spec.window_s or (0.0, motion.duration_s)
    tc = np.arange(t0, t1, 1.0 / spec.color_fps)
    td = np.arange(t0, t1, 1.0 / spec.depth_fps)
    model = ("virtual D435" if spec.depth_baseline_m == DepthNoise.baseline_m else
             f"virtual D435 with the depth noise of a {spec.depth_baseline_m * 1000:.0f} mm stereo baseline")
    desc = {"source": "virtual athlete", "model": model, "depth_scale_m": 0.001,
            "stereo_baseline_m": spec.depth_baseline_m,
            "depth": {"width": 848, "height": 480, "fps": spec.depth_fps, "format": "z16",
                      "intrinsics": D435_DEPTH_848x480.to_dict()},
            "color": {"width": 640, "height": 480, "fps": spec.color_fps, "format": "rgb8",
                      "intrinsics": D435_COLOR_640x480.to_dict()},
            "T_color_from_depth": T_COLOR_FROM_DEPTH_D435.tolist()}
    md = {"athlete_id": "virtual", "trial_kind": KIND_TO_TRIAL.get(spec.kind, spec.kind),
          "height_m": float(motion.traits.height_m), "settings": {}}
    with TrialWriter(path, metadata=md) as w:
        w.add_device("camera", kind="depth_camera", description=desc,
                     arrays={"T_color_from_depth_m": T_COLOR_FROM_DEPTH_D435})
        w.add_calibration("camera_pose", {"method": "true pose (virtual)"},
                          arrays={"T_lab_from_depth": r.T_lab_from_depth})
        sd = w.create_stream("depth", kind="depth", device="camera", sample_shape=(480, 848),
                             dtype="uint16", unit="mm", frame="camera_depth",
                             nominal_rate_hz=spec.depth_fps, image=True)
        sc = w.create_stream("color", kind="color", device="camera", sample_shape=(480, 640, 3),
                             dtype="uint8", unit="rgb8", frame="camera_color",
                             nominal_rate_hz=spec.color_fps, image=True)
        jd = motion.joints_at(td)
        for i, t in enumerate(td):
            sd.append(r.depth(jd[i], i)[None], sequence=[i], time_device_s=[t],
                      time_host_s=[EPOCH_S + t])
        jc = motion.joints_at(tc)
        for i, t in enumerate(tc):
            sc.append(r.color(jc[i], i)[None], sequence=[i], time_device_s=[t],
                      time_host_s=[EPOCH_S + t])
    return {"motion": motion, "color_t": tc, "path": Path(path)}


def force_events_from_truth(motion) -> dict:
    """The simulation's events in analysis/force's rep format (times from the motion start)."""
    ev = motion.events
    reps = []
    kind = motion.kind
    if kind in ("squat", "single-leg-squat"):
        tempo = motion.traits.tempo_s
        for k, b in enumerate(ev.get("bottom", [])):
            reps.append({"rep": k + 1, "kind": "squat", "start_s": b - tempo / 2,
                         "bottom_s": b, "end_s": b + tempo / 2})
    elif kind == "dj":
        c, to = ev["contact"][0], ev["takeoff"][0]
        reps.append({"rep": 1, "kind": "drop_jump", "takeoff_s": to, "contact_time_s": to - c,
                     "peak_force_s": ev["peak_landing_force"][0], "landing_s": ev["landing"][0]})
    else:
        for k, (ld, pk) in enumerate(zip(ev.get("landing", []), ev.get("peak_landing_force", []))):
            reps.append({"rep": k + 1, "kind": kind, "landing_s": ld,
                         "time_to_peak_landing_force_s": pk - ld})
    return {"reps": reps, "time_origin_host_s": EPOCH_S}


def _rmse(a, b, m):
    d = (a - b)[m]
    d = d[np.isfinite(d)]
    return float(np.degrees(np.sqrt(np.mean(d ** 2)))) if d.size else float("nan")


def _at(t, y, te):
    from analysis.kinematics import value_at
    return value_at(t, y, te)


def world_landmarks_lab(world_mp: np.ndarray, T_lab_from_color: np.ndarray) -> np.ndarray:
    """MediaPipe world landmarks (x right, y down, z away from the camera, hip-centred) turned into
    the lab's orientation with the camera's rotation (its origin stays the hip centre)."""
    xyz = world_mp.copy()
    vis = np.ones(xyz.shape[:-1])
    j3, _ = landmarks_to_joints(xyz[..., :2], vis)
    jz, _ = landmarks_to_joints(np.stack([xyz[..., 2], xyz[..., 2]], -1), vis)
    joints_cam = np.concatenate([j3, jz[..., :1]], axis=-1)
    return joints_cam @ T_lab_from_color[:3, :3].T


def evaluate(result: dict, motion, static_landmarks, static_motion, T_lab_from_color) -> dict:
    """Errors (degrees) of ours, MediaPipe world landmarks and 2D FPPA against the truth.
    static_landmarks: the static trial's 2D landmarks (their MediaPipe world landmarks give the
    peer's static reference)."""
    from analysis.kinematics import APPROACH_SAMPLES_COLOUR, frontal_axis, rep_events, value_on_approach
    arr = result["arrays"]
    t = arr["time_s"]
    truth = motion.joints_at(t)
    lm = result["_landmarks"]
    static_truth = static_motion.info["static_ankle_angle_rad"]
    out = {"reps": []}
    world = world_landmarks_lab(lm.world_mediapipe_m, T_lab_from_color)
    s_world = world_landmarks_lab(static_landmarks.world_mediapipe_m, T_lab_from_color)
    axis_true = angles.stance_right_axis(truth)
    try:                        # the world landmarks' plane by our rule: their own stance, else their static one
        axis_world = frontal_axis(world, {"right_axis_lab": angles.stance_right_axis(s_world)})[0]
    except ValueError:          # no world landmarks (the TEST-ONLY truth detector has none)
        axis_world = None
    out["frontal_axis_deg"] = {
        "true": float(np.degrees(np.arctan2(axis_true[1], axis_true[0]))),
        "ours": (float(np.degrees(np.arctan2(result["frontal_plane"]["right_axis_lab"][1],
                                             result["frontal_plane"]["right_axis_lab"][0])))
                 if result.get("frontal_plane", {}).get("right_axis_lab") else None)}
    for rep, summ in zip(force_events_from_truth(motion)["reps"], result["reps"]):
        ev = rep_events(rep)
        a, b = ev["phase"]
        m = (t >= a) & (t <= b)
        row = {"kind": ev["kind"]}
        for side in SIDES:
            df_true = angles.ankle_dorsiflexion(truth, side, static_truth[side])
            fp_true = angles.knee_fppa(truth, side, axis_true)
            kf_true = angles.knee_flexion(truth, side)
            df_ours = arr[f"curve_{side}_dorsiflexion"]
            fp_ours = arr[f"curve_{side}_fppa"]
            sw = angles.ankle_shank_foot_angle(s_world, side)
            df_w = angles.ankle_dorsiflexion(world, side, np.nanmedian(sw) if np.isfinite(sw).any() else np.nan)
            fp_w = angles.knee_fppa(world, side, axis_world)
            fp_2d = fppa_2d_rad(lm.xy_px, side)
            pk = t[m][np.nanargmax(kf_true[m])] if m.any() else np.nan
            events = {"contact": ev["contact_s"], "peak_force": ev["peak_force_s"], "peak_knee_flexion": pk}
            r = {}

            def exact(name, te):
                Jt = motion.joints_at(np.array([te]))
                v = (angles.ankle_dorsiflexion(Jt, side, static_truth[side]) if name == "dorsiflexion"
                     else angles.knee_fppa(Jt, side, axis_true))
                return float(np.degrees(v[0]))

            def ours_at(y, en, te, name=None):
                # as the pipeline reports it (analysis.kinematics.rep_summary): a landing's
                # dorsiflexion at initial contact from the approach (depth frames when registered
                # densely), every other value by interpolation of the curve
                if en == "contact" and ev["kind"] != "squat" and name == "dorsiflexion":
                    v = (summ.get(side) or {}).get("dorsiflexion_at_contact_deg")
                    if v is not None:
                        return float(v)
                    if contact_value_withheld(summ.get(side)):
                        return float("nan")          # withheld by the pipeline: no error to count
                    return float(np.degrees(value_on_approach(t, y, te, APPROACH_SAMPLES_COLOUR)))
                return float(np.degrees(_at(t, y, te)))
            for name, (yt, yo, yw, y2) in {"dorsiflexion": (df_true, df_ours, df_w, None),
                                           "fppa": (fp_true, fp_ours, fp_w, fp_2d)}.items():
                r[f"{name}_rmse_deg"] = _rmse(yo, yt, m)
                r[f"{name}_rmse_world_deg"] = _rmse(yw, yt, m)
                if y2 is not None:
                    r[f"{name}_rmse_2d_deg"] = _rmse(y2, yt, m)
                for en, te in events.items():
                    if te is None or not np.isfinite(te):
                        continue
                    # the truth AT the event time (the motion evaluated there), not sampled at
                    # the colour frames: a landing's dorsiflexion kinks at the contact (-12 deg
                    # there, -2.6 read from 30 fps samples)
                    tv = exact(name, te)
                    r[f"{name}_true_at_{en}_deg"] = tv
                    r[f"{name}_err_at_{en}_deg"] = ours_at(yo, en, te, name) - tv
                    r[f"{name}_err_world_at_{en}_deg"] = ours_at(yw, en, te) - tv
                    if y2 is not None:
                        r[f"{name}_err_2d_at_{en}_deg"] = ours_at(y2, en, te) - tv
            r["dorsiflexion_max_true_deg"] = float(np.degrees(np.nanmax(df_true[m])))
            r["dorsiflexion_max_ours_deg"] = summ[side]["dorsiflexion_max_deg"] if summ[side] else None
            r["tracking_quality"] = summ[side]["tracking_quality"] if summ[side] else None
            r["verdict"] = summ["verdict"][side]
            row[side] = r
        out["reps"].append(row)
    return out


def _truth_detector(motion, spec: VirtualSpec, noise_px: float):
    from analysis.pose.truth_projection_detector import TruthProjectionDetector
    t = np.arange(0.0, motion.duration_s, 1.0 / 500.0)
    r = _renderer(spec, 0)
    return TruthProjectionDetector(motion.joints_at(t), EPOCH_S + t, r.color_view.intr,
                                   r.T_lab_from_color, noise_px=noise_px, seed=spec.seed)


# 2D landmarks of the rendered trials already estimated in this process (the pipeline's
# landmarks_cache): variants of the settings on the same renders run MediaPipe once
LANDMARKS_CACHE: dict = {}


def run_case(workdir, spec: VirtualSpec, static_spec: VirtualSpec | None = None,
             settings: dict | None = None, truth_detector_noise_px: float | None = None) -> dict:
    """Static trial + movement trial through the whole chain; returns the evaluation.
    truth_detector_noise_px: use the TEST-ONLY truth-projection detector with this pixel noise
    instead of MediaPipe (isolates the depth lifting and the fit from MediaPipe's errors).
    The trials are rendered into workdir once: later calls with the same specs in the same
    folder (other settings) reuse them, and MediaPipe's landmarks (LANDMARKS_CACHE)."""
    from analysis.skeleton_pipeline import analyze_skeleton, static_reference_and_landmarks
    from data.trial import open_trial
    workdir = Path(workdir)
    static_spec = static_spec or VirtualSpec(kind="static", view=spec.view, traits=spec.traits,
                                             seed=spec.seed + 100, color_fps=spec.color_fps,
                                             depth_fps=spec.depth_fps, window_s=(0.5, 1.5))
    smotion = _motion(static_spec)
    sp = workdir / _trial_name(static_spec)
    if not sp.exists():
        write_virtual_trial(sp, static_spec, smotion)
    s = dict(settings or {})
    s.setdefault("landmarks_cache", LANDMARKS_CACHE)
    if truth_detector_noise_px is not None:
        s["estimator"] = "truth_projection"
        s["estimator_object"] = _truth_detector(smotion, static_spec, truth_detector_noise_px)
    st = open_trial(sp)
    static, static_landmarks = static_reference_and_landmarks(st, s)
    st.close()
    mp_ = workdir / _trial_name(spec)
    if mp_.exists():            # rendered by an earlier call in this folder (same spec): reused
        motion = _motion(spec)
    else:
        motion = write_virtual_trial(mp_, spec)["motion"]
    s2 = dict(s)
    s2["static"] = static
    if truth_detector_noise_px is not None:
        s2["estimator_object"] = _truth_detector(motion, spec, truth_detector_noise_px)
    tr = open_trial(mp_)
    res = analyze_skeleton(tr, s2, force_events_from_truth(motion))
    tr.close()
    T_lab_from_color = _renderer(spec, 0).T_lab_from_color
    ev = evaluate(res, motion, static_landmarks, smotion, T_lab_from_color)
    ev["timings_s"] = res["timings_s"]
    ev["result"] = res
    ev["static_reference"], ev["static_motion"], ev["motion"] = static, smotion, motion
    return ev

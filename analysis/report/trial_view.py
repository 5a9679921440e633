"""Everything a report shows about one trial, read once from the trial file: metadata, quality,
faults, the force (N) and its analysis, the skeleton/kinematics results when present, and the
camera geometry needed to draw joints over a color frame.

Times are seconds from the force stream's first sample (the time base of analysis/force and of
analysis/skeleton_pipeline). Force results: /results/force when the trial has them, else computed
now with default settings (not written; the report says so).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.joints import SIDES
from analysis.report.method_notes import result_method_lines

CURVE_NAMES = ("dorsiflexion", "fppa", "knee_flexion", "shank_inclination")


@dataclass
class CameraGeometry:
    """What projecting lab-frame joints onto the color image needs."""
    color_intrinsics: object            # drivers.camera_model.Intrinsics
    T_color_from_lab: np.ndarray        # 4x4


@dataclass
class Kinematics:
    source: str                         # 'results/skeleton' or 'results/kinematics'
    time_s: np.ndarray                  # (T,) seconds from the force stream's first sample
    curves: dict                        # {side: {name: (T,) rad}}
    joints_lab_m: np.ndarray | None     # (T, J, 3)
    reps: list                          # per-rep dicts (events, left/right summaries)
    method: list = field(default_factory=list)   # how the angles were made (method_notes), sentences


@dataclass
class TrialView:
    path: str
    metadata: dict
    status: str
    status_reason: str
    faults: list
    quality: dict
    streams: dict                       # name -> (kind, n samples, rate)
    time_origin_host_s: float | None
    force_time_s: np.ndarray | None
    force_fz_n: np.ndarray | None       # (T,) or (T, plates)
    force: dict | None                  # ForceResult.to_dict()-like
    force_source: str
    kinematics: Kinematics | None
    kinematics_note: str
    camera: CameraGeometry | None
    camera_note: str
    has_color: bool
    warnings: list = field(default_factory=list)

    @property
    def label(self) -> str:
        from pathlib import Path
        return Path(self.path).name


def _force_part(t):
    from analysis.force import ForceAnalysisError, analyze_force
    from analysis.force.trial_force import TrialForceError, force_from_trial
    try:
        tf = force_from_trial(t)
    except TrialForceError as exc:
        return None, None, None, None, f"no force: {exc}"
    t_rel = tf.time_s - tf.time_s[0]
    origin = float(tf.time_s[0])
    res = t.results()
    if "force" in res and isinstance(res["force"].attrs.get("reps"), list):
        a = dict(res["force"].attrs)
        return t_rel, tf.fz_n, origin, a, "stored /results/force"
    try:
        r = analyze_force(tf.fz_n, tf.rate_hz, kind=None, cop=tf.cop_plate_m).to_dict()
    except ForceAnalysisError as exc:
        return t_rel, tf.fz_n, origin, None, f"force not analysable: {exc}"
    return t_rel, tf.fz_n, origin, r, "computed for this report with default settings (not stored)"


def kinematics_of(t) -> tuple[Kinematics | None, str]:
    """(Kinematics, '') from /results/skeleton (else /results/kinematics): datasets `time_s`,
    `curve_<side>_<name>` (rad), `joints_lab_m` (T, J, 3) and the attribute `reps` (as
    analysis/skeleton_pipeline.analyze_skeleton writes them); or (None, why not)."""
    res = t.results()
    for name in ("skeleton", "kinematics"):
        if name not in res:
            continue
        arr, attrs = res[name].arrays, res[name].attrs
        if "time_s" not in arr:
            continue
        curves = {side: {c: np.asarray(arr[f"curve_{side}_{c}"], float)
                         for c in CURVE_NAMES if f"curve_{side}_{c}" in arr} for side in SIDES}
        if not any(curves[s] for s in SIDES):
            continue
        reps = attrs.get("reps") if isinstance(attrs.get("reps"), list) else []
        joints = arr.get("joints_lab_m")
        return Kinematics(f"results/{name}", np.asarray(arr["time_s"], float), curves,
                          None if joints is None else np.asarray(joints, float), reps,
                          result_method_lines(attrs)), ""
    cams = [s for s in t.streams().values() if s.kind in ("color", "depth")]
    if not cams:
        return None, "no camera data in this trial"
    return None, ("camera streams present but no skeleton results yet "
                  "(run `station analyze` on the trial)")


def _camera_part(t) -> tuple[CameraGeometry | None, str]:
    from drivers.camera_model import Intrinsics, invert_pose
    intr = None
    T_cd = None
    for e in t.devices().values():
        color = e.attrs.get("color")
        if isinstance(color, dict) and isinstance(color.get("intrinsics"), dict):
            intr = Intrinsics.from_dict(color["intrinsics"])
            if "T_color_from_depth_m" in e.arrays:
                T_cd = np.asarray(e.arrays["T_color_from_depth_m"], float)
            elif e.attrs.get("T_color_from_depth") is not None:
                T_cd = np.asarray(e.attrs["T_color_from_depth"], float)
            break
    if intr is None:
        return None, "the trial's camera description has no color intrinsics: joints not drawn"
    cals = t.calibrations()
    if "camera_pose" not in cals:
        return None, "no camera_pose calibration in the trial: joints not drawn"
    arr = cals["camera_pose"].arrays
    if T_cd is None and "T_color_from_depth" in arr:
        T_cd = np.asarray(arr["T_color_from_depth"], float)
    if "T_lab_from_color" in arr:
        T_lab_from_color = np.asarray(arr["T_lab_from_color"], float)
    elif T_cd is not None and ("T_lab_from_depth" in arr or "T_lab_from_camera" in arr):
        T_ld = np.asarray(arr.get("T_lab_from_depth", arr.get("T_lab_from_camera")), float)
        T_lab_from_color = T_ld @ invert_pose(T_cd)
    else:
        return None, "the camera_pose calibration does not give the color camera's pose: joints not drawn"
    return CameraGeometry(intr, invert_pose(T_lab_from_color)), ""


def load_trial_view(path) -> TrialView:
    """Read a trial for a report. Raises data.trial.TrialError for unreadable files."""
    from data.trial import open_trial
    with open_trial(path) as t:
        t_rel, fz, origin, force, force_source = _force_part(t)
        kin, kin_note = kinematics_of(t)
        cam, cam_note = _camera_part(t)
        streams = {n: (s.kind, len(s), s.achieved_rate_hz) for n, s in t.streams().items()}
        has_color = any(s.kind == "color" and len(s) for s in t.streams().values())
        return TrialView(
            path=str(path), metadata=dict(t.metadata), status=t.status,
            status_reason=t.status_reason, faults=t.faults(), quality=t.quality(),
            streams=streams, time_origin_host_s=origin, force_time_s=t_rel, force_fz_n=fz,
            force=force, force_source=force_source, kinematics=kin, kinematics_note=kin_note,
            camera=cam, camera_note=cam_note, has_color=has_color)


def color_frame_at(path, time_origin_host_s: float, t_s: float):
    """(rgb uint8 (H, W, 3), frame time in s from the force origin) of the color frame nearest
    to t_s, or None when the trial has no color stream."""
    from data.trial import open_trial
    with open_trial(path) as t:
        col = [s for s in t.streams().values() if s.kind == "color" and len(s)]
        if not col:
            return None
        st = col[0]
        times = st.time_host_s - time_origin_host_s
        i = int(np.argmin(np.abs(times - t_s)))
        img = np.asarray(st.data[i])
        if st.unit == "bgr8":
            img = img[..., ::-1]
        return img, float(times[i])


def snapshot_events(view: TrialView) -> list[tuple[str, float]]:
    """[(label, time s)]: initial contact and peak knee flexion of the first rep that has them."""
    reps = (view.force or {}).get("reps") or []
    kin = view.kinematics
    out = []
    contact = None
    squat = next((r for r in reps if r.get("bottom_s") is not None), None)
    if squat is not None and squat.get("start_s") is not None:
        # squats have no initial contact: the rep's start and its bottom (peak knee flexion)
        return [("rep start", float(squat["start_s"])), ("peak knee flexion", float(squat["bottom_s"]))]
    for r in reps:
        if r.get("kind") == "drop_jump" and r.get("takeoff_s") is not None and r.get("contact_time_s"):
            contact = r["takeoff_s"] - r["contact_time_s"]
        elif r.get("landing_s") is not None:
            contact = r["landing_s"]
        if contact is not None:
            break
    if contact is None:
        return out
    out.append(("initial contact", float(contact)))
    peak = None
    if kin is not None:
        for kr in kin.reps:
            ev = kr.get("events") or {}
            ts = [ev.get(f"{s}_peak_knee_flexion_s") for s in SIDES]
            ts = [x for x in ts if x is not None]
            if ts and ev.get("contact_s") is not None and abs(ev["contact_s"] - contact) < 0.5:
                peak = float(np.mean(ts))
                break
        if peak is None:
            kf = [kin.curves[s].get("knee_flexion") for s in SIDES if "knee_flexion" in kin.curves[s]]
            if kf:
                m = (kin.time_s >= contact) & (kin.time_s <= contact + 1.0)
                y = np.nanmean(np.stack(kf), axis=0)
                if m.any() and np.isfinite(y[m]).any():
                    peak = float(kin.time_s[m][np.nanargmax(y[m])])
    if peak is not None:
        out.append(("peak knee flexion", peak))
    return out

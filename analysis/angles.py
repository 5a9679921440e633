"""Kinematic definitions shared by the simulator's ground truth and by the analysis.

Every function takes joint centres `joints_lab` of shape (..., J, 3) in the lab frame (J in the
order of analysis.joints.JOINT_NAMES, metres; a leading time axis is optional) and returns an
array of shape (...) in radians or metres. Degrees only at the edges (call np.degrees there).

Planes come from the athlete's own heading, never from the lab axes, so an athlete turned on the
plate is measured the same way:
    right   = (right_hip - left_hip) projected on the horizontal plane, normalised
    up      = lab +z
    forward = up x right
    frontal plane  = span(right, up)      sagittal plane = span(forward, up)
In the reference set-up (athlete facing lab +y) right = +x, forward = +y.

The frontal-plane measures (FPPA, medial knee displacement, knee-to-ankle separation ratio) take
an optional `right_axis`: the athlete's frontal plane for the whole trial, from the stance
(`stance_right_axis`: pelvis, and knees with both feet down, while upright), held constant over
the trial; kinematics.frontal_axis picks the source (a single-leg task: the static trial's).
That is what 2D FPPA practice measures (Munro et al. 2012; Herrington & Munro 2010): one
camera set up square to the athlete's frontal plane before the task, not re-aimed as the pelvis
turns during it. It is also the only well-conditioned choice at a deep squat, where the thigh points forward
and the hip joint centres are nearly aligned with it: there a per-frame pelvis heading makes the
projected thigh short and 1 deg of heading moves the FPPA by ~10 deg. Athletes do not turn on the
plate during a squat or a landing, so the stance plane is the task's plane. Without
`right_axis` the per-frame pelvis heading is used (single poses, hand-built test poses).

Sources of the definitions: STATION.md (dorsiflexion = shank/foot angle relative to the static
trial; shank inclination as in the weight-bearing lunge test; FPPA positive when the knee falls
medially, Herrington & Munro 2010; knee-to-ankle separation ratio); 3D knee abduction after the
joint coordinate system of Grood & Suntay (1983).
"""
from __future__ import annotations

import numpy as np

from analysis.joints import JOINT_INDEX

_SIDE_SIGN = {"left": -1.0, "right": 1.0}   # +1 where the athlete's right axis points laterally


def _j(joints_lab: np.ndarray, name: str) -> np.ndarray:
    return np.asarray(joints_lab, dtype=float)[..., JOINT_INDEX[name], :]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unsigned angle (rad) between vectors a and b (..., 3), robust near 0 and pi."""
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    dot = np.sum(a * b, axis=-1)
    return np.arctan2(cross, dot)


def body_axes(joints_lab: np.ndarray):
    """(right, forward, up) unit vectors (..., 3) each, lab frame, from the athlete's heading
    (pelvis left->right vector projected on the horizontal plane)."""
    pelvis = _j(joints_lab, "right_hip") - _j(joints_lab, "left_hip")
    right = pelvis.copy()
    right[..., 2] = 0.0
    right = _unit(right)
    up = np.zeros_like(right)
    up[..., 2] = 1.0
    forward = np.cross(up, right)
    return right, forward, up


def stance_right_axis(joints_lab: np.ndarray, upright_knee_flexion_rad: float = np.radians(20.0),
                      feet_down_required: bool = False) -> np.ndarray:
    """The athlete's right axis (3,) for a trial, lab frame, horizontal unit vector, from the
    stance: the frames where both knees are flexed less than `upright_knee_flexion_rad` (if fewer
    than 3, the tenth of the frames with the least knee flexion). Per frame, the horizontal unit
    vectors left->right of the hips and, in the frames with both feet down (both ankles within
    5 cm of the same height), of the knees; the axis is the normalised sum of the two medians.
    Without a feet-down frame (e.g. a single-leg squat) it is the pelvis alone, or, with
    `feet_down_required`, a ValueError.

    Why the knees and not the ankles: on the virtual athlete's 21 two-footed bench trials
    (docs/SKELETON.md, round 6) the trial's axis came out within 0.66 deg of the truth with
    hips + knees, 1.12 with hips + knees + ankles, 1.66 with hips + ankles (the ankles scatter
    most per frame and skew); a foot placed ahead of the other turns the ankles' line too. Only
    with the legs straight and both feet down does the knees' line lie in the frontal plane."""
    j = np.asarray(joints_lab, dtype=float).reshape(-1, np.shape(joints_lab)[-2], 3)
    kf = np.maximum(knee_flexion(j, "left"), knee_flexion(j, "right"))
    ok = np.isfinite(kf) & np.isfinite(j).all(axis=(1, 2))
    if not ok.any():
        raise ValueError("no finite frame to take the stance from")
    sel = ok & (kf <= upright_knee_flexion_rad)
    if sel.sum() < 3:
        thr = np.quantile(kf[ok], 0.1)
        sel = ok & (kf <= thr)

    def median_direction(name, frames):
        v = _j(j, f"right_{name}")[frames] - _j(j, f"left_{name}")[frames]
        v[:, 2] = 0.0
        v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
        m = np.median(v, axis=0)
        return m / np.linalg.norm(m)

    feet_down = sel & (np.abs(_j(j, "right_ankle")[:, 2] - _j(j, "left_ankle")[:, 2]) < 0.05)
    if feet_down_required and not feet_down.any():
        raise ValueError("no upright frame with both feet down to take the stance from")
    axis = median_direction("hip", sel)
    if feet_down.any():
        axis = axis + median_direction("knee", feet_down)
    axis[2] = 0.0
    return axis / np.linalg.norm(axis)


def frontal_axes(joints_lab: np.ndarray, right_axis=None):
    """(right, forward, up) as body_axes, but with a constant right axis when one is given."""
    if right_axis is None:
        return body_axes(joints_lab)
    r = np.array(right_axis, dtype=float)
    r[2] = 0.0
    r = r / np.linalg.norm(r)
    shape = np.asarray(joints_lab).shape[:-2] + (3,)
    right = np.broadcast_to(r, shape)
    up = np.broadcast_to(np.array([0.0, 0.0, 1.0]), shape)
    return right, np.cross(up, right), up


def _sagittal_angle_from_up(v: np.ndarray, forward: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Angle of vector v from vertical in the sagittal plane, positive when v leans forward."""
    return np.arctan2(np.sum(v * forward, axis=-1), np.sum(v * up, axis=-1))


def knee_flexion(joints_lab: np.ndarray, side: str) -> np.ndarray:
    """Knee flexion (rad): 3D angle between thigh (hip->knee) and shank (knee->ankle); 0 with a
    straight leg, pi/2 with the shank at right angles to the thigh."""
    hip, knee, ankle = (_j(joints_lab, f"{side}_{n}") for n in ("hip", "knee", "ankle"))
    return _angle_between(knee - hip, ankle - knee)


def ankle_shank_foot_angle(joints_lab: np.ndarray, side: str) -> np.ndarray:
    """Raw 3D angle (rad) between the shank (knee->ankle) and the foot (heel->toe). About pi/2
    standing; grows as the shank tilts forward over the foot. The static trial's mean of this is
    the neutral value passed to ankle_dorsiflexion."""
    knee, ankle = _j(joints_lab, f"{side}_knee"), _j(joints_lab, f"{side}_ankle")
    heel, toe = _j(joints_lab, f"{side}_heel"), _j(joints_lab, f"{side}_toe")
    return _angle_between(ankle - knee, toe - heel)


def ankle_dorsiflexion(joints_lab: np.ndarray, side: str, static_angle_rad: float) -> np.ndarray:
    """Ankle dorsiflexion (rad) relative to neutral: ankle_shank_foot_angle minus its value in the
    static standing trial (`static_angle_rad`). Positive = dorsiflexion (knee moves forward over
    the foot), negative = plantarflexion (heel rise with the shank upright)."""
    return ankle_shank_foot_angle(joints_lab, side) - static_angle_rad


def shank_inclination(joints_lab: np.ndarray, side: str) -> np.ndarray:
    """Shank (ankle->knee) inclination from vertical in the athlete's sagittal plane (rad),
    positive when the knee is ahead of the ankle (what the weight-bearing lunge test measures)."""
    right, forward, up = body_axes(joints_lab)
    shank = _j(joints_lab, f"{side}_knee") - _j(joints_lab, f"{side}_ankle")
    return _sagittal_angle_from_up(shank, forward, up)


def _frontal_2d(v: np.ndarray, right: np.ndarray, up: np.ndarray) -> np.ndarray:
    return np.stack([np.sum(v * right, axis=-1), np.sum(v * up, axis=-1)], axis=-1)


def knee_fppa(joints_lab: np.ndarray, side: str, right_axis=None) -> np.ndarray:
    """Knee frontal-plane projection angle (rad): the signed angle between the thigh (hip->knee)
    and the shank (knee->ankle), both projected on the athlete's frontal plane. 0 when hip, knee
    and ankle line up in that plane; positive when the knee falls medially (valgus), negative
    when it goes laterally (varus). The frontal plane is span(right_axis, up) for the trial
    (`stance_right_axis`, see the module docstring) or, without it, the per-frame pelvis's."""
    right, forward, up = frontal_axes(joints_lab, right_axis)
    hip, knee, ankle = (_j(joints_lab, f"{side}_{n}") for n in ("hip", "knee", "ankle"))
    thigh = _frontal_2d(knee - hip, right, up)
    shank = _frontal_2d(ankle - knee, right, up)
    cross = thigh[..., 0] * shank[..., 1] - thigh[..., 1] * shank[..., 0]
    dot = np.sum(thigh * shank, axis=-1)
    return _SIDE_SIGN[side] * np.arctan2(cross, dot)


def knee_abduction_3d(joints_lab: np.ndarray, side: str) -> np.ndarray:
    """3D knee abduction angle (rad), valgus positive, in the joint coordinate system of Grood &
    Suntay (1983): beta = arccos(e1 . e3) - pi/2 with e1 the thigh's medio-lateral axis and e3
    the shank's long axis (ankle->knee). This skeleton has no epicondyles, so e1 is the athlete's
    right axis (pelvis left->right) made perpendicular to the thigh's long axis; hip rotation
    therefore leaks into this angle, which the FPPA does not pretend to avoid either."""
    hip, knee, ankle = (_j(joints_lab, f"{side}_{n}") for n in ("hip", "knee", "ankle"))
    pelvis_right = _j(joints_lab, "right_hip") - _j(joints_lab, "left_hip")
    thigh_axis = _unit(hip - knee)
    e1 = pelvis_right - np.sum(pelvis_right * thigh_axis, axis=-1, keepdims=True) * thigh_axis
    e1 = _unit(e1)
    e3 = _unit(knee - ankle)
    cosang = np.clip(np.sum(e1 * e3, axis=-1), -1.0, 1.0)
    return _SIDE_SIGN[side] * (np.arccos(cosang) - np.pi / 2)


def knee_to_ankle_separation_ratio(joints_lab: np.ndarray, right_axis=None) -> np.ndarray:
    """Knee separation / ankle separation, both measured along the athlete's right axis
    (frontal-plane horizontal distance; `right_axis` as in knee_fppa). Below ~0.6 flags valgus
    collapse (STATION.md)."""
    right, forward, up = frontal_axes(joints_lab, right_axis)
    knees = _j(joints_lab, "right_knee") - _j(joints_lab, "left_knee")
    ankles = _j(joints_lab, "right_ankle") - _j(joints_lab, "left_ankle")
    return np.abs(np.sum(knees * right, axis=-1)) / np.abs(np.sum(ankles * right, axis=-1))


def medial_knee_displacement(joints_lab: np.ndarray, side: str, right_axis=None) -> np.ndarray:
    """Medial knee displacement (m): the knee's distance from the hip-ankle line in the athlete's
    frontal plane (`right_axis` as in knee_fppa), positive when the knee lies medial to that
    line. Subtract the static trial's value to get the displacement from neutral."""
    right, forward, up = frontal_axes(joints_lab, right_axis)
    hip, knee, ankle = (_j(joints_lab, f"{side}_{n}") for n in ("hip", "knee", "ankle"))
    h, k, a = (_frontal_2d(p, right, up) for p in (hip, knee, ankle))
    line = a - h
    rel = k - h
    # 2D cross product of the (downward) hip->ankle line with hip->knee: positive when the knee
    # lies towards the athlete's left of the line, i.e. medially for the right leg.
    cross = line[..., 0] * rel[..., 1] - line[..., 1] * rel[..., 0]
    dist = cross / np.linalg.norm(line, axis=-1)
    return -_SIDE_SIGN[side] * dist


def hip_flexion(joints_lab: np.ndarray, side: str) -> np.ndarray:
    """Hip flexion (rad) in the athlete's sagittal plane: trunk inclination (mid-hip->neck, from
    vertical, forward positive) plus thigh inclination (hip->knee, from the downward vertical,
    knee forward positive). 0 standing upright, ~pi/2 with the thigh horizontal and the trunk
    upright."""
    right, forward, up = body_axes(joints_lab)
    thigh = _j(joints_lab, f"{side}_knee") - _j(joints_lab, f"{side}_hip")
    thigh_angle = np.arctan2(np.sum(thigh * forward, axis=-1), -np.sum(thigh * up, axis=-1))
    return trunk_lean(joints_lab) + thigh_angle


def trunk_lean(joints_lab: np.ndarray) -> np.ndarray:
    """Trunk (mid-hip -> neck) inclination from vertical in the sagittal plane (rad), positive
    when leaning forward."""
    right, forward, up = body_axes(joints_lab)
    mid_hip = 0.5 * (_j(joints_lab, "left_hip") + _j(joints_lab, "right_hip"))
    trunk = _j(joints_lab, "neck") - mid_hip
    return _sagittal_angle_from_up(trunk, forward, up)


def trunk_lateral_lean(joints_lab: np.ndarray) -> np.ndarray:
    """Trunk (mid-hip -> neck) inclination from vertical in the frontal plane (rad), positive
    when leaning towards the athlete's right."""
    right, forward, up = body_axes(joints_lab)
    mid_hip = 0.5 * (_j(joints_lab, "left_hip") + _j(joints_lab, "right_hip"))
    trunk = _j(joints_lab, "neck") - mid_hip
    return np.arctan2(np.sum(trunk * right, axis=-1), np.sum(trunk * up, axis=-1))

"""Simple poses for exercising the renderer on its own (tests, bench): a standing or squatting
athlete on the plate, facing +y, joints (J, 3) in the lab frame (analysis.joints order), built
with the segment lengths of drivers.athlete.body.Body (heel and toe joints one foot radius
above the sole, as that model defines them). The movements of drivers/athlete/motion.py are the
reference for trials; this only has to be a plausible body in front of a camera.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from analysis.joints import JOINT_INDEX, JOINT_NAMES
from drivers.athlete.body import Body


def simple_pose_lab(body: Body | None = None, squat: float = 0.0, arms_forward: float | None = None,
                    yaw_rad: float = 0.0, position_lab_m=(0.0, 0.0), toe_out_deg: float = 0.0) -> np.ndarray:
    """joints (J, 3) lab frame, feet flat on z = 0. squat in [0, 1]: 0 standing, 1 deep squat
    (shank 35 deg forward, thigh 85 deg from vertical, trunk 35 deg lean); arms hang when
    standing and reach forward with the squat (or as `arms_forward` in [0, 1] says).
    yaw rotates the athlete about lab z; position moves him on the plate; toe_out turns each
    foot outwards about the vertical through its ankle."""
    b = body if body is not None else Body()
    s = float(np.clip(squat, 0.0, 1.0))
    arms = s if arms_forward is None else float(arms_forward)
    a, t, c = np.deg2rad(35 * s), np.deg2rad(85 * s), np.deg2rad(35 * s)
    fwd_in_foot, up_in_foot = b.ankle_in_foot_m
    r = b.foot_radius_m
    j = {}
    for side, sx in (("left", -1.0), ("right", 1.0)):
        x = sx * b.hip_half_width_m
        heel = np.array([x, -0.3 * b.heel_toe_m, r])
        j[f"{side}_heel"], j[f"{side}_toe"] = heel, heel + np.array([0.0, b.heel_toe_m, 0.0])
        ank = heel + np.array([0.0, fwd_in_foot, up_in_foot])
        g = np.deg2rad(toe_out_deg) * sx
        Rz = np.array([[np.cos(g), np.sin(g), 0], [-np.sin(g), np.cos(g), 0], [0, 0, 1.0]])
        for n in ("heel", "toe"):
            j[f"{side}_{n}"] = ank + Rz @ (j[f"{side}_{n}"] - ank)
        knee = ank + b.shank_length_m * np.array([0.0, np.sin(a), np.cos(a)])
        hip = knee + b.thigh_length_m * np.array([0.0, -np.sin(t), np.cos(t)])
        j[f"{side}_ankle"], j[f"{side}_knee"], j[f"{side}_hip"] = ank, knee, hip
    mid_hip = (j["left_hip"] + j["right_hip"]) / 2
    up = np.array([0.0, np.sin(c), np.cos(c)])
    j["neck"] = mid_hip + b.trunk_length_m * up
    j["head"] = j["neck"] + b.neck_to_head_m * up
    arm = np.deg2rad(85 * arms)
    arm_dir = np.array([0.0, np.sin(arm), -np.cos(arm)])
    for side, sx in (("left", -1.0), ("right", 1.0)):
        sh = j["neck"] - b.shoulder_drop_m * up + np.array([sx * b.shoulder_half_width_m, 0.0, 0.0])
        el = sh + b.upper_arm_length_m * _unit(arm_dir + np.array([sx * 0.08, 0.0, 0.0]))
        wr = el + b.forearm_length_m * _unit(arm_dir + np.array([sx * 0.05, 0.2 * (1 - arms), 0.0]))
        j[f"{side}_shoulder"], j[f"{side}_elbow"], j[f"{side}_wrist"] = sh, el, wr
    P = np.array([j[n] for n in JOINT_NAMES])
    cz, sz = np.cos(yaw_rad), np.sin(yaw_rad)
    R = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1.0]])
    return P @ R.T + np.array([position_lab_m[0], position_lab_m[1], 0.0])


def _unit(v):
    return v / np.linalg.norm(v)


def move_foot_lab(joints_lab: np.ndarray, side: str, R: np.ndarray, t=(0.0, 0.0, 0.0)) -> np.ndarray:
    """joints (J, 3) with that foot's heel and toe turned by the rotation R (3x3, lab frame) about
    the ankle, and ankle, heel and toe moved by t (m): the foot moved rigidly for the renderer."""
    out = np.array(joints_lab, float, copy=True)
    t = np.asarray(t, float)
    a = out[JOINT_INDEX[f"{side}_ankle"]].copy()
    for n in ("heel", "toe"):
        j = JOINT_INDEX[f"{side}_{n}"]
        out[j] = a + R @ (out[j] - a) + t
    out[JOINT_INDEX[f"{side}_ankle"]] = a + t
    return out


def pitch_foot_lab(joints_lab: np.ndarray, side: str, pitch_deg: float) -> np.ndarray:
    """joints (J, 3) with that foot's heel and toe turned about the ankle's lab-x axis (the
    athlete faces +y): toe down for pitch_deg < 0, the shank unchanged - a landing's
    plantarflexed foot for the renderer."""
    return move_foot_lab(joints_lab, side, Rotation.from_euler("x", pitch_deg, degrees=True).as_matrix())

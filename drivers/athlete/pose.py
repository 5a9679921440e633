"""Joint centres of the virtual athlete from a handful of pose parameters (vectorised over time).

All inputs and outputs are in the lab frame (m, rad); arrays have time first. The joints come out
as (T, J, 3) in analysis.joints.JOINT_NAMES order. Bone lengths are those of the Body; legs and
hands-on-hips arms are placed by two-link inverse kinematics.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.joints import JOINT_INDEX, JOINT_NAMES
from drivers.athlete.body import Body

UP = np.array([0.0, 0.0, 1.0])
SIDE_SIGN = {"left": -1.0, "right": 1.0}


def heading_axes(yaw_rad):
    """(right, forward) horizontal unit vectors (T, 3) for a heading angle; yaw 0 faces lab +y,
    positive yaw turns the athlete to their left (counter-clockwise seen from above)."""
    yaw = np.asarray(yaw_rad, dtype=float)
    c, s = np.cos(yaw), np.sin(yaw)
    z = np.zeros_like(yaw)
    right = np.stack([c, s, z], axis=-1)
    forward = np.stack([-s, c, z], axis=-1)
    return right, forward


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _dot(a, b):
    return np.sum(a * b, axis=-1, keepdims=True)


def rotate_about(v, axis_unit, angle):
    """Rodrigues rotation of vectors v (T,3) about unit axes (T,3) by angles (T,)."""
    a = np.asarray(angle, dtype=float)[..., None]
    return (v * np.cos(a) + np.cross(axis_unit, v) * np.sin(a)
            + axis_unit * _dot(axis_unit, v) * (1 - np.cos(a)))


def two_link(root, end, l1, l2, pole):
    """Middle joint of a two-link chain root->mid->end with link lengths l1, l2, bending towards
    `pole` (T,3). If the end is out of reach the chain is straight towards it."""
    d_vec = end - root
    d = np.linalg.norm(d_vec, axis=-1, keepdims=True)
    u = d_vec / d
    d = np.clip(d, abs(l1 - l2) + 1e-9, l1 + l2)
    x = (l1 ** 2 - l2 ** 2 + d ** 2) / (2 * d)
    r = np.sqrt(np.clip(l1 ** 2 - x ** 2, 0.0, None))
    p = pole - _dot(pole, u) * u
    p = _unit(p)
    return root + x * u + r * p


def foot_points(body: Body, ankle, foot_forward, pitch):
    """Heel and toe joint centres (T,3) of a foot whose ankle is at `ankle`, pointing along the
    horizontal unit vector `foot_forward`, pitched by `pitch` (rad, positive = toes down / heel
    up, i.e. plantarflexion of the foot relative to the floor)."""
    p = np.asarray(pitch, dtype=float)[..., None]
    f = foot_forward * np.cos(p) - UP * np.sin(p)
    u = UP * np.cos(p) + foot_forward * np.sin(p)
    a_f, a_u = body.ankle_in_foot_m
    heel = ankle - a_f * f - a_u * u
    toe = heel + body.heel_toe_m * f
    return heel, toe


def ankle_on_toe(body: Body, toe, foot_forward, pitch):
    """Ankle position (T,3) for a foot pivoting about its toe joint centre `toe` (heel rise by
    `pitch`, rad). With pitch 0 the foot is flat."""
    p = np.asarray(pitch, dtype=float)[..., None]
    f = foot_forward * np.cos(p) - UP * np.sin(p)
    u = UP * np.cos(p) + foot_forward * np.sin(p)
    a_f, a_u = body.ankle_in_foot_m
    heel = toe - body.heel_toe_m * f
    return heel + a_f * f + a_u * u


@dataclass
class ArmPose:
    """Arm parameters per side (T,) arrays, or hands_on_hips=True."""
    shoulder_flexion: np.ndarray | float = 0.0     # 0 hanging, pi/2 forward horizontal
    shoulder_abduction: np.ndarray | float = 0.15  # away from the body, rad
    elbow_flexion: np.ndarray | float = 0.2
    hands_on_hips: bool = False


def build_joints(body: Body, mid_hip, yaw, trunk_lean, ankles, foot_pitch, knee_medial,
                 arms: ArmPose, toe_out=0.12, trunk_side_lean=0.0):
    """Joint centres (T, J, 3), lab frame.

    mid_hip (T,3): midpoint of the hip joint centres. yaw (T,): heading (0 = facing +y).
    trunk_lean (T,): trunk forward inclination from vertical. ankles (T,2,3): left, right ankle
    joint centres. foot_pitch (T,2): heel-up pitch of each foot. knee_medial (T,2): rotation of
    each knee about its hip-ankle axis towards the midline (rad; 0 = knee points along the foot's
    heading plane). toe_out: foot progression angle, rad, each foot turned outwards.
    """
    mid_hip = np.asarray(mid_hip, dtype=float)
    T = mid_hip.shape[0]
    yaw = np.broadcast_to(np.asarray(yaw, dtype=float), (T,))
    lean = np.broadcast_to(np.asarray(trunk_lean, dtype=float), (T,))[:, None]
    side_lean = np.broadcast_to(np.asarray(trunk_side_lean, dtype=float), (T,))[:, None]
    right, forward = heading_axes(yaw)
    J = np.zeros((T, len(JOINT_NAMES), 3))

    def put(name, value):
        J[:, JOINT_INDEX[name], :] = value

    trunk_axis = _unit(UP * np.cos(lean) + forward * np.sin(lean) + right * np.sin(side_lean))
    trunk_fwd = _unit(forward * np.cos(lean) - UP * np.sin(lean))
    neck = mid_hip + body.trunk_length_m * trunk_axis
    put("neck", neck)
    head_dir = _unit(trunk_axis + UP)   # the head stays more upright than the trunk (gaze ahead)
    put("head", neck + body.neck_to_head_m * head_dir)
    for side in ("left", "right"):
        sgn = SIDE_SIGN[side]
        k = 0 if side == "left" else 1
        hip = mid_hip + sgn * body.hip_half_width_m * right
        put(f"{side}_hip", hip)
        ankle = ankles[:, k, :]
        put(f"{side}_ankle", ankle)
        foot_fwd = heading_axes(yaw - sgn * toe_out)[1]
        heel, toe = foot_points(body, ankle, foot_fwd, foot_pitch[:, k])
        put(f"{side}_heel", heel)
        put(f"{side}_toe", toe)
        axis = _unit(ankle - hip)
        # rotation about the (downward) hip->ankle axis: positive turns forward towards +right,
        # which is lateral for the right leg, so medial = -sgn
        pole = rotate_about(foot_fwd, axis, -sgn * np.asarray(knee_medial[:, k], dtype=float))
        knee = two_link(hip, ankle, body.thigh_length_m, body.shank_length_m, pole)
        put(f"{side}_knee", knee)
        shoulder = neck - body.shoulder_drop_m * trunk_axis + sgn * body.shoulder_half_width_m * right
        put(f"{side}_shoulder", shoulder)
        lateral = sgn * right
        if arms.hands_on_hips:
            wrist = hip + 0.9 * body.hip_half_width_m * lateral + 0.06 * body.height_m * trunk_axis
            pole = _unit(lateral - 0.6 * trunk_fwd)
            elbow = two_link(shoulder, wrist, body.upper_arm_length_m, body.forearm_length_m, pole)
            # keep the forearm length exact when the wrist target is out of reach
            wrist = elbow + body.forearm_length_m * _unit(wrist - elbow)
        else:
            f = np.broadcast_to(np.asarray(_side(arms.shoulder_flexion, k), float), (T,))[:, None]
            ab = np.broadcast_to(np.asarray(_side(arms.shoulder_abduction, k), float), (T,))[:, None]
            e = np.broadcast_to(np.asarray(_side(arms.elbow_flexion, k), float), (T,))[:, None]
            d_ua = -trunk_axis * np.cos(f) + trunk_fwd * np.sin(f)
            n = trunk_fwd * np.cos(f) + trunk_axis * np.sin(f)
            d_ua = _unit(d_ua * np.cos(ab) + lateral * np.sin(ab))
            elbow = shoulder + body.upper_arm_length_m * d_ua
            n = _unit(n - _dot(n, d_ua) * d_ua)
            wrist = elbow + body.forearm_length_m * (d_ua * np.cos(e) + n * np.sin(e))
        put(f"{side}_elbow", elbow)
        put(f"{side}_wrist", wrist)
    return J


def _side(value, k):
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 2:
        return arr[:, k]
    return arr

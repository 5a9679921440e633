"""Foot registration (analysis/skeleton/foot.py): a template of the shoe's depth points from a
rendered standing pose, registered to a rendered pose with the foot pitched toe-down, recovers the
foot's pitch from a start whose heel is as wrong as MediaPipe's (the heel pitches the foot)."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.joints import JOINT_INDEX
from analysis.skeleton.foot import (FootSettings, build_foot_template, foot_frame, register_feet,
                                    template_from_json, template_to_json)
from analysis.skeleton.reconstruct import CameraSetup
from analysis.skeleton.refine import segment_radius_m
from drivers.athlete.render_pose import pitch_foot_lab as _rotate_foot  # toe down for < 0
from drivers.camera_model import (D435_COLOR_640x480, D435_DEPTH_848x480, T_COLOR_FROM_DEPTH_D435,
                                  invert_pose, standard_camera_pose, transform_points)


def _pitch_deg(joints_lab, side):
    f = joints_lab[JOINT_INDEX[f"{side}_toe"]] - joints_lab[JOINT_INDEX[f"{side}_heel"]]
    return float(np.degrees(np.arctan2(f[2], np.hypot(f[0], f[1]))))


def test_foot_frame_axes():
    T = foot_frame(np.array([0.0, 0.05, 0.07]), np.array([0.0, 0.0, 0.035]), np.array([0.0, 0.2, 0.035]))
    assert np.allclose(T[:3, 0], [0, 1, 0]) and np.allclose(T[:3, 2], [0, 0, 1])
    assert np.allclose(T[:3, 1], [-1, 0, 0]) and np.allclose(T[:3, 3], [0, 0.05, 0.07])


@pytest.mark.parametrize("view", ["front", "45"])
def test_registration_recovers_the_foot_pitch(view):
    from drivers.athlete.render import Renderer
    from drivers.athlete.render_pose import simple_pose_lab
    stand = simple_pose_lab()
    # landing-like: body 8 cm up, both feet 15 deg toe-down (plantarflexed), shank unchanged
    pose = stand + np.array([0.0, 0.0, 0.08])
    for side in ("left", "right"):
        pose = _rotate_foot(pose, side, -15.0)
    r = Renderer(standard_camera_pose(view), seed=5)
    cam = CameraSetup(D435_DEPTH_848x480, D435_COLOR_640x480, T_COLOR_FROM_DEPTH_D435, 0.001,
                      r.T_lab_from_depth)
    to_cam = invert_pose(cam.T_lab_from_color)
    stand_cam = transform_points(to_cam, stand)
    static_depth = [r.depth(stand, i) for i in range(3)]
    r_shank = segment_radius_m("shank", 1.75, 75.0)
    s = FootSettings()
    tpl = build_foot_template(np.repeat(stand_cam[None], 3, 0), static_depth, [0.0, 1.0, 2.0],
                              [0.0, 1.0, 2.0], cam, r_shank, s)
    assert set(tpl) == {"left", "right"}
    assert all(len(tp["points_foot_m"]) > 100 for tp in tpl.values())
    tpl = template_from_json(template_to_json(tpl))          # it travels as JSON in the static reference
    # the start: the true pose with the feet pitched 7 deg too far toe-down and 1.5 cm off
    # (MediaPipe's heel; the fitted ankle is centimetres off too)
    start = pose.copy()
    for side in ("left", "right"):
        start = _rotate_foot(start, side, -7.0)
        for n in ("heel", "toe"):
            start[JOINT_INDEX[f"{side}_{n}"]] += [0.0, 0.01, 0.01]
    depth = r.depth(pose, 10)
    out, fitness, poses = register_feet(transform_points(to_cam, start)[None], [depth], [0.0], [0.0],
                                        cam, tpl, r_shank, s)
    lab = transform_points(cam.T_lab_from_color, out[0])
    for side in ("left", "right"):
        e0 = _pitch_deg(start, side) - _pitch_deg(pose, side)
        e = _pitch_deg(lab, side) - _pitch_deg(pose, side)
        print(view, side, f"pitch error start {e0:.1f} registered {e:.1f} deg, fitness {fitness[0]}")
        assert fitness[0].min() > 0.5
        # measured (depth smoothing on, round 2): front 1.7 / 2.7 deg (round 1, unsmoothed: 0.6 /
        # -1.0 on this one frame); 45 deg -4.6 (the far foot, partly behind the near leg) / 3.0.
        # One noisy frame scatters: over 8 frames the smoothing lowers the RMS error from 6.2 to
        # 2.8 deg (front; the test below), so the single-frame bar is issue 8's 3 deg, not 1.5
        assert abs(e) < (3.0 if view == "front" else 5.0)
        assert abs(e) < abs(e0)


@pytest.mark.parametrize("view", ["front", "45"])
def test_depth_smoothing_reduces_the_pitch_error_over_noisy_frames(view):
    """Round 2 of issue 8: the D400's depth noise (~2.4 cm RMS along the ray at 2.5 m, the
    simulator's model) makes one frame's registration scatter by several degrees. The foot's
    depth is smoothed (edge-preserving 3x3, FootSettings.smooth_px = 1) before the template is
    built and before each registration. Over 8 noisy frames of one landing-like pose (feet 15 deg
    toe-down, body 8 cm up), from a start 7 deg off: the RMS pitch error must drop against the
    unsmoothed registration (the old method), and stay within 3 deg."""
    from drivers.athlete.render import Renderer
    from drivers.athlete.render_pose import simple_pose_lab
    stand = simple_pose_lab()
    pose = stand + np.array([0.0, 0.0, 0.08])
    for side in ("left", "right"):
        pose = _rotate_foot(pose, side, -15.0)
    start = pose.copy()
    for side in ("left", "right"):
        start = _rotate_foot(start, side, -7.0)
        for n in ("heel", "toe"):
            start[JOINT_INDEX[f"{side}_{n}"]] += [0.0, 0.01, 0.01]
    r = Renderer(standard_camera_pose(view), seed=5)
    cam = CameraSetup(D435_DEPTH_848x480, D435_COLOR_640x480, T_COLOR_FROM_DEPTH_D435, 0.001,
                      r.T_lab_from_depth)
    to_cam = invert_pose(cam.T_lab_from_color)
    n_static = 10
    static_depth = [r.depth(stand, i) for i in range(n_static)]
    frames = [r.depth(pose, 100 + i) for i in range(8)]
    r_shank = segment_radius_m("shank", 1.75, 75.0)
    rms, rejected = {}, {}
    for smooth in (0, 1):
        s = FootSettings(smooth_px=smooth)
        tpl = build_foot_template(np.repeat(transform_points(to_cam, stand)[None], n_static, 0), static_depth,
                                  np.arange(n_static, dtype=float), np.arange(n_static, dtype=float), cam, r_shank, s)
        errs = []
        for depth in frames:
            out, fitness, _ = register_feet(transform_points(to_cam, start)[None], [depth], [0.0], [0.0],
                                            cam, tpl, r_shank, s)
            lab = transform_points(cam.T_lab_from_color, out[0])
            # a rejected registration keeps the start (7 deg off): it counts with that error
            errs += [_pitch_deg(lab, sd) - _pitch_deg(pose, sd) for sd in ("left", "right")]
            rejected[smooth] = rejected.get(smooth, 0) + int((fitness[0] == 0).sum())
        rms[smooth] = float(np.sqrt(np.mean(np.square(errs))))
    print(view, f"RMS pitch error over 8 frames x 2 feet: unsmoothed {rms[0]:.2f} ({rejected[0]} rejected), "
                f"smoothed {rms[1]:.2f} deg ({rejected[1]} rejected)")
    # measured: front 6.16 (2 rejected) -> 2.84 (1 rejected), 45 deg 5.22 -> 2.09
    assert rms[1] < rms[0]
    assert rms[1] <= 3.0


def test_depth_frames_near_a_contact_take_their_joints_from_their_own_side():
    """A foot falling at 3 m/s until a contact at 0.050 s, then still; colour frames every 1/30 s.
    A depth frame 4 ms before the contact gets the joints carried on from the two colour frames
    before it (still in flight: exact here), not the line to the colour frame after the contact
    (which stops the foot early: 1.9 cm high here); one after the contact gets the first colour
    frame after it."""
    from analysis.skeleton.foot import _joints_at
    tc = np.arange(4) / 30.0
    contact = 0.050

    def height(t):
        return 3.0 * np.maximum(contact - t, 0.0)

    joints = np.zeros((4, 1, 3))
    joints[:, 0, 2] = height(tc)
    tq = contact - 0.004
    t_near = int(np.argmin(np.abs(tc - tq)))                 # the colour frame before the contact
    across = _joints_at(joints, tc, t_near, tq)[0, 2]
    own_side = _joints_at(joints, tc, t_near, tq, contacts_s=[contact])[0, 2]
    assert own_side == pytest.approx(height(tq), abs=1e-9)
    assert across - height(tq) > 0.015
    assert _joints_at(joints, tc, 1, contact + 0.002, contacts_s=[contact])[0, 2] == pytest.approx(0.0)
    # away from any contact, the plain line between the neighbours
    assert _joints_at(joints, tc, 0, 0.01, contacts_s=[contact])[0, 2] == pytest.approx(
        _joints_at(joints, tc, 0, 0.01)[0, 2])

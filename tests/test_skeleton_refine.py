"""Depth-model refinement of the legs (analysis/skeleton/refine.py): cylinders of anthropometric
radius fitted to the rendered depth of a known squat pose recover the hip, knee and ankle from
first-fit joints that are centimetres off (what MediaPipe's landmarks give)."""
from __future__ import annotations

import numpy as np
import pytest

from analysis import angles
from analysis.joints import JOINT_INDEX
from analysis.skeleton.reconstruct import CameraSetup
from analysis.skeleton.refine import RefineSettings, refine_legs, segment_radius_m
from drivers.camera_model import (D435_COLOR_640x480, D435_DEPTH_848x480, T_COLOR_FROM_DEPTH_D435,
                                  invert_pose, standard_camera_pose, transform_points)


def test_segment_radius_is_de_levas_equivalent_cylinder():
    # thigh: 14.16 % of 75 kg = 10.62 kg, 422.2 mm * 1.75 / 1.741 = 0.4244 m:
    # r = sqrt(10.62 / (1050 pi 0.4244)) = 0.0871 m
    assert segment_radius_m("thigh", 1.75, 75.0) == pytest.approx(0.0871, abs=5e-4)
    # shank: 3.2475 kg, 0.43624 m -> 0.0475 m
    assert segment_radius_m("shank", 1.75, 75.0) == pytest.approx(0.0475, abs=5e-4)


@pytest.mark.parametrize("view", ["front", "45"])
def test_refinement_recovers_the_legs_from_offset_joints(view):
    from drivers.athlete.render import Renderer
    from drivers.athlete.render_pose import simple_pose_lab
    truth_lab = simple_pose_lab(squat=0.8)
    r = Renderer(standard_camera_pose(view), seed=3)
    depth = r.depth(truth_lab, 0)
    cam = CameraSetup(D435_DEPTH_848x480, D435_COLOR_640x480, T_COLOR_FROM_DEPTH_D435, 0.001,
                      r.T_lab_from_depth)
    truth_cam = transform_points(invert_pose(cam.T_lab_from_color), truth_lab)
    rng = np.random.default_rng(0)
    first = truth_cam.copy()
    legs = [JOINT_INDEX[f"{s}_{n}"] for s in ("left", "right") for n in ("hip", "knee", "ankle")]
    first[legs] += rng.normal(0, 0.03, (len(legs), 3))          # first fit 3 cm off per axis
    xy = D435_COLOR_640x480.project(first)                          # 2D as off as the joints
    vis = np.ones(len(first))
    L = {(f"{s}_{a}", f"{s}_{b}"): float(np.linalg.norm(truth_cam[JOINT_INDEX[f"{s}_{a}"]]
                                                         - truth_cam[JOINT_INDEX[f"{s}_{b}"]]))
         for s in ("left", "right") for a, b in (("hip", "knee"), ("knee", "ankle"))}
    out, n_pts = refine_legs(first[None], xy[None], vis[None], [depth], [0.0], [0.0], cam, L,
                             1.75, RefineSettings())
    assert (n_pts > 200).all()
    err_before = np.linalg.norm(first[legs] - truth_cam[legs], axis=1)
    err_after = np.linalg.norm(out[0, legs] - truth_cam[legs], axis=1)
    print(view, "joint errors cm before", np.round(100 * err_before, 1), "after", np.round(100 * err_after, 1))
    knees = [JOINT_INDEX["left_knee"], JOINT_INDEX["right_knee"]]
    # measured (seed 0): knees 0.7/0.5 cm front, 1.7/1.5 cm at 45 deg (the far leg half hidden)
    assert np.linalg.norm(out[0, knees] - truth_cam[knees], axis=1).max() < (0.01 if view == "front" else 0.02)
    assert np.median(err_after) < 0.5 * np.median(err_before)
    lab = transform_points(cam.T_lab_from_color, out[0])
    for side in ("left", "right"):
        e = np.degrees(angles.knee_fppa(lab, side, [1, 0, 0]) - angles.knee_fppa(truth_lab, side, [1, 0, 0]))
        e0 = np.degrees(angles.knee_fppa(transform_points(cam.T_lab_from_color, first), side, [1, 0, 0])
                        - angles.knee_fppa(truth_lab, side, [1, 0, 0]))
        print(side, "FPPA error before %.1f after %.1f deg" % (e0, e))
        # one frame at 96 deg knee flexion, where FPPA moves ~5 deg per cm of knee offset from the
        # hip-ankle line. Measured: round 3 front 0.1 / -1.5 deg (the hip 1.0 cm lateral - the
        # pelvis points, see the next test - cancelling knee and ankle offsets of 0.5 cm); round 4
        # (pelvis competing) 5.4 / 3.9 (hip 0.0, knee 0.8, ankle -0.8 cm); 45 deg 5.3 / 0.3. Issue
        # 8's 3 deg is NOT met for this single frame; the matrix over real motion (MediaPipe, 3
        # seeds) is better with the pelvis competing (docs/SKELETON.md).
        assert abs(e) < 6.0


def test_pelvis_points_are_not_taken_for_the_thigh_deep_in_a_squat():
    """At a deep squat's bottom (knees 95 deg) the pelvis (groin, buttocks) reaches over the
    proximal thigh; its points passed as thigh points and pulled the hips medially: a varus FPPA
    error in both legs on noise-free depth refined from the true pose. With the pelvis competing
    for points, that bias goes."""
    from drivers.athlete.motion import simulate_motion
    from drivers.athlete.render import Renderer
    from drivers.athlete.traits import Traits
    m = simulate_motion("squat", Traits(ankle="restricted"), seed=0, reps=1)
    tb = np.array([m.events["bottom"][0]])
    truth_lab = m.joints_at(tb)[0]
    axis = angles.stance_right_axis(m.joints_at(np.arange(0, m.duration_s, 1 / 30)))
    r = Renderer(standard_camera_pose("front"), seed=3)
    depth = r.depth(truth_lab, noisy=False)
    cam = CameraSetup(D435_DEPTH_848x480, D435_COLOR_640x480, T_COLOR_FROM_DEPTH_D435, 0.001,
                      r.T_lab_from_depth)
    truth_cam = transform_points(invert_pose(cam.T_lab_from_color), truth_lab)
    xy = D435_COLOR_640x480.project(truth_cam)
    vis = np.ones(len(truth_cam))
    L = {(f"{s}_{a}", f"{s}_{b}"): float(np.linalg.norm(truth_cam[JOINT_INDEX[f"{s}_{a}"]]
                                                         - truth_cam[JOINT_INDEX[f"{s}_{b}"]]))
         for s in ("left", "right") for a, b in (("hip", "knee"), ("knee", "ankle"))}
    err = {}
    for competes in (False, True):
        out, _ = refine_legs(truth_cam[None], xy[None], vis[None], [depth], [0.0], [0.0], cam, L, 1.75,
                             RefineSettings(pelvis_competes=competes, multi_start=False))
        lab = transform_points(cam.T_lab_from_color, out[0])
        err[competes] = [float(np.degrees(angles.knee_fppa(lab, s, axis) - angles.knee_fppa(truth_lab, s, axis)))
                         for s in ("left", "right")]
    print("FPPA error without / with the pelvis competing:", np.round(err[False], 2), np.round(err[True], 2))
    assert min(err[False]) < -2.0                       # the bias, both legs varus
    assert np.mean(np.abs(err[True])) < 0.5 * np.mean(np.abs(err[False]))


def test_legs_are_measured_at_the_depth_frames_between_colour_frames():
    """RefineSettings.at_depth_frames: at a depth frame between two colour frames the legs come
    from that frame's own depth, not from the colour frames' linear interpolation. The shank
    here moves non-linearly (as it turns back at a landing's contact): colour frames at squat 0.4
    and 0.9, the depth frame half-way in time at squat 0.85 - interpolated, the shank's pitch is
    7.0 deg off; refined to its depth (4 select-fit rounds), measured 0.4 / 0.3 deg (2 rounds:
    1.3 / 1.8). Fails without refine_legs_at_depth_frames (the old pipeline read the interpolated
    shank)."""
    from drivers.athlete.render import Renderer
    from drivers.athlete.render_pose import simple_pose_lab
    from analysis.skeleton.refine import refine_legs_at_depth_frames
    from analysis.skeleton.reconstruct import _feet_at_depth_frames
    from analysis.skeleton.reconstruct import SkeletonSettings
    r = Renderer(standard_camera_pose("front"), seed=5)
    cam = CameraSetup(D435_DEPTH_848x480, D435_COLOR_640x480, T_COLOR_FROM_DEPTH_D435, 0.001,
                      r.T_lab_from_depth)
    to_cam = invert_pose(cam.T_lab_from_color)
    colour_lab = [simple_pose_lab(squat=0.4), simple_pose_lab(squat=0.9)]
    mid_lab = simple_pose_lab(squat=0.85)
    colour_cam = np.stack([transform_points(to_cam, p) for p in colour_lab])
    xy = np.stack([D435_COLOR_640x480.project(p) for p in colour_cam])
    vis = np.ones(xy.shape[:2])
    depth = [r.depth(colour_lab[0], 0), r.depth(mid_lab, 1), r.depth(colour_lab[1], 2)]
    tc, td = np.array([0.0, 1 / 30]), np.array([0.0, 1 / 60, 1 / 30])
    L = {(f"{s}_{a}", f"{s}_{b}"): float(np.linalg.norm(colour_cam[0, JOINT_INDEX[f"{s}_{a}"]]
                                                         - colour_cam[0, JOINT_INDEX[f"{s}_{b}"]]))
         for s in ("left", "right") for a, b in (("hip", "knee"), ("knee", "ankle"))}
    out, n_pts = refine_legs_at_depth_frames(colour_cam, xy, vis, depth, td, tc, [1], cam, L, 1.75,
                                             RefineSettings())
    assert (n_pts > 0).all()

    def shank_pitch_deg(J, side):
        v = J[JOINT_INDEX[f"{side}_knee"]] - J[JOINT_INDEX[f"{side}_ankle"]]
        return np.degrees(np.arctan2(v[1], v[2]))           # forward lean in the lab's y-z plane

    # the same through the reconstruction's depth-frame joints (what the contact's value reads)
    dense = {"depth_index": [1], "heel_cam": np.full((1, 2, 3), np.nan), "toe_cam": np.full((1, 2, 3), np.nan),
             "joints_cam": out, "legs_refined": n_pts}
    joints_lab = np.stack([transform_points(cam.T_lab_from_color, p) for p in colour_cam])
    feet = _feet_at_depth_frames(dense, td, tc, joints_lab, cam, SkeletonSettings())
    interp = 0.5 * (joints_lab[0] + joints_lab[1])
    for side in ("left", "right"):
        true = shank_pitch_deg(mid_lab, side)
        e_interp = shank_pitch_deg(interp, side) - true
        e_meas = shank_pitch_deg(transform_points(cam.T_lab_from_color, out[0]), side) - true
        e_feet = shank_pitch_deg(feet["joints_lab_m"][0], side) - true
        print(side, "shank pitch error: interpolated %.1f, measured %.1f deg" % (e_interp, e_meas))
        assert abs(e_interp) > 5.0
        assert abs(e_meas) < 1.0
        assert e_feet == pytest.approx(e_meas, abs=1e-9)


def test_only_the_depth_frames_interpolated_across_a_contact_are_refined():
    """The depth frames whose joints are refined (RefineSettings.at_depth_frames) are those in
    the colour-frame interval holding a landing's contact, ends included - the only ones whose
    interpolation crosses the kink; refining every densely registered depth frame gave the same
    contact values on the bench's 24 jump legs for 3.7 s more per drop jump."""
    from analysis.skeleton.reconstruct import _across_contacts
    tc = np.arange(10) / 30.0                       # colour frames
    td = np.arange(28) / 90.0                       # depth frames, every third on a colour frame
    contact = 4.5 / 30.0                            # between colour frames 4 and 5
    sel = _across_contacts(td, tc, [contact])
    assert np.flatnonzero(sel).tolist() == [12, 13, 14, 15]     # 4/30 .. 5/30 inclusive
    assert not _across_contacts(td, tc, []).any()               # a squat: no contact, none
    assert not _across_contacts(td, tc, [1.0]).any()            # a contact outside the colour frames
    two = _across_contacts(td, tc, [contact, 7.2 / 30.0])
    assert np.flatnonzero(two).tolist() == [12, 13, 14, 15, 21, 22, 23, 24]



def _single_leg_squat_frame(t_s, first_off_m, ankle_guess_lab=None):
    """The virtual single-leg squat (left stance, valgus 12 deg) at t_s: truth (lab and colour
    camera frame), the camera, and a first fit with the free (right) leg's hip, knee and ankle
    first_off_m towards the camera along their viewing rays (the lifted depth; the 2D landmarks
    at the true pixels), optionally the free ankle moved by ankle_guess_lab (a hidden ankle's
    landmark guessed elsewhere)."""
    from drivers.athlete.motion import simulate_motion
    from drivers.athlete.render import Renderer
    from drivers.athlete.traits import Traits
    m = simulate_motion("single-leg-squat", Traits(valgus_left_deg=12.0), seed=0, reps=1, side="left")
    axis = angles.stance_right_axis(m.joints_at(np.arange(1.0, 4.6, 1 / 30)))
    truth_lab = m.joints_at(np.array([t_s]))[0]
    r = Renderer(standard_camera_pose("front"), seed=3)
    cam = CameraSetup(D435_DEPTH_848x480, D435_COLOR_640x480, T_COLOR_FROM_DEPTH_D435, 0.001,
                      r.T_lab_from_depth)
    T_cam_from_lab = invert_pose(cam.T_lab_from_color)
    truth_cam = transform_points(T_cam_from_lab, truth_lab)
    xy = D435_COLOR_640x480.project(truth_cam)
    first = truth_cam.copy()
    for n in ("hip", "knee", "ankle"):
        j = JOINT_INDEX[f"right_{n}"]
        first[j] *= 1.0 - first_off_m / first[j, 2]
    if ankle_guess_lab is not None:
        ra = JOINT_INDEX["right_ankle"]
        first[ra] = transform_points(T_cam_from_lab, transform_points(cam.T_lab_from_color, first)[ra]
                                     + np.asarray(ankle_guess_lab))
        xy[ra] = D435_COLOR_640x480.project(first[ra][None])[0]
    L = {(f"{s}_{a}", f"{s}_{b}"): float(np.linalg.norm(truth_cam[JOINT_INDEX[f"{s}_{a}"]]
                                                         - truth_cam[JOINT_INDEX[f"{s}_{b}"]]))
         for s in ("left", "right") for a, b in (("hip", "knee"), ("knee", "ankle"))}
    return truth_lab, first, xy, np.ones(len(first)), cam, r, L, axis


def test_a_leg_with_a_hidden_shank_still_gets_its_thigh_refined():
    """RefineSettings.thigh_alone: a single-leg squat's free leg, standing on the other: its shank
    points backwards behind its own thigh and MediaPipe guesses the hidden ankle (on the bench,
    sl_f seed 1 at 1.5 s: 17 cm lateral, 22 cm off in depth), so the shank finds fewer than
    min_points depth points and the whole leg used to keep the first fit's joints - its hip 1-3
    cm towards the camera (lifted landmark depth), which turned the pelvis, hence the trial's
    frontal plane, by ~5 deg. The thigh is in full view: refined alone it puts the hip back."""
    truth_lab, first, xy, vis, cam, r, L, _ = _single_leg_squat_frame(1.5, 0.025, [-0.17, 0.22, -0.08])
    assert np.degrees(angles.knee_flexion(truth_lab, "right")) > 60     # the free leg is lifted
    depth = r.depth(truth_lab, 0)
    rh = JOINT_INDEX["right_hip"]
    err = {}
    for alone in (False, True):
        out, n_pts = refine_legs(first[None], xy[None], vis[None], [depth], [0.0], [0.0], cam, L, 1.75,
                                 RefineSettings(thigh_alone=alone))
        lab = transform_points(cam.T_lab_from_color, out[0])
        err[alone] = (100 * np.linalg.norm(lab[rh] - truth_lab[rh]), int(n_pts[0, 1]))
    print("free leg's hip error cm (points used): without %.1f (%d), with the thigh alone %.1f (%d)"
          % (*err[False], *err[True]))
    assert err[False][1] == 0 and err[False][0] > 2.0        # not refined: the first fit's hip
    assert err[True][1] > 0 and err[True][0] < 1.0


def test_the_first_leg_is_refined_again_with_the_other_leg_refined():
    """RefineSettings.first_leg_again: the left leg is refined first, while the right leg is still
    at the first fit's joints; at a single-leg squat's bottom the free (right) shank passes close
    behind the stance shank, and a free leg 3 cm off in depth competed for the wrong points: the
    stance leg's FPPA read varus (bench, sl_f seed 1: -3..-5 deg at the bottom with the true
    frontal plane; refined again from the same frame: about half). Here: RMS FPPA error of the
    stance leg over 6 depth-noise realisations of the bottom frame, stance leg started at the
    truth, free leg 3 cm towards the camera."""
    truth_lab, first, xy, vis, cam, r, L, axis = _single_leg_squat_frame(3.0, 0.03)
    err = {False: [], True: []}
    for k in range(6):
        depth = r.depth(truth_lab, k)
        for again in (False, True):
            out, _ = refine_legs(first[None], xy[None], vis[None], [depth], [0.0], [0.0], cam, L, 1.75,
                                 RefineSettings(first_leg_again=again))
            lab = transform_points(cam.T_lab_from_color, out[0])
            err[again].append(float(np.degrees(angles.knee_fppa(lab, "left", axis)
                                               - angles.knee_fppa(truth_lab, "left", axis))))
    rms = {k: float(np.sqrt(np.mean(np.square(v)))) for k, v in err.items()}
    print("stance leg FPPA errors without", np.round(err[False], 1), "with", np.round(err[True], 1),
          "RMS %.2f -> %.2f" % (rms[False], rms[True]))
    assert rms[False] > 2.0
    assert rms[True] < 0.7 * rms[False]


def test_the_first_leg_is_not_refined_again_when_the_legs_are_apart():
    """RefineSettings.first_leg_again runs only when the other leg's refinement changed the owner
    of any of the first leg's shank points: with the legs apart (a front squat) the result is the
    one pass's, bit for bit - an ungated second pass re-fitted the inner-thigh points in every
    frame and moved the front drop jump's foot registration at contact (DF -0.5 -> -6.2 deg)."""
    from drivers.athlete.render import Renderer
    from drivers.athlete.render_pose import simple_pose_lab
    truth_lab = simple_pose_lab(squat=0.8)
    r = Renderer(standard_camera_pose("front"), seed=3)
    depth = r.depth(truth_lab, 0)
    cam = CameraSetup(D435_DEPTH_848x480, D435_COLOR_640x480, T_COLOR_FROM_DEPTH_D435, 0.001,
                      r.T_lab_from_depth)
    truth_cam = transform_points(invert_pose(cam.T_lab_from_color), truth_lab)
    first = truth_cam.copy()
    legs = [JOINT_INDEX[f"{s}_{n}"] for s in ("left", "right") for n in ("hip", "knee", "ankle")]
    first[legs] += np.random.default_rng(0).normal(0, 0.03, (len(legs), 3))
    xy = D435_COLOR_640x480.project(first)
    vis = np.ones(len(first))
    L = {(f"{s}_{a}", f"{s}_{b}"): float(np.linalg.norm(truth_cam[JOINT_INDEX[f"{s}_{a}"]]
                                                         - truth_cam[JOINT_INDEX[f"{s}_{b}"]]))
         for s in ("left", "right") for a, b in (("hip", "knee"), ("knee", "ankle"))}
    out = [refine_legs(first[None], xy[None], vis[None], [depth], [0.0], [0.0], cam, L, 1.75,
                       RefineSettings(first_leg_again=again))[0] for again in (False, True)]
    assert np.array_equal(out[0], out[1])

"""Depth->color alignment and lifting landmarks to joint centres, on depth rendered by the
virtual camera's renderer (simple standing / squatting poses)."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.joints import JOINT_INDEX, JOINT_NAMES
from analysis.skeleton.align import align_depth_to_color
from analysis.skeleton.lift import (LiftSettings, fill_short_gaps, sample_surface_depths,
                                    surface_offsets_m, surface_to_centre)
from drivers.camera_model import (D435_COLOR_640x480, D435_DEPTH_848x480, T_COLOR_FROM_DEPTH_D435,
                                  invert_pose, transform_points)

DI, CI, T_CD = D435_DEPTH_848x480, D435_COLOR_640x480, T_COLOR_FROM_DEPTH_D435


def test_alignment_of_a_tilted_plane_matches_the_geometry():
    # plane n.p = d in the depth frame; every aligned color pixel must lie on it (in the color frame)
    n = np.array([0.3, -0.2, 1.0]); n /= np.linalg.norm(n); d = 2.2
    v, u = np.mgrid[0:DI.height, 0:DI.width].astype(float)
    rays = np.stack([(u - DI.ppx) / DI.fx, (v - DI.ppy) / DI.fy, np.ones_like(u)], -1)
    z = d / (rays @ n)
    raw = np.round(z * 1000).astype(np.uint16)
    out = align_depth_to_color(raw, 0.001, DI, CI, T_CD)
    vc, uc = np.nonzero(out)
    p_color = CI.deproject(np.stack([uc, vc], -1).astype(float), out[vc, uc])
    p_depth = transform_points(invert_pose(T_CD), p_color)
    resid = p_depth @ n - d
    assert np.abs(resid).max() < 0.006            # 1 mm quantisation + splat footprint on the slope
    assert (out[40:440, 40:600] > 0).mean() > 0.99  # no holes inside the image
    # ROI version is identical inside its box
    box = (100, 300, 200, 400)
    roi = align_depth_to_color(raw, 0.001, DI, CI, T_CD, color_box=box)
    assert np.array_equal(roi[100:300, 200:400], out[100:300, 200:400])
    assert not roi[:100].any()


def test_alignment_keeps_the_nearer_surface():
    raw = np.full((DI.height, DI.width), 3000, np.uint16)
    raw[200:280, 380:460] = 1500                       # a box in front of a wall
    out = align_depth_to_color(raw, 0.001, DI, CI, T_CD)
    centre = CI.project(transform_points(T_CD, DI.deproject(np.array([420.0, 240.0]), 1.5)))
    assert out[int(round(centre[1])), int(round(centre[0]))] == pytest.approx(1.5, abs=1e-3)


@pytest.fixture(scope="module")
def scene():
    from drivers.athlete.render import Renderer
    from drivers.athlete.render_pose import simple_pose_lab
    from drivers.camera_model import standard_camera_pose
    r = Renderer(standard_camera_pose("front"))
    joints = simple_pose_lab(squat=0.3)
    depth = r.depth(joints, 0)
    T_color_from_lab = invert_pose(r.T_lab_from_color)
    j_cam = transform_points(T_color_from_lab, joints)
    xy = CI.project(j_cam)
    aligned = align_depth_to_color(depth, 0.001, DI, CI, T_CD)
    return {"depth": depth, "aligned": aligned, "xy": xy, "j_cam": j_cam}


def test_lifted_leg_joints_land_near_the_true_centres(scene):
    s = LiftSettings()
    z, reason = sample_surface_depths(scene["aligned"], scene["xy"], np.ones(len(JOINT_NAMES)), s, CI.fx)
    centres = surface_to_centre(scene["xy"], z, CI, surface_offsets_m(s.stature_m))
    for side in ("left", "right"):
        for j in ("hip", "knee", "ankle", "toe"):
            i = JOINT_INDEX[f"{side}_{j}"]
            assert reason[i] == 0
            err = np.linalg.norm(centres[i] - scene["j_cam"][i])
            assert err < 0.06, (side, j, err)       # depth noise ~15 mm at 2.5 m + body shape
        assert reason[JOINT_INDEX[f"{side}_heel"]] == 5 and np.isnan(z[JOINT_INDEX[f"{side}_heel"]])


def test_holes_background_and_occlusion_give_reasons_not_numbers(scene):
    s = LiftSettings()
    vis = np.ones(len(JOINT_NAMES))
    xy = scene["xy"].copy()
    aligned = scene["aligned"].copy()
    k = JOINT_INDEX["left_knee"]
    u, v = np.round(xy[k]).astype(int)
    aligned[v - 6:v + 7, u - 6:u + 7] = 0.0              # a hole at the left knee
    a = JOINT_INDEX["right_ankle"]
    xy[a] = (20.0, 20.0)                                 # the right ankle "detected" on the wall
    h = JOINT_INDEX["left_hip"]
    vis[h] = 0.1                                         # not visible
    z, reason = sample_surface_depths(aligned, xy, vis, s, CI.fx)
    assert reason[k] == 3 and np.isnan(z[k])
    assert reason[a] == 3 and np.isnan(z[a])
    assert reason[h] == 1 and np.isnan(z[h])


def test_a_knee_hidden_behind_the_nearer_leg_is_occluded_not_measured():
    """Camera at 45 deg to the athlete's right: the right leg is nearer. A left knee detected
    where the right knee is (on the right leg's image) gets reason 4, no depth; the right knee
    itself keeps its depth."""
    from drivers.athlete.render import Renderer
    from drivers.athlete.render_pose import simple_pose_lab
    from drivers.camera_model import standard_camera_pose
    r = Renderer(standard_camera_pose("45"))
    joints = simple_pose_lab(squat=0.3)
    j_cam = transform_points(invert_pose(r.T_lab_from_color), joints)
    xy = CI.project(j_cam)
    aligned = align_depth_to_color(r.depth(joints, 0), 0.001, DI, CI, T_CD)
    k, rk = JOINT_INDEX["left_knee"], JOINT_INDEX["right_knee"]
    xy[k] = xy[rk] + (3.0, 0.0)
    z, reason = sample_surface_depths(aligned, xy, np.ones(len(JOINT_NAMES)), LiftSettings(), CI.fx)
    assert reason[k] == 4 and np.isnan(z[k])
    assert reason[rk] == 0 and abs(z[rk] - j_cam[rk, 2]) < 0.1


def test_short_gaps_are_filled_and_flagged_long_gaps_stay_missing():
    T = 20
    pts = np.zeros((T, 2, 3))
    pts[:, :, 0] = np.arange(T)[:, None]
    valid = np.ones((T, 2), bool)
    valid[5:7, 0] = False           # 2-frame gap
    valid[10:16, 1] = False         # 6-frame gap
    out, filled = fill_short_gaps(pts, valid, max_gap_frames=3)
    assert filled[5:7, 0].all() and np.allclose(out[5:7, 0, 0], [5, 6])
    assert not filled[10:16, 1].any() and np.isnan(out[10:16, 1]).all()
    assert not filled[valid].any()

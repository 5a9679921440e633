"""Color rendering: the athlete appears where his joints project, with the intended colours;
the color camera sits at T_lab_from_depth @ inv(T_color_from_depth); painters on the plate are
hidden by the feet."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.joints import JOINT_INDEX
from drivers.athlete.render import Renderer
from drivers.athlete.render_body import SHIRT, SHORTS, SKIN
from drivers.athlete.render_pose import simple_pose_lab
from drivers.athlete.scene import AMBIENT, DIFFUSE, Scene
from drivers.camera_model import T_COLOR_FROM_DEPTH_D435, invert_pose, standard_camera_pose


@pytest.fixture(scope="module", params=["front", "45"])
def setup(request):
    r = Renderer(standard_camera_pose(request.param), seed=1)
    pose = simple_pose_lab(squat=0.3)
    return r, pose, r.color(pose)


def _is_colour(rgb, albedo):
    """rgb (uint8) is the albedo under some Lambert shade in [AMBIENT, AMBIENT + DIFFUSE]."""
    shade = (rgb.astype(float) / 255) / albedo
    return shade.max() - shade.min() < 0.06 and AMBIENT - 0.03 < shade.mean() < AMBIENT + DIFFUSE + 0.03


def test_athlete_appears_where_joints_project(setup):
    r, pose, img = setup
    _, bg = r.background("color")
    view = r.color_view
    uv = np.rint(view.intr.project(view.to_camera(pose))).astype(int)
    for name in ("head", "left_knee", "right_knee", "left_hip", "right_hip", "neck",
                 "left_elbow", "right_wrist"):
        u, v = uv[JOINT_INDEX[name]]
        assert 0 <= u < view.W and 0 <= v < view.H
        assert np.any(img[v, u] != bg[v, u]), name
    # the knee (bare skin) and a point between the hips (shorts), the chest (shirt)
    def at(p_lab):
        u, v = np.rint(view.intr.project(view.to_camera(p_lab))).astype(int)
        return img[v, u]
    lk = pose[JOINT_INDEX["left_knee"]]
    assert _is_colour(at(lk), SKIN)
    mid_hip = (pose[JOINT_INDEX["left_hip"]] + pose[JOINT_INDEX["right_hip"]]) / 2
    assert _is_colour(at(mid_hip), SHORTS)
    chest = mid_hip + 0.6 * (pose[JOINT_INDEX["neck"]] - mid_hip)
    assert _is_colour(at(chest), SHIRT)
    # away from the athlete the image is the cached background
    box_u = uv[:, 0].min() - 40, uv[:, 0].max() + 40
    assert np.array_equal(img[:, : max(box_u[0], 0)], bg[:, : max(box_u[0], 0)])


def test_color_camera_pose_from_depth_pose():
    T_lab_from_depth = standard_camera_pose("front")
    r = Renderer(T_lab_from_depth)
    # the color camera's centre is the depth frame's point inv(T_color_from_depth) @ 0
    c_depth = invert_pose(T_COLOR_FROM_DEPTH_D435)[:3, 3]
    expected_lab = T_lab_from_depth[:3, :3] @ c_depth + T_lab_from_depth[:3, 3]
    assert np.allclose(r.color_view.T_lab_from_camera[:3, 3], expected_lab)
    # a lab point maps to the same colour-camera point both ways
    p_lab = np.array([0.1, 0.2, 0.5])
    p_depth = r.depth_view.to_camera(p_lab)
    p_color = T_COLOR_FROM_DEPTH_D435[:3, :3] @ p_depth + T_COLOR_FROM_DEPTH_D435[:3, 3]
    assert np.allclose(r.color_view.to_camera(p_lab), p_color)


def test_painter_on_plate_is_hidden_by_feet():
    red = np.array([255, 0, 0], dtype=np.uint8)

    def paint_plate_red(img, view, plate_top):
        img = img.copy()
        img[plate_top] = red
        return img

    r = Renderer(standard_camera_pose("front"), scene=Scene(painters=(paint_plate_red,)))
    pose = simple_pose_lab()
    img = r.color(pose)
    view = r.color_view
    proj = lambda p: tuple(np.rint(view.intr.project(view.to_camera(p))).astype(int))
    u, v = proj(np.array([0.25, 0.15, 0.0]))                 # free plate top
    assert np.array_equal(img[v, u], red)
    toe = pose[JOINT_INDEX["right_toe"]]
    heel = pose[JOINT_INDEX["right_heel"]]
    u, v = proj((toe + heel) / 2 + np.array([0, 0, 0.03]))   # on the shoe
    assert not np.array_equal(img[v, u], red)
    u, v = proj(np.array([0.25, 0.15, 0.3]))                 # above the plate: not painted
    assert not np.array_equal(img[v, u], red)

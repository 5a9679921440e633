"""analysis/angles.py against paper-and-pencil trigonometry on hand-built poses."""
import numpy as np
import pytest

from analysis import angles
from analysis.joints import JOINT_INDEX, JOINT_NAMES


def _pose(points: dict) -> np.ndarray:
    j = np.zeros((len(JOINT_NAMES), 3))
    for name, p in points.items():
        j[JOINT_INDEX[name]] = p
    return j


def _legs(right: dict) -> dict:
    """Both legs from the right leg's points, mirrored in x; neck and head upright above."""
    pts = {"neck": (0.0, 0.0, 1.4), "head": (0.0, 0.0, 1.55)}
    for name, p in right.items():
        pts[f"right_{name}"] = p
        pts[f"left_{name}"] = (-p[0], p[1], p[2])
    return pts


# Sagittal pose: thigh (0, .3, -.4), shank (0, -.3, -.4), both 0.5 m, foot along +y.
SAGITTAL = _legs({"hip": (0.1, 0.0, 0.9), "knee": (0.1, 0.3, 0.5), "ankle": (0.1, 0.0, 0.1),
                  "heel": (0.1, -0.05, 0.03), "toe": (0.1, 0.2, 0.03)})
# Frontal pose: knee 5 cm medial of the straight hip-ankle line, 0.4 m above and below it.
FRONTAL = _legs({"hip": (0.1, 0.0, 0.9), "knee": (0.05, 0.0, 0.5), "ankle": (0.1, 0.0, 0.1),
                 "heel": (0.1, -0.05, 0.03), "toe": (0.1, 0.2, 0.03)})


def _turned(points: dict, yaw: float, shift=(0.3, -0.2, 0.0)) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    return _pose(points) @ R.T + np.asarray(shift)


@pytest.mark.parametrize("yaw", [0.0, 0.7, np.pi / 2, -2.5])
def test_sagittal_pose_angles_by_hand(yaw):
    j = _turned(SAGITTAL, yaw)
    for side in ("left", "right"):
        # cos(flexion) = (thigh . shank)/(0.5*0.5) = (-0.09 + 0.16)/0.25 = 0.28
        assert np.degrees(angles.knee_flexion(j, side)) == pytest.approx(np.degrees(np.arccos(0.28)), abs=1e-9)
        # shank ankle->knee (0, .3, .4): atan(0.3/0.4) = 36.87 deg forward
        assert np.degrees(angles.shank_inclination(j, side)) == pytest.approx(36.8699, abs=1e-3)
        # knee->ankle (0,-.6,-.8) vs foot (0,1,0): cos = -0.6 -> 126.87 deg; 90 deg static -> 36.87
        assert np.degrees(angles.ankle_shank_foot_angle(j, side)) == pytest.approx(126.8699, abs=1e-3)
        assert np.degrees(angles.ankle_dorsiflexion(j, side, np.pi / 2)) == pytest.approx(36.8699, abs=1e-3)
        # trunk upright, thigh 36.87 deg ahead of the downward vertical
        assert np.degrees(angles.hip_flexion(j, side)) == pytest.approx(36.8699, abs=1e-3)
        assert np.degrees(angles.knee_fppa(j, side)) == pytest.approx(0.0, abs=1e-9)
    assert np.degrees(angles.trunk_lean(j)) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("yaw", [0.0, 0.7, np.pi / 2, -2.5])
def test_frontal_valgus_pose_by_hand(yaw):
    j = _turned(FRONTAL, yaw)
    expected = np.degrees(2 * np.arctan(0.05 / 0.4))          # 14.25 deg
    for side in ("left", "right"):
        assert np.degrees(angles.knee_fppa(j, side)) == pytest.approx(expected, abs=1e-9)
        # pure frontal-plane bend: the JCS abduction equals the projected angle
        assert np.degrees(angles.knee_abduction_3d(j, side)) == pytest.approx(expected, abs=1e-9)
        assert angles.medial_knee_displacement(j, side) == pytest.approx(0.05, abs=1e-12)
        assert np.degrees(angles.knee_flexion(j, side)) == pytest.approx(expected, abs=1e-9)
    # knees 0.10 m apart, ankles 0.20 m apart
    assert angles.knee_to_ankle_separation_ratio(j) == pytest.approx(0.5, abs=1e-12)


def test_varus_is_negative_and_time_axis_works():
    varus = dict(FRONTAL)
    varus["right_knee"] = (0.15, 0.0, 0.5)
    varus["left_knee"] = (-0.15, 0.0, 0.5)
    j = np.stack([_pose(FRONTAL), _pose(varus)])           # (T=2, J, 3)
    f = np.degrees(angles.knee_fppa(j, "right"))
    assert f.shape == (2,)
    assert f[0] > 14 and f[1] == pytest.approx(-f[0], abs=1e-9)
    assert angles.medial_knee_displacement(j, "left")[1] == pytest.approx(-0.05, abs=1e-12)


def test_trunk_lean_forward_positive():
    pts = dict(SAGITTAL)
    pts["neck"] = (0.0, 0.5 * np.sin(0.3), 0.9 + 0.5 * np.cos(0.3))   # trunk 0.3 rad forward
    j = _pose(pts)
    assert angles.trunk_lean(j) == pytest.approx(0.3, abs=1e-12)
    assert angles.hip_flexion(j, "left") == pytest.approx(0.3 + np.arctan2(0.3, 0.4), abs=1e-12)


# Deep-squat pose, knee 5 cm medial of the hip-ankle line in x and 0.3 m ahead: the thigh points
# forward, (hip->knee) = (-0.05, 0.3, -0.4) for the right leg.
DEEP = _legs({"hip": (0.1, 0.0, 0.9), "knee": (0.05, 0.3, 0.5), "ankle": (0.1, 0.0, 0.1),
              "heel": (0.1, -0.05, 0.03), "toe": (0.1, 0.2, 0.03)})


@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.5])
def test_fppa_in_the_trials_constant_frontal_plane_by_hand(yaw):
    # frontal plane = span(x, z) turned by yaw: the projections drop the 0.3 m forward part, so
    # thigh (-0.05, -0.4) and shank (0.05, -0.4) in the plane: 2 atan(0.05/0.4) = 14.25 deg
    right_axis = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    expected = np.degrees(2 * np.arctan(0.05 / 0.4))
    pts = dict(DEEP)
    # turn the pelvis by 10 deg in this frame (right hip 1.76 cm forward, left back): the trial's
    # plane does not follow it
    d = 0.1 * np.tan(np.radians(10.0))
    pts["right_hip"] = (0.1, d, 0.9)
    pts["left_hip"] = (-0.1, -d, 0.9)
    j = _turned(pts, yaw)
    for side in ("left", "right"):
        assert np.degrees(angles.knee_fppa(j, side, right_axis)) == pytest.approx(expected, abs=1e-9)
        assert angles.medial_knee_displacement(j, side, right_axis) == pytest.approx(0.05, abs=1e-12)
    assert angles.knee_to_ankle_separation_ratio(j, right_axis) == pytest.approx(0.5, abs=1e-12)
    # the per-frame pelvis plane is turned 10 deg, right axis r = (cos10, sin10): right thigh
    # (-0.05, 0.3 - d, -0.4) -> (-0.05 cos10 + (0.3 - d) sin10, -0.4), shank (0.05, -0.3, -0.4)
    # -> (0.05 cos10 - 0.3 sin10, -0.4): a different angle
    c, s = np.cos(np.radians(10)), np.sin(np.radians(10))
    th, sh = np.array([-0.05 * c + (0.3 - d) * s, -0.4]), np.array([0.05 * c - 0.3 * s, -0.4])
    per_frame = np.degrees(np.arctan2(th[0] * sh[1] - th[1] * sh[0], th @ sh))
    assert np.degrees(angles.knee_fppa(j, "right")) == pytest.approx(per_frame, abs=1e-9)
    assert abs(per_frame - expected) > 5.0


@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.5])
def test_stance_right_axis_from_the_upright_frames(yaw):
    stand = _legs({"hip": (0.1, 0.0, 0.9), "knee": (0.1, 0.0, 0.5), "ankle": (0.1, 0.0, 0.1),
                   "heel": (0.1, -0.05, 0.03), "toe": (0.1, 0.2, 0.03)})
    twisted = dict(DEEP)                      # knee flexed ~74 deg: not a stance frame
    twisted["right_hip"], twisted["left_hip"] = (0.1, 0.08, 0.9), (-0.1, -0.08, 0.9)
    j = np.stack([_turned(stance, yaw) for stance in (stand, stand, stand)]
                 + [_turned(twisted, yaw)] * 5)
    axis = angles.stance_right_axis(j)
    assert axis == pytest.approx([np.cos(yaw), np.sin(yaw), 0.0], abs=1e-12)


@pytest.mark.parametrize("yaw", [0.0, 0.7])
def test_stance_right_axis_from_hips_and_knees_not_the_feet_placement(yaw):
    # the right foot 8 cm ahead of the left (ankles' line turned ~21 deg), hips and knees square:
    # the frontal plane is the body's, not the feet's
    stand = _legs({"hip": (0.1, 0.0, 0.9), "knee": (0.1, 0.0, 0.5), "ankle": (0.1, 0.0, 0.1),
                   "heel": (0.1, -0.05, 0.03), "toe": (0.1, 0.2, 0.03)})
    stand["right_ankle"] = (0.1, 0.08, 0.1)
    j = np.stack([_turned(stand, yaw)] * 4)
    axis = angles.stance_right_axis(j, feet_down_required=True)
    assert axis == pytest.approx([np.cos(yaw), np.sin(yaw), 0.0], abs=1e-12)


def test_stance_right_axis_without_both_feet_down():
    # a single-leg stance: the free (left) foot 30 cm up, its knee forward
    one_leg = _legs({"hip": (0.1, 0.0, 0.9), "knee": (0.1, 0.0, 0.5), "ankle": (0.1, 0.0, 0.1),
                     "heel": (0.1, -0.05, 0.03), "toe": (0.1, 0.2, 0.03)})
    one_leg["left_knee"], one_leg["left_ankle"] = (-0.1, 0.25, 0.75), (-0.1, 0.25, 0.4)
    j = np.stack([_turned(one_leg, 0.0)] * 4)
    with pytest.raises(ValueError, match="both feet down"):
        angles.stance_right_axis(j, feet_down_required=True)
    assert angles.stance_right_axis(j) == pytest.approx([1.0, 0.0, 0.0], abs=1e-12)   # the pelvis

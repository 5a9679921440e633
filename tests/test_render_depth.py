"""Depth rendering of the virtual athlete: geometry against independent computations, the
noise model, and reproducibility."""
from __future__ import annotations

import numpy as np
import pytest

from drivers.athlete.render import Renderer, render_depth
from drivers.athlete.render_body import body_primitives
from drivers.athlete.render_noise import DepthNoise
from drivers.athlete.render_pose import simple_pose_lab
from drivers.camera_model import D435_DEPTH_848x480, standard_camera_pose


@pytest.fixture(scope="module")
def front():
    return Renderer(standard_camera_pose("front", distance_m=2.5), seed=7)


@pytest.fixture(scope="module")
def pose():
    return simple_pose_lab(squat=0.4)


def _pixel_ray_lab(view, u, v):
    R, c = view.T_lab_from_camera[:3, :3], view.T_lab_from_camera[:3, 3]
    d = R @ np.array([(u - view.intr.ppx) / view.intr.fx, (v - view.intr.ppy) / view.intr.fy, 1.0])
    return c, d


def _inside_any(prims, pts):
    """Inside test (camera frame points (N, 3)) for the union of the primitives: distance to the
    capsule segment <= r, or |M (p - c)| <= 1 for an ellipsoid (no ray algebra)."""
    inside = np.zeros(len(pts), dtype=bool)
    for p in prims:
        if p.kind == "capsule":
            ba = p.b - p.a
            s = np.clip((pts - p.a) @ ba / (ba @ ba), 0, 1)
            inside |= np.linalg.norm(pts - p.a - s[:, None] * ba, axis=1) <= p.r
        else:
            inside |= np.linalg.norm((pts - p.c) @ p.M.T, axis=1) <= 1.0
    return inside


def test_noise_free_depth_on_athlete_matches_marched_surface(front, pose):
    view = front.depth_view
    z = front.depth_truth_m(pose)
    bg, _ = front.background("depth")
    v, u = np.nonzero((z > 0) & (z < bg - 1e-6))           # pixels where the athlete is in front
    assert len(u) > 5000                                   # he is in the image, and large
    pick = np.linspace(0, len(u) - 1, 40).astype(int)
    prims = body_primitives(view.to_camera(pose), front.shape)
    z16 = front.depth(pose, noisy=False)
    for i in pick:
        rd = np.array([view.xn[u[i]], view.yn[v[i]], 1.0])
        ts = np.arange(1.0, 4.0, 0.0005)                      # march in 0.5 mm steps of depth
        inside = _inside_any(prims, ts[:, None] * rd)
        k = int(np.argmax(inside))
        assert inside[k]
        lo, hi = ts[k - 1], ts[k]
        for _ in range(30):                                 # bisection to the surface
            mid = (lo + hi) / 2
            if _inside_any(prims, (mid * rd)[None])[0]:
                hi = mid
            else:
                lo = mid
        assert abs(z[v[i], u[i]] - hi) < 1e-5
        assert z16[v[i], u[i]] == int(np.rint(hi * 1000))


def test_plate_top_pixel_gives_plate_distance(front, pose):
    view = front.depth_view
    target_lab = np.array([0.25, 0.15, 0.0])                # plate top, beside the right foot
    u, v = np.rint(view.intr.project(view.to_camera(target_lab))).astype(int)
    c, d = _pixel_ray_lab(view, u, v)
    expected = -c[2] / d[2]                                  # ray meets z = 0; depth = t (d_z cam = 1)
    hit = c + expected * d
    assert abs(hit[0]) < 0.3 and abs(hit[1]) < 0.2           # still on the plate top
    assert abs(front.depth_truth_m(pose)[v, u] - expected) < 1e-9
    assert front.depth(pose, noisy=False)[v, u] == int(np.rint(expected * 1000))


def test_noisy_depth_follows_noise_model(front, pose):
    truth = front.depth_truth_m(pose)
    noisy = front.depth(pose, frame_index=3).astype(float) / 1000
    valid = (noisy > 0) & (truth > 0)
    bg, _ = front.background("depth")
    athlete = valid & (truth < bg - 1e-6)
    sigma = DepthNoise().sigma_m(truth, D435_DEPTH_848x480.fx)
    for mask in (athlete, valid & ~athlete):
        r = (noisy[mask] - truth[mask])
        assert np.all(np.abs(r) <= 6 * sigma[mask] + 0.0006)      # ~4e5 gaussian samples
        zscore = r / np.sqrt(sigma[mask] ** 2 + 1e-6 / 12)   # gaussian + 1 mm rounding
        assert 0.9 < zscore.std() < 1.1
        assert abs(zscore.mean()) < 0.05


def test_invalid_pixels_left_band_edges_and_dropouts(front, pose):
    noise = DepthNoise()
    fx = front.depth_view.intr.fx
    truth = front.depth_truth_m(pose)
    d = front.depth(pose, frame_index=5)
    # left band: column u < fx * baseline / z is invalid
    u = np.arange(truth.shape[1])[None, :]
    with np.errstate(divide="ignore"):
        band = (truth > 0) & (u < fx * noise.baseline_m / np.where(truth > 0, truth, np.inf))
    assert band.sum() > 100 and np.all(d[band] == 0)
    assert np.all(d[truth == 0] == 0)
    # holes at the athlete's silhouette, rare dropouts inside surfaces
    bg, _ = front.background("depth")
    ath = (truth > 0) & (truth < bg - 1e-6)
    outline = ath & ~(np.roll(ath, 1, 0) & np.roll(ath, -1, 0) & np.roll(ath, 1, 1) & np.roll(ath, -1, 1))
    interior = ath & ~outline
    interior &= np.abs(np.diff(truth, axis=0, prepend=truth[:1])) < 0.02
    interior &= np.abs(np.diff(truth, axis=1, prepend=truth[:, :1])) < 0.02
    holes_outline = (d[outline] == 0).mean()
    holes_interior = (d[interior] == 0).mean()
    assert 0.2 < holes_outline < 0.5                 # edge_hole_fraction = 0.35
    assert holes_interior < 0.01                     # dropout_fraction = 0.002


def test_same_seed_same_images_in_any_order(pose):
    T = standard_camera_pose("45")
    a, b, c = (Renderer(T, seed=s, noise_pool=3) for s in (3, 3, 4))
    a1, a2 = a.depth(pose, 1), a.depth(pose, 2)
    b2, b1 = b.depth(pose, 2), b.depth(pose, 1)
    assert np.array_equal(a1, b1) and np.array_equal(a2, b2)
    assert not np.array_equal(a1, a2)
    assert not np.array_equal(a1, c.depth(pose, 1))
    assert np.array_equal(a.color(pose, 0), b.color(pose, 0))


def test_render_depth_function_matches_renderer(pose):
    T = standard_camera_pose("front", distance_m=3.0)
    r = Renderer(T, seed=0)
    z16 = render_depth(pose, None, D435_DEPTH_848x480, T, rng=None)
    assert np.array_equal(z16, r.depth(pose, noisy=False))
    noisy = render_depth(pose, None, D435_DEPTH_848x480, T, rng=np.random.default_rng(1))
    both = (noisy > 0) & (z16 > 0)
    assert both.sum() > 0.9 * (z16 > 0).sum()
    sigma_mm = DepthNoise().sigma_m(z16[both] / 1000, D435_DEPTH_848x480.fx) * 1000
    zscore = (noisy[both].astype(float) - z16[both]) / np.sqrt(sigma_mm ** 2 + 2 / 12)
    assert 0.9 < zscore.std() < 1.1


def test_rendered_radii_are_the_body_models():
    from drivers.athlete.body import Body
    from drivers.athlete.render_body import BodyShape
    body = Body(1.92, 95.0, "male")
    seg = {s.name: s.radius_m for s in body.segments}
    r = Renderer(standard_camera_pose("front"), shape=body)
    assert r.shape == BodyShape.from_body(body)
    assert (r.shape.thigh_r, r.shape.shank_r, r.shape.foot_r) == (seg["left_thigh"], seg["left_shank"],
                                                                  seg["left_foot"])
    # the shank seen side-on from the front: the pixel of the mid-shank axis point sees the surface
    # one radius in front of it (the camera is level with the shank within a few degrees)
    pose = simple_pose_lab(body)
    view = r.depth_view
    from analysis.joints import JOINT_INDEX as JI
    mid = (pose[JI["right_knee"]] + pose[JI["right_ankle"]]) / 2
    u, v = np.rint(view.intr.project(view.to_camera(mid))).astype(int)
    ray = np.array([view.xn[u], view.yn[v], 1.0])
    p = view.to_camera(mid)
    axis = view.dir_to_camera(pose[JI["right_knee"]] - pose[JI["right_ankle"]])
    axis /= np.linalg.norm(axis)
    # exact: solve |(t ray - p) x axis| = r for the near root
    w = np.cross(ray, axis)
    q = np.cross(p, axis)
    a, b, c = w @ w, -2 * (w @ q), q @ q - seg["right_shank"] ** 2
    t = (-b - np.sqrt(b * b - 4 * a * c)) / (2 * a)
    assert abs(r.depth_truth_m(pose)[v, u] - t) < 1e-9

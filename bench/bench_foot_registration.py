"""Foot registration (analysis/skeleton/foot.py) in one depth frame: how far the registered
foot's pitch is off, and how much of that the depth noise of the static template and of the
frame each make. A quick loop for work on the landing's dorsiflexion at initial contact, which
is read from one depth frame (docs/SKELETON.md); bench_skeleton.py --accuracy is the whole chain.

Set-up: the renderer's standing pose (drivers/athlete/render_pose.simple_pose_lab) is the static
trial (`--static-frames` depth frames, one template per static draw, the pipeline's
build_foot_template); the landing-like pose is the same body 8 cm up (`--toes-on-plate`: lowered
until the toes touch the plate) with both feet pitched toe-down by 15 and by 30 deg, the shank
unchanged; each of its `--frames` depth frames is
registered from a start 5 deg further toe-down (register_feet, one frame at a time, as at a
landing's last depth frame). Camera: the station's D435 at `--distance-m` (default 2.5 m), facing the
athlete and at 45 deg; `--draws` renderer seeds (static noise draws) per view and pitch.
Error = registered minus true shank-foot angle (analysis.angles.ankle_shank_foot_angle), deg.

The same frames run four times: both noisy (what the station sees), the static template
noise-free, the frame noise-free, and both noise-free (the method's own floor): the peers are
measured in the same run. Printed per run: RMS, mean, frames over 3 deg, and the RMS of the
per-(view, pitch, draw) means (the part that 6 frames' averaging would not remove).

    .venv/bin/python bench/bench_foot_registration.py [--static-frames 30] [--frames 6] [--draws 3]
                                                      [--toes-on-plate] [--bound]
                                                      [--distance-m 2.5]

`--bound`: instead of registering, the Cramer-Rao bound of one depth frame's foot pitch under the
renderer's own noise model (drivers/athlete/render_noise.py: independent gaussian depth, RMS
z^2 * subpixel / (fx * baseline)), with the foot's 6 pose parameters unknown - the least RMS any
unbiased estimator from that frame can reach. Derivatives: the noise-free depth with the foot
(heel and toe about the ankle, translations with the ankle) moved +-0.5 deg / +-2 mm. Two pixel
sets per foot: the whole visible foot (pixels whose depth the foot's turning moves, occlusion
edges left out), and the part of it the static template covers (a template built from noise-free
static frames - the visible surface, not the noisy shell the station builds - its points placed
at the true landing pose, projected into the depth image, 1 px around each). The registration
matches the frame's pixels to the template, so the second is its bound. "Pitch" here: the turn
about the lab's x axis (the athlete faces +y), which is the shank-foot angle's change here.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402

from analysis.angles import ankle_shank_foot_angle  # noqa: E402
from analysis.joints import JOINT_INDEX  # noqa: E402
from analysis.skeleton.foot import (FootSettings, build_foot_template, foot_frame,  # noqa: E402
                                    register_feet)
from analysis.skeleton.reconstruct import CameraSetup  # noqa: E402
from analysis.skeleton.refine import segment_radius_m  # noqa: E402
from drivers.athlete.body import Body  # noqa: E402
from drivers.athlete.render import Renderer  # noqa: E402
from drivers.athlete.render_noise import DepthNoise  # noqa: E402
from drivers.athlete.render_pose import move_foot_lab, pitch_foot_lab, simple_pose_lab  # noqa: E402
from drivers.camera_model import (D435_COLOR_640x480, D435_DEPTH_848x480,  # noqa: E402
                                  T_COLOR_FROM_DEPTH_D435, invert_pose, standard_camera_pose,
                                  transform_points)

SIDES = ("left", "right")
RUNS = (("both noisy (the station)", True, True), ("static template noise-free", False, True),
        ("frame noise-free", True, False), ("both noise-free", False, False))


def _pitched(pose, pitch_deg):
    for side in SIDES:
        pose = pitch_foot_lab(pose, side, pitch_deg)
    return pose


def landing_pose(stand, pitch_deg: float, toes_on_plate: bool):
    """Both feet pitch_deg toe-down, the body 8 cm up (in the air) or lowered until the toes'
    soles touch the plate (the landing's initial contact)."""
    pose = _pitched(stand, pitch_deg)
    if toes_on_plate:
        toe_z = min(pose[JOINT_INDEX[f"{sd}_toe"], 2] for sd in SIDES)
        return pose + np.array([0.0, 0.0, Body().foot_radius_m - toe_z])
    return pose + np.array([0.0, 0.0, 0.08])


def _station_and_template(view: str, seed: int, stand, n_static: int, noisy_static: bool,
                          s: FootSettings, distance_m: float = 2.5,
                          baseline_m: float = DepthNoise.baseline_m):
    """The station's D435 at distance_m from the plate centre (renderer seed `seed`, depth noise
    of a baseline_m stereo baseline) and the static foot template of the standing pose from
    n_static depth frames: (renderer, camera, T_color_from_lab, shank radius, template)."""
    r = Renderer(standard_camera_pose(view, distance_m=distance_m), seed=seed,
                 noise=DepthNoise(baseline_m=baseline_m))
    cam = CameraSetup(D435_DEPTH_848x480, D435_COLOR_640x480, T_COLOR_FROM_DEPTH_D435, 0.001,
                      r.T_lab_from_depth)
    to_cam = invert_pose(cam.T_lab_from_color)
    r_shank = segment_radius_m("shank", 1.75, 75.0)
    times = np.arange(n_static, dtype=float)
    template = build_foot_template(np.repeat(transform_points(to_cam, stand)[None], n_static, 0),
                                  [r.depth(stand, i, noisy=noisy_static) for i in range(n_static)],
                                  times, times, cam, r_shank, s)
    return r, cam, to_cam, r_shank, template


def foot_angle_errors(view: str, pitch_deg: float, draw: int, n_static: int, n_frames: int,
                      noisy_static: bool, noisy_frame: bool, toes_on_plate: bool = False,
                      settings: FootSettings | None = None, distance_m: float = 2.5,
                      baseline_m: float = DepthNoise.baseline_m) -> np.ndarray:
    """(n_frames * 2,) registered minus true shank-foot angle, deg."""
    stand = simple_pose_lab()
    pose = landing_pose(stand, pitch_deg, toes_on_plate)
    start = _pitched(pose, -5.0)
    s = settings or FootSettings()
    r, cam, to_cam, r_shank, template = _station_and_template(view, draw, stand, n_static, noisy_static, s,
                                                              distance_m, baseline_m)
    true = {sd: float(ankle_shank_foot_angle(pose[None], sd)[0]) for sd in SIDES}
    errs = []
    for k in range(n_frames):
        depth = r.depth(pose, 1000 + k, noisy=noisy_frame)
        out, _, _ = register_feet(transform_points(to_cam, start)[None], [depth], [0.0], [0.0],
                                  cam, template, r_shank, s)
        lab = transform_points(cam.T_lab_from_color, out[0])[None]
        errs += [np.degrees(float(ankle_shank_foot_angle(lab, sd)[0]) - true[sd]) for sd in SIDES]
    return np.array(errs)


def pitch_bounds(view: str, pitch_deg: float, toes_on_plate: bool, n_static: int,
                 distance_m: float = 2.5, baseline_m: float = DepthNoise.baseline_m) -> list:
    """Per foot: (pixels whole, CRB whole deg, pixels covered, CRB covered deg) of the pitch."""
    stand = simple_pose_lab()
    pose = landing_pose(stand, pitch_deg, toes_on_plate)
    r, cam, to_cam, _, template = _station_and_template(view, 1, stand, n_static, False, FootSettings(),
                                                        distance_m, baseline_m)
    z0 = r.depth_truth_m(pose)
    sigma = r.noise.sigma_m(z0, cam.depth_intrinsics.fx)
    d_rot, d_t = np.radians(0.5), 0.002
    out = []
    for side in SIDES:
        cols = []
        for axis in np.eye(3):          # turns about the lab's x, y, z, then moves along them
            Rp = Rotation.from_rotvec(axis * d_rot).as_matrix()
            cols.append((r.depth_truth_m(move_foot_lab(pose, side, Rp)),
                         r.depth_truth_m(move_foot_lab(pose, side, Rp.T)), d_rot))
        for axis in np.eye(3):
            cols.append((r.depth_truth_m(move_foot_lab(pose, side, np.eye(3), axis * d_t)),
                         r.depth_truth_m(move_foot_lab(pose, side, np.eye(3), -axis * d_t)), d_t))
        ok = z0 > 0
        for zp, zm, _ in cols:
            ok &= (zp > 0) & (zm > 0) & (np.abs(zp - zm) < 0.02)      # not an occlusion edge
        J = np.stack([np.where(ok, (zp - zm) / (2 * h), 0.0) for zp, zm, h in cols], axis=-1)
        foot = ok & (np.abs(J[..., :3]).sum(axis=-1) > 1e-9)          # the foot's turning moves them
        # the template at the true landing pose, in the depth image
        i = {n: JOINT_INDEX[f"{side}_{n}"] for n in ("ankle", "heel", "toe")}
        P = transform_points(to_cam, pose)
        T_foot = foot_frame(P[i["ankle"]], P[i["heel"]], P[i["toe"]])
        q = transform_points(invert_pose(cam.T_color_from_depth),
                             transform_points(T_foot, template[side]["points_foot_m"]))
        uv = np.rint(cam.depth_intrinsics.project(q)).astype(int)
        covered = np.zeros_like(foot)
        H, W = covered.shape
        for du in (-1, 0, 1):
            for dv in (-1, 0, 1):
                u, v = uv[:, 0] + du, uv[:, 1] + dv
                inside = (u >= 0) & (u < W) & (v >= 0) & (v < H)
                covered[v[inside], u[inside]] = True
        row = []
        for mask in (foot, foot & covered):
            Jm, w = J[mask], 1.0 / sigma[mask] ** 2
            F = (Jm * w[:, None]).T @ Jm
            row += [int(mask.sum()), float(np.degrees(np.sqrt(np.linalg.inv(F)[0, 0])))]
        out.append(tuple(row))
    return out


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of at least 1")
    return n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--static-frames", type=_positive_int, default=30)
    ap.add_argument("--frames", type=_positive_int, default=6)
    ap.add_argument("--draws", type=_positive_int, default=3)
    ap.add_argument("--toes-on-plate", action="store_true",
                    help="the landing pose lowered until the toes touch the plate (else 8 cm up)")
    ap.add_argument("--bound", action="store_true",
                    help="print the Cramer-Rao bound of one frame's pitch (whole foot vs template)")
    ap.add_argument("--distance-m", type=float, default=2.5,
                    help="the camera's distance from the plate centre (STATION.md: 2-3 m; default 2.5)")
    ap.add_argument("--depth-baseline-mm", type=float, default=DepthNoise.baseline_m * 1000.0,
                    help="the depth noise model's stereo baseline (default 50, the D435; 95 a D455's noise)")
    a = ap.parse_args(argv)
    if not 20.0 <= a.depth_baseline_mm <= 200.0:
        ap.error(f"--depth-baseline-mm {a.depth_baseline_mm:g}: give the stereo baseline in mm, 20-200")
    if not 1.0 <= a.distance_m <= 5.0:
        ap.error(f"--distance-m {a.distance_m}: give a distance between 1 and 5 m")
    where = ("toes on the plate" if a.toes_on_plate else "feet 8 cm up") + f"; camera at {a.distance_m:g} m"
    if a.depth_baseline_mm != DepthNoise.baseline_m * 1000.0:
        where += f", depth noise of a {a.depth_baseline_mm:g} mm baseline"
    if a.bound:
        print(f"Cramer-Rao bound of one depth frame's foot pitch (1 sigma, 6 pose parameters unknown; "
              f"{where}; template from {a.static_frames} noise-free static frames)")
        whole, covered = [], []
        for view in ("front", "45"):
            for pitch in (-15.0, -30.0):
                for side, (n_w, b_w, n_c, b_c) in zip(SIDES, pitch_bounds(view, pitch, a.toes_on_plate,
                                                                           a.static_frames, a.distance_m,
                                                                           a.depth_baseline_mm / 1000.0)):
                    whole.append(b_w)
                    covered.append(b_c)
                    print(f"  {view:5s} toe-down {-pitch:2.0f} deg {side:5s}: whole visible foot {n_w:3d} px "
                          f"{b_w:4.2f} deg | covered by the template {n_c:3d} px {b_c:4.2f} deg", flush=True)
        print(f"RMS over the {len(whole)} feet: whole visible foot {np.sqrt(np.mean(np.square(whole))):.2f} deg, "
              f"the template's part {np.sqrt(np.mean(np.square(covered))):.2f} deg")
        return 0
    print(f"foot pitch in one depth frame: 2 views x toe-down 15 / 30 deg ({where}) x {a.draws} "
          f"static draws x {a.frames} frames x 2 feet; template from {a.static_frames} static frames")
    for name, noisy_static, noisy_frame in RUNS:
        t0 = time.perf_counter()
        groups = [foot_angle_errors(view, pitch, draw, a.static_frames, a.frames, noisy_static,
                                    noisy_frame, a.toes_on_plate, distance_m=a.distance_m,
                                    baseline_m=a.depth_baseline_mm / 1000.0)
                  for view in ("front", "45") for pitch in (-15.0, -30.0)
                  for draw in range(1, a.draws + 1)]
        e = np.concatenate(groups)
        means = np.array([g.mean() for g in groups])
        print(f"{name:28s} RMS {np.sqrt(np.mean(e ** 2)):4.2f} deg, mean {e.mean():+5.2f}, "
              f"{int((np.abs(e) > 3).sum())}/{len(e)} frames over 3 deg, RMS of the "
              f"{len(groups)} condition means {np.sqrt(np.mean(means ** 2)):4.2f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

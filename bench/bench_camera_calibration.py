"""Camera -> plate calibration: time and accuracy of each method on the simulated camera.

    .venv/bin/python bench/bench_camera_calibration.py [--frames 90] [--seeds 3]

For the reference set-ups (standard_camera_pose 'front' and '45', 2-3 m; at 2 m aimed at 0.5 m
so the plate is in the color image) and each method (board, boardless), prints per pose: the
solve time (mean over seeds, and as a ratio to the capture time of the frames at 30 fps) and the
errors against the known pose: camera position (mm) and rotation (deg), mean and worst over
seeds, and the worst lab-position error of points in the athlete's volume (|x|,|y| <= 0.5 m,
0 <= z <= 1.8 m) - what the skeleton feels.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibration.boardless import solve_boardless_pose          # noqa: E402
from calibration.camera_pose import solve_board_pose            # noqa: E402
from calibration.camera_wizard import DEFAULT_FRAMES, SimulatedCamera     # noqa: E402
from drivers.camera_model import standard_camera_pose           # noqa: E402
from station.errors import UserError                            # noqa: E402

POSES = [("front", 2.0, 0.5), ("45", 2.0, 0.5), ("front", 2.5, 0.8), ("45", 2.5, 0.8),
         ("front", 3.0, 0.8), ("45", 3.0, 0.8)]
_g = np.linspace(-0.5, 0.5, 5)
VOLUME_LAB = np.stack(np.meshgrid(_g, _g, np.linspace(0.0, 1.8, 7)), -1).reshape(-1, 3)


def errors(T_est, T_true):
    pos_mm = float(np.linalg.norm(T_est[:3, 3] - T_true[:3, 3]) * 1000)
    R = T_est[:3, :3].T @ T_true[:3, :3]
    ang = float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))))
    # a lab point seen by the true camera, mapped back with the estimated pose
    p_cam = (VOLUME_LAB - T_true[:3, 3]) @ T_true[:3, :3]
    mapped = p_cam @ T_est[:3, :3].T + T_est[:3, 3]
    vol_mm = float(np.max(np.linalg.norm(mapped - VOLUME_LAB, axis=1)) * 1000)
    return pos_mm, ang, vol_mm


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=DEFAULT_FRAMES,
                    help=f"frames per calibration (default {DEFAULT_FRAMES}: the wizard's)")
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args(argv)
    capture_s = a.frames / 30.0
    print(f"camera calibration on the simulated D435 scene: {a.frames} frames per calibration "
          f"(capture {capture_s:.2f} s at 30 fps), {a.seeds} noise seeds per pose")
    print(f"{'method':9s} {'view':5s} {'dist':>4s}  {'solve s':>7s} {'x capture':>9s}  "
          f"{'pos mm mean/max':>15s}  {'angle deg mean/max':>18s}  {'volume mm max':>13s}  failures")
    for method, fn in (("board", solve_board_pose), ("boardless", solve_boardless_pose)):
        for view, dist, target in POSES:
            T_true = standard_camera_pose(view, distance_m=dist, target_height_m=target)
            cam = SimulatedCamera(T_true, board=(method == "board"))
            times, errs, fails = [], [], []
            for seed in range(a.seeds):
                cam.rng = np.random.default_rng([seed, 99])
                frames = cam.grab(a.frames)
                t0 = time.perf_counter()
                try:
                    pose = fn(frames)
                except UserError as exc:
                    fails.append(str(exc).split(";")[0])
                    continue
                times.append(time.perf_counter() - t0)
                errs.append(errors(pose.T_lab_from_depth, T_true))
            if errs:
                e = np.array(errs)
                t = float(np.mean(times))
                print(f"{method:9s} {view:5s} {dist:4.1f}  {t:7.2f} {t / capture_s:9.1f}  "
                      f"{e[:, 0].mean():7.1f}/{e[:, 0].max():<7.1f}  {e[:, 1].mean():9.3f}/{e[:, 1].max():<8.3f}  "
                      f"{e[:, 2].max():13.1f}  {len(fails)}" + (f" ({fails[0]})" if fails else ""))
            else:
                print(f"{method:9s} {view:5s} {dist:4.1f}  {'-':>7s} {'-':>9s}  {'-':>15s}  {'-':>18s}  "
                      f"{'-':>13s}  {len(fails)} ({fails[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

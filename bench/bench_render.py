"""Rendering the virtual athlete: speed against real time, and whether MediaPipe Pose sees him.

1. Speed: one second of both streams as a D435 streams them, depth 848x480 z16 @ 90 fps
   (noisy) together with color 640x480 rgb8 @ 30 fps, of a squatting athlete (motion of
   drivers/athlete/motion.py) 2.5 m in front of the camera. ratio = video seconds / wall
   seconds (>= 1: faster than real time). The static scene is cast once per camera beforehand
   (its cost is printed apart). Measured in one thread, then with one thread per stream.
   CPU ratio = video seconds / this process's CPU seconds (one thread): what one free core would
   give; the machine is shared, so the load average is printed beside it. Where the ratio is
   below 1, pre-render: Renderer.render_frames(joints (T, J, 3), stream, out=h5py dataset,
   progress=callback).
2. MediaPipe Pose (legacy solution, model_complexity=1, video mode) on 60 rendered color frames
   (30 fps) of quiet standing and of one squat rep, camera facing the athlete at 2.5 m and at 45
   degrees. Detection = all of hips, knees, ankles, heels, foot indices with visibility > 0.5;
   2D error = pixels between MediaPipe's landmark and the projected truth joint centre (it
   includes the offset between MediaPipe's landmark definitions and joint centres).

    .venv/bin/python bench/bench_render.py [--seconds 1] [--frames 60] [--no-mediapipe]
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from drivers.athlete.motion import simulate_motion  # noqa: E402
from drivers.athlete.render import Renderer  # noqa: E402
from drivers.athlete.render_check import LOWER, mediapipe_detection  # noqa: E402
from drivers.athlete.scene import Scene  # noqa: E402
from drivers.camera_model import standard_camera_pose  # noqa: E402


def speed(seconds: float) -> str:
    m = simulate_motion("squat", seed=1, reps=1)
    t0 = 1.5                                      # start of the descent
    r = Renderer(standard_camera_pose("front", distance_m=2.5), shape=m.body,
                 scene=Scene.from_motion(m), seed=1)
    c = time.perf_counter()
    r.background("depth"), r.background("color"), r._noise_pool()
    setup = time.perf_counter() - c
    nd, nc = int(round(90 * seconds)), int(round(30 * seconds))
    jd = m.joints_at(t0 + np.arange(nd) / 90.0)
    jc = m.joints_at(t0 + np.arange(nc) / 30.0)
    def depth_stream():
        for i in range(nd):
            r.depth(jd[i], i)

    def color_stream():
        for i in range(nc):
            r.color(jc[i], i)

    wall, cpu = time.perf_counter(), time.process_time()
    depth_stream()
    wd, cd = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    color_stream()
    wc, cc = time.perf_counter() - wall, time.process_time() - cpu
    load = os.getloadavg()[0]
    # the same work with one thread per stream (numpy releases the GIL inside its loops)
    wall = time.perf_counter()
    threads = [threading.Thread(target=f) for f in (depth_stream, color_stream)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wt = time.perf_counter() - wall
    return (f"render speed: depth 848x480@90 + color 640x480@30 for {seconds:g} s of video: "
            f"ratio to real time {seconds / (wd + wc):.2f} in one thread, {seconds / wt:.2f} with one "
            f"thread per stream (CPU ratio {seconds / (cd + cc):.2f}; depth {1e3 * wd / nd:.1f} ms/frame, "
            f"color {1e3 * wc / nc:.1f} ms/frame; static scene + noise pool once per camera "
            f"{setup:.2f} s; load average {load:.1f} on {os.cpu_count()} cores)")


def detection(frames: int) -> list[str]:
    lines = []
    for kind in ("stand", "squat"):
        if kind == "stand":
            m = simulate_motion("stand", seed=3, duration_s=frames / 30.0 + 0.1)
            times = np.arange(frames) / 30.0
        else:
            m = simulate_motion("squat", seed=3, reps=1)
            (_, a, _), (_, _, b) = [p for p in m.phases if p[0].startswith("rep1")]
            times = np.linspace(a, b, frames)     # the whole rep, down and up
        seq = m.joints_at(times)
        for view in ("front", "45"):
            r = Renderer(standard_camera_pose(view, distance_m=2.5), shape=m.body,
                         scene=Scene.from_motion(m), seed=3)
            res = mediapipe_detection(r, seq)
            worst = min(res["min_visibility"].items(), key=lambda kv: kv[1])
            lines.append(
                f"mediapipe {kind:5s} camera {view:5s} 2.5 m: detection {res['detection_rate']:.0%} of "
                f"{frames} frames; 2D error lower limb median {res['lower_median_px']:.1f} px, "
                f"p90 {res['lower_p90_px']:.1f} px; lowest visibility {worst[0]} {worst[1]:.2f}")
            per = ", ".join(f"{n} {res['median_error_px'][n]:.1f}" for n in LOWER)
            lines.append(f"    median px per joint: {per}")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--no-mediapipe", action="store_true")
    args = ap.parse_args(argv)
    print(speed(args.seconds), flush=True)
    if not args.no_mediapipe:
        for line in detection(args.frames):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

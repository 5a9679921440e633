"""Benchmark: how fast can a trial be written, as a ratio to real time?

Streams --seconds (default 60) of 848x480 uint16 depth at 90 fps + 640x480 rgb8 color at 30 fps
+ 1 kHz x 8-channel int32 force (two plates x four load cells) into one trial file through the real
TrialWriter, in capture order (depth frame, its share of force samples, a color frame every third
depth frame), as fast as the machine allows. Content is realistic for compression: depth is a
room (wall, floor) with a moving person-shaped blob, sensor noise growing with distance and
holes; colour is a smooth shaded scene with a little noise; force is body weight plus noise.
The frames are generated before the clock starts (a pool of distinct frames, reused in turn),
so only writing is timed.

Prints the sustained write rate as a ratio to real time (the station needs >= 1.5) and the file
size per minute of capture.

    .venv/bin/python bench/bench_trial_write.py --seconds 10
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data.trial import TrialWriter, open_trial  # noqa: E402

DEPTH_SHAPE, DEPTH_FPS = (480, 848), 90
COLOR_SHAPE, COLOR_FPS = (480, 640, 3), 30
FORCE_RATE, FORCE_CHANNELS = 1000, 8


def depth_frames(n: int, rng) -> list[np.ndarray]:
    """n depth frames (mm): wall at ~3.2 m, floor rising towards the camera, a person at ~2.3 m
    moving sideways, noise ~ 0.2% of depth squared per metre, ~2% holes (0) near edges."""
    h, w = DEPTH_SHAPE
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    wall = 3200.0 + 0.15 * (x - w / 2)
    floor = np.where(y > 300, 1400.0 + (480.0 - y) * 9.0, np.inf)
    scene = np.minimum(wall, floor)
    frames = []
    for i in range(n):
        cx = w / 2 + 60 * np.sin(2 * np.pi * i / n)
        body = ((x - cx) / 70) ** 2 + ((y - 250) / 190) ** 2 < 1
        head = ((x - cx) / 35) ** 2 + ((y - 45) / 40) ** 2 < 1
        z = np.where(body | head, 2300.0 - 60 * np.cos((x - cx) / 70), scene)
        z = z + rng.standard_normal(z.shape).astype(np.float32) * 0.002 * (z / 1000.0) ** 2 * 1000 / 2.5
        edges = np.abs(np.diff(z, axis=1, prepend=z[:, :1])) > 150
        holes = edges | (rng.random(z.shape) < 0.01)
        frames.append(np.where(holes, 0, np.clip(z, 0, 65535)).astype(np.uint16))
    return frames


def color_frames(n: int, rng) -> list[np.ndarray]:
    """n colour frames: shaded wall and floor, a person with shirt and trousers, sensor noise."""
    h, w, _ = COLOR_SHAPE
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.empty((h, w, 3), np.float32)
    shade = 0.75 + 0.25 * np.cos((x - w / 2) / w * np.pi)
    base[..., 0] = 200 * shade
    base[..., 1] = 190 * shade
    base[..., 2] = 170 * shade
    floor = y > 330
    base[floor] = np.array([110, 90, 70], np.float32) * (0.8 + 0.2 * (y[floor, None] - 330) / 150)
    frames = []
    for i in range(n):
        img = base.copy()
        cx = w / 2 + 45 * np.sin(2 * np.pi * i / n)
        shirt = (((x - cx) / 55) ** 2 + ((y - 190) / 90) ** 2) < 1
        legs = (np.abs(x - cx) < 45) & (y > 260) & (y < 420)
        head = (((x - cx) / 28) ** 2 + ((y - 80) / 34) ** 2) < 1
        img[shirt] = [30, 60, 160]
        img[legs] = [40, 40, 45]
        img[head] = [210, 160, 130]
        img += rng.standard_normal(img.shape).astype(np.float32) * 2.0
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return frames


def force_counts(n: int, rng) -> np.ndarray:
    """(n, 8) int32 counts: 2 plates x 4 cells, body weight shared unevenly, ADC noise."""
    t = np.arange(n) / FORCE_RATE
    load = 180000 + 40000 * np.sin(2 * np.pi * 0.5 * t)[:, None] * np.linspace(0.8, 1.2, 8)[None, :]
    return (8_000_000 + load + rng.normal(0, 40, (n, FORCE_CHANNELS))).astype(np.int32)


def run(seconds: float, out_dir: Path, keep: bool) -> None:
    rng = np.random.default_rng(0)
    n_depth = int(round(seconds * DEPTH_FPS))
    n_color = int(round(seconds * COLOR_FPS))
    n_force = int(round(seconds * FORCE_RATE))
    depth_pool = depth_frames(30, rng)
    color_pool = color_frames(10, rng)
    force = force_counts(n_force, rng)
    path = out_dir / "bench_trial.h5"
    t_host0 = time.time()

    load_before = os.getloadavg()[0]
    start, cpu_start = time.perf_counter(), time.process_time()
    with TrialWriter(path, metadata={"athlete_id": "BENCH", "protocol": "bench", "step": "write",
                                     "trial_kind": "bench"}) as w:
        w.add_device("camera", kind="depth_camera", description={"model": "synthetic"})
        w.add_device("plates", kind="force_plate", description={"model": "synthetic x2"})
        depth = w.create_stream("depth", kind="depth", device="camera", sample_shape=DEPTH_SHAPE,
                                dtype="uint16", unit="mm", frame="camera_depth",
                                nominal_rate_hz=DEPTH_FPS)
        color = w.create_stream("color", kind="color", device="camera", sample_shape=COLOR_SHAPE,
                                dtype="uint8", unit="rgb8", frame="camera_color",
                                nominal_rate_hz=COLOR_FPS)
        plate = w.create_stream("plates", kind="force", device="plates", sample_shape=(8,),
                                dtype="int32", unit="count", nominal_rate_hz=FORCE_RATE,
                                columns=[f"p{p}_cell{c}" for p in (1, 2) for c in range(4)])
        w.start()
        f_done = c_done = 0
        for i in range(n_depth):
            t = i / DEPTH_FPS
            depth.append(depth_pool[i % len(depth_pool)], sequence=i, time_device_s=t,
                         time_host_s=t_host0 + t)
            f_next = min(n_force, int((i + 1) * FORCE_RATE / DEPTH_FPS))
            if f_next > f_done:
                k = np.arange(f_done, f_next)
                plate.append(force[f_done:f_next], sequence=k, time_device_s=k / FORCE_RATE,
                             time_host_s=t_host0 + k / FORCE_RATE, time_arrival_s=t_host0 + k / FORCE_RATE + 0.002)
                f_done = f_next
            if c_done < n_color and c_done * DEPTH_FPS <= i * COLOR_FPS:
                tc = c_done / COLOR_FPS
                color.append(color_pool[c_done % len(color_pool)], sequence=c_done,
                             time_device_s=tc, time_host_s=t_host0 + tc)
                c_done += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    load_after = os.getloadavg()[0]

    with open_trial(path) as t:         # the file holds what was written
        counts = {name: len(st) for name, st in t.streams().items()}
        assert counts == {"depth": n_depth, "color": n_color, "plates": n_force}, counts
        assert np.array_equal(t.stream("depth").data[n_depth - 1], depth_pool[(n_depth - 1) % len(depth_pool)])
    size = path.stat().st_size
    raw = (n_depth * np.prod(DEPTH_SHAPE) * 2 + n_color * np.prod(COLOR_SHAPE)
           + n_force * FORCE_CHANNELS * 4)
    print(f"trial write: {seconds:g} s of capture ({n_depth} depth 848x480 uint16 @ {DEPTH_FPS} fps, "
          f"{n_color} color 640x480 rgb8 @ {COLOR_FPS} fps, {n_force} x {FORCE_CHANNELS} int32 force "
          f"@ {FORCE_RATE} Hz) written in {elapsed:.2f} s")
    print(f"sustained write rate: {seconds / elapsed:.2f} x real time (station needs >= 1.5)")
    print(f"writer CPU time: {cpu:.2f} s = {seconds / cpu:.2f} x real time per busy core "
          f"(1-min load average {load_before:.1f} before, {load_after:.1f} after, "
          f"{os.cpu_count()} cores shared)")
    print(f"file size: {size / 1e6 * 60 / seconds:.0f} MB per minute of capture "
          f"({raw / size:.2f} x smaller than the raw {raw / 1e6 * 60 / seconds:.0f} MB/min)")
    if keep:
        print(f"kept {path}")
    else:
        path.unlink()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="capture length to write (s)")
    ap.add_argument("--out", type=Path, default=None, help="folder for the file (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the written trial")
    args = ap.parse_args()
    if args.seconds <= 0:
        ap.error("--seconds must be positive")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        run(args.seconds, args.out, args.keep)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench_trial_"))
    try:
        run(args.seconds, tmp, args.keep)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sustained capture of depth 848x480@90 z16 + color 640x480@30 rgb8 through the camera driver
into a trial file, on this machine.

The camera is the virtual one (a pyrealsense2 software_device); its frames are a bank of one
second of SphereScene images with sensor-like noise added (depth: stereo noise growing with
distance squared; color: +-2 levels), so the trial's compression works on realistic data.

Two runs, each over --seconds of video:
  unpaced    the virtual camera injects as fast as the chain takes frames (lossless driver):
             ratio = video seconds / wall seconds = how much faster than real time the chain is;
  real time  the virtual camera is paced at 90/30 fps and the driver is lossy like with a real
             camera: any frame the chain cannot keep up with is dropped and counted.
Dropped frames must be 0. CPU = this process's user+system time / wall time (100% = one core);
CPU-s per s of video = what the chain costs whatever the machine's load (< 1: one core keeps up).
The other processes' load is printed too: on a shared machine the wall-clock ratios drop with it.

    .venv/bin/python bench/bench_camera_capture.py [--seconds 10]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np          # noqa: E402
import psutil               # noqa: E402
import pyrealsense2 as rs   # noqa: E402

from data.trial import TrialWriter                    # noqa: E402
from drivers.camera import Camera                     # noqa: E402
from drivers.camera_recording import CameraTrialWriter  # noqa: E402
from drivers.virtual_camera import SphereScene, VirtualCamera  # noqa: E402


class NoisyBank:
    """One second of noisy frames, reused by frame number."""

    def __init__(self, seed: int = 1):
        scene = SphereScene()
        rng = np.random.default_rng(seed)
        self.depth = []
        for n in range(90):
            z = scene("depth", n, n / 90).astype(np.float64)
            sigma = (z * 1e-3) ** 2 * 0.08 / (421.0 * 0.050) * 1e3      # mm
            noisy = np.where(z > 0, np.round(z + rng.normal(0, 1, z.shape) * sigma), 0)
            self.depth.append(np.clip(noisy, 0, 65535).astype(np.uint16))
        self.color = []
        for n in range(30):
            c = scene("color", n, n / 30).astype(np.int16) + rng.integers(-2, 3, (480, 640, 3))
            self.color.append(np.clip(c, 0, 255).astype(np.uint8))

    def __call__(self, stream, n, t):
        bank = self.depth if stream == "depth" else self.color
        return bank[n % len(bank)]


def driver_only(bank, seconds: float) -> str:
    """The same unpaced run with the frames read and discarded: the driver's own rate."""
    vcam = VirtualCamera(bank, speed=None, duration_s=seconds)
    cam = Camera.open_virtual(vcam)
    cam.configure()
    proc = psutil.Process()
    cpu0 = proc.cpu_times()
    t0 = time.perf_counter()
    cam.start()
    n = sum(1 for _ in cam.frames())
    cam.stop()
    wall = time.perf_counter() - t0
    cpu1 = proc.cpu_times()
    cpu = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / wall * 100
    st = cam.stats()
    dropped = sum(s["dropped"] + s["dropped_host"] for s in st.values())
    return (f"{'no trial':<9}: {seconds:.2f} s of video in {wall:.2f} s wall = "
            f"{seconds / wall:.2f}x real time; frames {n}; dropped {dropped}; "
            f"CPU {cpu:.0f}% of one core = {cpu * wall / 100 / seconds:.2f} CPU-s per s of video "
            f"(virtual camera + driver only, frames discarded)")


def run_once(bank, seconds: float, paced: bool, directory: Path, label: str) -> str:
    vcam = VirtualCamera(bank, speed=1.0 if paced else None, duration_s=seconds)
    cam = Camera.open_virtual(vcam, lossless=not paced)
    cam.configure()
    path = directory / f"bench_{label.replace(' ', '_')}.h5"
    proc = psutil.Process()
    cpu0 = proc.cpu_times()
    psutil.cpu_percent(interval=None)
    t0 = time.perf_counter()
    with TrialWriter(path, metadata={"athlete_id": "bench", "trial_kind": "bench"}) as w:
        ctw = CameraTrialWriter(w, cam)
        cam.start()
        ctw.run()
        t_written = time.time()
        cam.stop()
        ctw.finish()
    wall = time.perf_counter() - t0
    busy = psutil.cpu_percent(interval=None)
    cpu1 = proc.cpu_times()
    cpu = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / wall * 100
    q = cam.queue_state()
    # the camera's last frame was due at t0 + seconds (paced); how long after it the last frame
    # was in the trial is the chain's lag behind the camera
    lag = t_written - (vcam.host_t0 + seconds) if paced else 0.0
    st = cam.stats()
    dev_drop = sum(s["dropped"] for s in st.values())
    host_drop = sum(s["dropped_host"] for s in st.values())
    video_s = seconds
    size_mb = path.stat().st_size / 1e6
    path.unlink()
    written = {k: ctw.streams[k].count for k in ("depth", "color")}
    frames = f"frames in the trial: depth {written['depth']} color {written['color']}"
    drops = f"dropped {dev_drop + host_drop} (camera {dev_drop}, host {host_drop})"
    cpu_s = (f"CPU {cpu:.0f}% of one core = {cpu * wall / 100 / seconds:.2f} CPU-s per s of video "
             f"(machine {busy:.0f}% busy, all processes)")
    if paced:
        due = sum(1 for _ in vcam.schedule())
        got = written["depth"] + written["color"]
        return (f"{label:<9}: captured {got}/{due} frames due = {got / due:.2f}x real time; "
                f"last frame in the trial {lag:.2f} s after it was taken; {drops}; "
                f"faults {len(cam.faults)}; {cpu_s}; queue max {q['max_queued']}/{q['capacity']}; "
                f"{frames}; trial {size_mb:.0f} MB")
    return (f"{label:<9}: {video_s:.2f} s of video in {wall:.2f} s wall = "
            f"{video_s / wall:.2f}x real time; {drops}; faults {len(cam.faults)}; {cpu_s}; "
            f"{frames}; trial {size_mb:.0f} MB")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of video per run")
    args = ap.parse_args(argv)
    print(f"bench_camera_capture: depth 848x480@90 z16 + color 640x480@30 rgb8 -> driver -> "
          f"trial (Blosc-LZ4 image chunks); pyrealsense2 {rs.__version__}; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {args.seconds:g} s "
          f"per run", flush=True)
    bank = NoisyBank()
    print(driver_only(bank, args.seconds), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        print(run_once(bank, args.seconds, False, Path(tmp), "unpaced"), flush=True)
        print(run_once(bank, args.seconds, True, Path(tmp), "real time"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A simulated capture session with all streams (virtual plate 1 kHz on a pty, virtual camera
depth 848x480 + color 640x480 fed by the renderer) through the real recorder, for --minutes of
countermovement jumps back to back. Prints achieved rates as ratios to the nominal rates, drops
(must be 0), peak memory (RSS), CPU use, and MB written per minute.

    .venv/bin/python bench/bench_session.py [--minutes 5] [--no-camera] [--camera-fps 90,30]

The virtual camera's frames are rendered before each trial (slower than real time here), so the
wall time is longer than the recorded time; the capture itself runs in real time.
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.capture_session import CaptureOptions, CaptureSession  # noqa: E402
from station.protocol import parse_protocol  # noqa: E402
from station.session import Athlete  # noqa: E402
from station.simulated_station import SimulatedStation  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--no-camera", action="store_true")
    ap.add_argument("--camera-fps", default="90,30", help="DEPTH[,COLOR] (default: the real rates)")
    args = ap.parse_args()
    # a CMJ trial records ~5.6 s (measured: 34 trials, 191 s): enough trials for --minutes
    trials = max(1, int(math.ceil(args.minutes * 60 / 5.4)))
    proto = parse_protocol("name: bench\nsteps:\n  - {id: cmj, kind: cmj, instruction: Jump., "
                           f"trials: {trials}, start: still, stop: stable_after_landing, "
                           "timeout_s: 15}\n", "bench")
    with tempfile.TemporaryDirectory() as d:
        wall0, cpu0 = time.monotonic(), time.process_time()
        quiet = []
        from station.commands.demo import parse_camera_fps
        depth_fps, color_fps = parse_camera_fps(args.camera_fps)
        with SimulatedStation(seed=5, camera=not args.no_camera, say=quiet.append,
                              depth_fps=depth_fps, color_fps=color_fps) as st:
            print(f"bench_session: {st.describe()}")
            cs = CaptureSession(st, proto, Athlete("BENCH", mass_kg=75.0), Path(d), None,
                                CaptureOptions(skip_rest=True), out=quiet.append)
            session = cs.run()
        wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
        size = sum(f.stat().st_size for f in Path(d).rglob("*.h5"))
        recorded = sum(t.key_numbers.get("duration_s", 0) for t in session.trials)
    per_stream: dict = {}
    for t in session.trials:
        for s, q in t.key_numbers.get("quality", {}).items():
            p = per_stream.setdefault(s, {"ratios": [], "dropped": 0, "samples": 0})
            if q.get("achieved_rate_hz") and q.get("nominal_rate_hz"):
                p["ratios"].append(q["achieved_rate_hz"] / q["nominal_rate_hz"])
            p["dropped"] += q.get("dropped", 0) or 0
            p["samples"] += q.get("samples", 0) or 0
    print(f"bench_session: {len(session.trials)} trials, {recorded:.0f} s = {recorded / 60:.2f} min "
          f"recorded (asked: {args.minutes:g} min) in {wall:.0f} s wall ({os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f})")
    for s, p in per_stream.items():
        r = p["ratios"]
        print(f"  {s:<7} achieved/nominal rate min {min(r):.4f} max {max(r):.4f}  "
              f"samples {p['samples']}  drops {p['dropped']}")
    ok = [t.status == "complete" for t in session.trials]
    print(f"  trials complete: {sum(ok)}/{len(ok)}")
    print(f"  peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"  CPU use: {cpu / wall * 100:.0f} % of one core over the session "
          f"(rendering the virtual camera included)")
    print(f"  written: {size / 1e6:.1f} MB, {size / 1e6 / (recorded / 60):.1f} MB per recorded minute")
    return 0 if all(p["dropped"] == 0 for p in per_stream.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: analysis time of a 20 s, 2 kHz force trial, as a ratio to the trial's duration.

Uses the real two-plate CMJ F02_CTRL1 (shared/data/force/jumpmetrics, 20 s at 2000 Hz) read in
place; the full analyze_force pipeline (events, body weight, metrics, landing, asymmetry).
Run: .venv/bin/python bench/bench_force_analysis.py [--repeats N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.force import ForceSettings, analyze_force  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "force" / "jumpmetrics" / "F02_CTRL1.txt"
RATE = 2000.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    if not DATA.is_file():
        print(f"bench_force_analysis: {DATA} is missing (shared real data)", file=sys.stderr)
        return 2
    fz = np.loadtxt(DATA, delimiter=",", skiprows=1, usecols=(2, 8))
    duration = len(fz) / RATE
    settings = ForceSettings()
    analyze_force(fz, RATE, settings)               # warm-up (imports, caches)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        r = analyze_force(fz, RATE, settings)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"force analysis: {duration:.1f} s trial at {RATE:.0f} Hz, 2 plates ({r.kind}, "
          f"{len(r.reps)} rep): median {med * 1000:.1f} ms over {args.repeats} runs "
          f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}) = "
          f"{med / duration:.5f} of the trial's duration ({duration / med:.0f}x faster than real time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

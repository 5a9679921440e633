"""Benchmark: batch re-analysis throughput (trials per minute) with 1 and 2 worker processes.

Trials: the real force recordings in shared/data/force (jumpmetrics, gidiel, acl_squat_jump, bmc;
8 files, 1 or 2 plates, 450-2000 Hz, 5-20 s) imported once with `station import`, then copied
until there are --trials files. Each run is station.batch.run_batch (the code behind
`station analyze FOLDER --workers N`) with default settings, writing /results/force into the
copies, process start-up included. Printed: trials per minute for each worker count, the speed-up
of 2 over 1 worker (a ratio measured in the same run), and analysed recording time per wall second.
Run: .venv/bin/python bench/bench_batch.py [--trials 48] [--repeats 2]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.force.settings import ForceSettings  # noqa: E402
from data.trial import open_trial  # noqa: E402
from station.batch import collect_trials, run_batch  # noqa: E402
from station.cli import main  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "force"
SOURCES = (  # (file, --fz, --rate)
    ("jumpmetrics/F02_CTRL1.txt", "3,9", "2000"),
    ("jumpmetrics/FHOC_P30_SQT300007.txt", "3,9", "1000"),
    ("gidiel/Dual-CMJ-Fz.txt", "FP1,FP2", "1000"),
    ("gidiel/Dual-SJ-Fz.txt", "FP1,FP2", "1000"),
    ("acl_squat_jump/BFR003_squat_jump.csv", "ground_force2_vy,ground_force1_vy", None),
    ("acl_squat_jump/BFR007_squat_jump.csv", "ground_force2_vy,ground_force1_vy", None),
    ("bmc/jump1.txt", "2", None),
    ("bmc/jump2.txt", "2", None),
)


def make_trials(folder: Path) -> list[Path]:
    src = folder / "src"
    src.mkdir()
    made = []
    for rel, fz, rate in SOURCES:
        out = src / (rel.replace("/", "_").rsplit(".", 1)[0] + ".h5")
        args = ["import", str(DATA / rel), "--fz", fz, "--out", str(out)] + (["--rate", rate] if rate else [])
        with contextlib.redirect_stdout(io.StringIO()):
            if main(args) != 0:
                raise SystemExit(f"bench_batch: cannot import {rel}")
        made.append(out)
    return made


def copy_set(made: list[Path], dst: Path, n: int) -> list[Path]:
    dst.mkdir()
    out = []
    for i in range(n):
        p = dst / f"{i:03d}_{made[i % len(made)].name}"
        shutil.copyfile(made[i % len(made)], p)
        out.append(p)
    return out


def main_bench() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"bench_batch: {DATA} is missing (shared real data)", file=sys.stderr)
        return 2
    settings = ForceSettings().to_dict()
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        made = make_trials(Path(tmp))
        rec_s = 0.0
        for p in made:
            with open_trial(p) as t:
                rec_s += t.stream("force").duration_s
        per_trial_rec_s = rec_s / len(made)
        best = {}
        k = 0
        for rep in range(args.repeats):
            for workers in (1, 2):
                k += 1
                paths = collect_trials([copy_set(made, Path(tmp) / f"run{k}", args.trials)[0].parent])
                t0 = time.perf_counter()
                outcomes = run_batch(paths, settings, workers=workers)
                dt = time.perf_counter() - t0
                bad = [o for o in outcomes if not o.ok]
                if bad:
                    print(f"bench_batch: {len(bad)} trial(s) failed: {bad[0].error}", file=sys.stderr)
                    return 1
                best[workers] = min(best.get(workers, dt), dt)
        for workers in (1, 2):
            dt = best[workers]
            print(f"batch re-analysis, {workers} worker process{'es' if workers > 1 else ''}: "
                  f"{args.trials} trials in {dt:.2f} s = {60 * args.trials / dt:.0f} trials/min "
                  f"({args.trials * per_trial_rec_s / dt:.0f} s of recording analysed per second; "
                  f"best of {args.repeats})")
        load = os.getloadavg()[0]
        print(f"speed-up of 2 over 1 worker process: {best[1] / best[2]:.2f}x "
              f"({os.cpu_count()} cores, load average {load:.1f} during the run; process start-up "
              f"included)")
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())

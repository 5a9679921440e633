"""Force plate decode benchmark on a pseudo-terminal with both cores busy.

Prints, as ratios to a 2 kHz x 8-channel stream (the fastest research plate, two plates):
  1. parser alone: decode rate of pre-encoded packets held in memory;
  2. driver, fast: a virtual plate process (`station virtual-plate --fast`) streams as fast as
     it can through the pty; the driver's sustained decode rate (a lower bound: the virtual
     plate's own encoding may be the slower side, reported as such);
  3. driver, real time: the virtual plate streams at 2 kHz in real time; lost samples (must be
     0), CRC errors, achieved rate, clock-fit residual and the worst arrival delay; and the
     driver's decode capacity: samples per CPU-second its reader thread spent decoding (parse,
     unwrap, clock fit, block building; excludes waiting in read), as a ratio to 2 kHz.
Both cores are kept busy by one busy-loop process per core for the whole run.

    .venv/bin/python bench/bench_plate_decode.py [--fast-seconds 5] [--realtime-seconds 10]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drivers import plate_protocol as pp          # noqa: E402
from drivers.force_plate import ForcePlate       # noqa: E402

RATE, CHANNELS = 2000.0, 8


def busy_loops(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def start_virtual_plate(fast: bool, seconds: float) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "station.cli", "virtual-plate", "--rate", f"{RATE:g}",
           "--channels", str(CHANNELS), "--source", "stand", "--seconds", f"{seconds:g}"]
    if fast:
        cmd.append("--fast")
    env = {**os.environ, "STATION_RUNTIME_DIR": "/tmp/station-bench-virtual-plates"}
    proc = subprocess.Popen(cmd, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)
    port = proc.stdout.readline().strip()
    if not port.startswith("/dev/"):
        proc.kill()
        raise SystemExit(f"virtual plate did not start (got {port!r})")
    return proc, port


def bench_parser(n: int = 100_000) -> float:
    rng = np.random.default_rng(0)
    raw = pp.encode_packets(np.arange(n), np.arange(n) * 500,
                            rng.integers(-(1 << 23), 1 << 23, (n, CHANNELS)))
    parser = pp.StreamParser(CHANNELS)
    t0 = time.perf_counter()
    got = 0
    for i in range(0, len(raw), 4096):
        got += len(parser.feed(raw[i:i + 4096])[0])
    dt = time.perf_counter() - t0
    assert got == n
    return n / dt


def bench_driver(fast: bool, seconds: float) -> dict:
    proc, port = start_virtual_plate(fast, seconds + 5.0)
    try:
        plate = ForcePlate(port)
        plate.start()
        plate.read_until(int(RATE * 0.5), timeout=5)        # warm-up (pipes, clock fit)
        n0 = plate.samples
        t0 = time.perf_counter()
        worst_delay = 0.0
        while time.perf_counter() - t0 < seconds:
            b = plate.read(timeout=0.5)
            if b is None:
                break
            if len(b):
                worst_delay = max(worst_delay, float(np.max(b.time_arrival_s - b.time_host_s)))
        dt = time.perf_counter() - t0
        q = plate.quality()
        n = plate.samples - n0
        plate.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"rate": n / dt, "q": q, "worst_delay_ms": worst_delay * 1e3,
            "capacity": q["samples"] / q["reader_cpu_s"] if q["reader_cpu_s"] > 0 else float("nan")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast-seconds", type=float, default=5.0)
    ap.add_argument("--realtime-seconds", type=float, default=10.0)
    args = ap.parse_args()
    need = RATE
    loops = busy_loops(os.cpu_count() or 2)
    try:
        time.sleep(0.5)
        p = bench_parser()
        print(f"plate parser alone: {p:,.0f} packets/s = {p / need:.1f}x a 2 kHz x 8-channel stream "
              f"(both cores busy)")
        f = bench_driver(True, args.fast_seconds)
        print(f"plate driver on a pty, virtual plate --fast: {f['rate']:,.0f} samples/s = "
              f"{f['rate'] / need:.1f}x a 2 kHz x 8-channel stream (lower bound: the virtual plate "
              f"process encodes too); lost {f['q']['lost_samples']}, CRC errors {f['q']['crc_errors']}")
        r = bench_driver(False, args.realtime_seconds)
        q = r["q"]
        print(f"plate driver on a pty, real time 2 kHz x 8 ch for {args.realtime_seconds:g} s: "
              f"lost samples {q['lost_samples']} (must be 0), CRC errors {q['crc_errors']}, "
              f"garbage bytes {q['garbage_bytes']}, achieved rate {q['achieved_rate_hz'] / need:.5f}x "
              f"nominal, clock-fit residual {q['clock_fit_residual_ms']:.3f} ms, "
              f"worst arrival delay {r['worst_delay_ms']:.1f} ms")
        print(f"plate driver decode capacity (real-time run): {r['capacity']:,.0f} samples per reader "
              f"CPU-second = {r['capacity'] / need:.1f}x a 2 kHz x 8-channel stream")
        ok = q["lost_samples"] == 0 and f["q"]["lost_samples"] == 0
    finally:
        for proc in loops:
            proc.kill()
            proc.wait()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""`station virtual-plate`: start a virtual force plate on a pseudo-terminal and print its port.

It speaks the plate protocol (docs/PLATE_PROTOCOL.md) exactly like hardware, so anything that
opens a serial port (drivers.force_plate.ForcePlate, a terminal program) can use it. It runs
until Ctrl-C or --seconds, and is listed by `station devices` while it runs.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from station.errors import UserError


def add_arguments(parser):
    parser.add_argument("--rate", type=float, default=1000.0, help="sample rate, Hz (default 1000)")
    parser.add_argument("--channels", type=int, default=4, choices=(4, 8),
                        help="4 = one plate, 8 = two plates on one device (default 4)")
    parser.add_argument("--source", default="stand",
                        help="forces: 'stand' (a 75 kg person standing), 'empty', or FILE (.npy or "
                             "text, (T, channels) N per load cell at --rate; repeats)")
    parser.add_argument("--mass", type=float, default=75.0, help="with --source stand: mass in kg")
    parser.add_argument("--seconds", type=float, default=None, help="stop after S seconds (default: Ctrl-C)")
    parser.add_argument("--fast", action="store_true",
                        help="stream as fast as the reader takes it instead of in real time")
    parser.add_argument("--clock-offset", type=float, default=0.0, help="device clock at start, s")
    parser.add_argument("--clock-drift-ppm", type=float, default=0.0, help="device clock drift vs host, ppm")
    parser.add_argument("--noise", type=float, default=20.0, help="ADC noise SD, counts (default 20)")
    parser.add_argument("--zero-drift", type=float, default=0.0,
                        help="slow zero drift of every channel, counts/s (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of gains, offsets and noise")


def _load_source(spec: str, channels: int, mass: float):
    from drivers.virtual_plate import stand_source
    if spec == "stand":
        return stand_source(mass, channels)
    if spec == "empty":
        return None
    path = Path(spec)
    if not path.exists():
        raise UserError(f"--source {spec}: no such file; use 'stand', 'empty' or a (T, {channels}) force file")
    try:
        arr = np.load(path) if path.suffix == ".npy" else np.loadtxt(path, delimiter=None, ndmin=2)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise UserError(f"--source {spec}: cannot read forces ({str(exc).splitlines()[0][:80]})") from None
    if arr.ndim != 2 or arr.shape[1] != channels:
        raise UserError(f"--source {spec}: expected (T, {channels}) forces in N, got shape {arr.shape}")
    return arr


def run(args) -> int:
    from drivers.virtual_plate import VirtualPlate
    if not 1 <= args.rate <= 10000:
        raise UserError("--rate must be between 1 and 10000 Hz")
    source = _load_source(args.source, args.channels, args.mass)
    vp = VirtualPlate(source, rate_hz=args.rate, channels=args.channels, realtime=not args.fast,
                      clock_offset_s=args.clock_offset, clock_drift_ppm=args.clock_drift_ppm,
                      noise_counts=args.noise, seed=args.seed, register=True,
                      zero_drift_counts_per_s=[args.zero_drift] * args.channels)
    vp.start()
    print(vp.port, flush=True)
    print(f"virtual plate {vp.serial}: {args.channels} channels at {args.rate:g} Hz on {vp.port} "
          f"(source {args.source}); Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while deadline is None or time.monotonic() < deadline:
            if vp.wait(0.2):
                break
    finally:
        vp.close()
    return 0

"""`station virtual-plate`: start a virtual force plate on a pseudo-terminal and print its port.

It speaks the plate protocol (docs/PLATE_PROTOCOL.md) exactly like hardware, so anything that
opens a serial port (drivers.force_plate.ForcePlate, a terminal program) can use it. It runs
until Ctrl-C or --seconds, and is listed by `station devices` while it runs.

Sources of the load-cell forces (--source):
  stand            a person (--mass kg) standing still near the centre (one foot per plate with 8 channels)
  empty            nothing on the plate
  athlete:KIND     the virtual athlete (drivers/athlete) doing KIND: cmj, sj, dj, squat,
                   single-leg-squat, stand, static; traits from --mass, --height, --jump-height,
                   --sex, --asymmetry, --seed; --box-height for dj. With 8 channels the athlete
                   straddles two plates (plate1 = channels 0-3 under the left foot, plate2 = 4-7
                   under the right; the plates' geometry is that of drivers.athlete.default_plates(2)).
                   The movement is replayed on the device clock from START, over and over (or once
                   with --once: then the last posture is held). The truth (body weight, flight
                   time, jump heights, contact time) is printed on stderr, and with --truth FILE
                   written as JSON, so a reader of the port can check what it measures.
  FILE             (.npy or text) (T, channels) N per load cell at --rate; repeats
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from station.errors import UserError

ATHLETE_KINDS = ("cmj", "sj", "dj", "squat", "single-leg-squat", "stand", "static")


def add_arguments(parser):
    parser.add_argument("--rate", type=float, default=1000.0, help="sample rate, Hz (default 1000)")
    parser.add_argument("--channels", type=int, default=4, choices=(4, 8),
                        help="4 = one plate, 8 = two plates on one device (default 4)")
    parser.add_argument("--source", default="stand",
                        help="forces: 'stand' (a 75 kg person standing), 'empty', 'athlete:KIND' "
                             f"(the virtual athlete; KIND one of {', '.join(ATHLETE_KINDS)}), or FILE "
                             "(.npy or text, (T, channels) N per load cell at --rate; repeats)")
    parser.add_argument("--mass", type=float, default=75.0,
                        help="with --source stand or athlete:KIND: mass in kg (default 75)")
    athlete = parser.add_argument_group("virtual athlete (--source athlete:KIND)")
    athlete.add_argument("--height", type=float, default=1.75, help="height, m (default 1.75)")
    athlete.add_argument("--jump-height", type=float, default=0.30,
                         help="CMJ height (takeoff velocity), m; SJ and DJ scale from it (default 0.30)")
    athlete.add_argument("--sex", choices=("male", "female"), default="male",
                         help="selects the body-segment table (default male)")
    athlete.add_argument("--asymmetry", type=float, default=0.0,
                         help="(R - L) / (R + L) share of the vertical load, -0.4..0.4 (default 0)")
    athlete.add_argument("--reps", type=int, default=None, help="squat / jump repetitions")
    athlete.add_argument("--box-height", type=float, default=0.30, help="drop-jump box height, m (default 0.30)")
    athlete.add_argument("--once", action="store_true",
                         help="play the movement once from START, then hold the last posture")
    athlete.add_argument("--truth", metavar="FILE", default=None,
                         help="write the athlete's ground truth (metrics, events) as JSON")
    parser.add_argument("--seconds", type=float, default=None, help="stop after S seconds (default: Ctrl-C)")
    parser.add_argument("--fast", action="store_true",
                        help="stream as fast as the reader takes it instead of in real time")
    parser.add_argument("--clock-offset", type=float, default=0.0, help="device clock at start, s")
    parser.add_argument("--clock-drift-ppm", type=float, default=0.0, help="device clock drift vs host, ppm")
    parser.add_argument("--noise", type=float, default=20.0, help="ADC noise SD, counts (default 20)")
    parser.add_argument("--zero-drift", type=float, default=0.0,
                        help="slow zero drift of every channel, counts/s (default 0)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed of gains, offsets, noise and of the virtual athlete")


class AthleteSource:
    """Per-cell loads (N) of a simulated movement on the device clock: a callable
    f(t_s since START) -> (n, channels), as drivers.virtual_plate.VirtualPlate takes."""

    def __init__(self, motion, channels: int, loop: bool = True):
        self.motion = motion
        self.channels = channels
        self.loop = loop
        self.duration_s = float(motion.duration_s)

    def __call__(self, t) -> np.ndarray:
        t = np.asarray(t, float)
        tau = np.mod(t, self.duration_s) if self.loop else np.clip(t, 0.0, self.duration_s)
        loads = self.motion.cell_loads_at(tau)
        out = np.concatenate(loads, axis=1) if len(loads) > 1 else loads[0]
        if out.shape[1] != self.channels:
            raise ValueError(f"the athlete stands on {len(loads)} plate(s): {out.shape[1]} "
                             f"cells, not {self.channels}")
        return out


def athlete_motion(kind: str, channels: int, *, seed: int = 0, mass: float = 75.0,
                   height: float = 1.75, jump_height: float = 0.30, sex: str = "male",
                   asymmetry: float = 0.0, reps: int | None = None, box_height: float = 0.30):
    """The virtual athlete's Motion for this plate layout (one plate, or two for 8 channels)."""
    from drivers.athlete import Traits, default_plates, simulate_motion
    if kind not in ATHLETE_KINDS:
        raise UserError(f"--source athlete:{kind}: unknown movement; use one of {', '.join(ATHLETE_KINDS)}")
    try:
        traits = Traits(height_m=height, mass_kg=mass, sex=sex, jump_height_m=jump_height,
                        asymmetry=asymmetry)
    except ValueError as exc:
        raise UserError(f"--source athlete:{kind}: {exc}") from None
    if reps is not None and reps < 1:
        raise UserError("--reps must be at least 1")
    if not 0.05 <= box_height <= 1.0:
        raise UserError("--box-height must be between 0.05 and 1.0 m")
    try:
        return simulate_motion(kind, traits, seed=seed, reps=reps, plates=default_plates(channels // 4),
                               box_height_m=box_height)
    except ValueError as exc:
        raise UserError(f"--source athlete:{kind}: {exc}") from None


def truth_summary(motion) -> dict:
    """The athlete's ground truth as plain JSON (drivers/athlete/truth.py definitions)."""
    from drivers.athlete import truth_of
    arrays, attrs = truth_of(motion)
    return {"kind": attrs["kind"], "body_weight_n": float(attrs["body_weight_n"]),
            "mass_kg": float(attrs["mass_kg"]), "duration_s": float(motion.duration_s),
            "plates": attrs["plates"],
            "time_origin": "seconds from START on the device clock (repeats every duration_s "
                           "unless --once)",
            "events_s": {k: [float(x) for x in v] for k, v in arrays["events"].items()},
            "metrics": {k: [float(x) for x in np.atleast_1d(v)] for k, v in arrays["metrics"].items()
                        if not k.startswith("bottom_")},
            "definitions": attrs["metric_definitions"]}


def _load_source(spec: str, channels: int, mass: float, args=None):
    from drivers.virtual_plate import stand_source
    if spec == "stand":
        return stand_source(mass, channels)
    if spec == "empty":
        return None
    if spec.startswith("athlete:"):
        kind = spec.split(":", 1)[1].strip().lower()
        kw = {}
        if args is not None:
            kw = dict(seed=args.seed, height=args.height, jump_height=args.jump_height,
                      sex=args.sex, asymmetry=args.asymmetry, reps=args.reps,
                      box_height=args.box_height)
        motion = athlete_motion(kind, channels, mass=mass, **kw)
        return AthleteSource(motion, channels, loop=not (args is not None and args.once))
    path = Path(spec)
    if not path.exists():
        raise UserError(f"--source {spec}: no such file; use 'stand', 'empty', 'athlete:KIND' "
                        f"or a (T, {channels}) force file")
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
    source = _load_source(args.source, args.channels, args.mass, args)
    geometry = None
    if isinstance(source, AthleteSource):
        geometry = list(source.motion.plates)        # the device describes the plates it stands on
        truth = truth_summary(source.motion)
        if args.truth:
            try:
                Path(args.truth).write_text(json.dumps(truth, indent=2))
            except OSError as exc:
                raise UserError(f"--truth {args.truth}: cannot write ({exc.strerror})") from None
        m = truth["metrics"]
        said = [f"body weight {truth['body_weight_n']:.1f} N"]
        for key, label, fmt in (("flight_time_s", "flight time", "{:.4f} s"),
                                ("jump_height_flight_time_m", "height (flight time)", "{:.4f} m"),
                                ("jump_height_takeoff_velocity_m", "height (takeoff velocity)", "{:.4f} m"),
                                ("contact_time_s", "contact time", "{:.4f} s")):
            if key in m:
                said.append(f"{label} " + ", ".join(fmt.format(v) for v in m[key]))
        print(f"athlete {truth['kind']} ({truth['duration_s']:.2f} s"
              f"{', once' if args.once else ', repeating'}): " + "; ".join(said),
              file=sys.stderr, flush=True)
    vp = VirtualPlate(source, rate_hz=args.rate, channels=args.channels, realtime=not args.fast,
                      clock_offset_s=args.clock_offset, clock_drift_ppm=args.clock_drift_ppm,
                      noise_counts=args.noise, seed=args.seed, register=True, geometry=geometry,
                      zero_drift_counts_per_s=[args.zero_drift] * args.channels)
    # Ctrl-C / SIGTERM only ask the loop below to stop, so the plate is always closed in order
    # (an interrupt raised inside close() or at shutdown could leave the process hanging)
    import signal
    import threading
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    vp.start()
    print(vp.port, flush=True)
    print(f"virtual plate {vp.serial}: {args.channels} channels at {args.rate:g} Hz on {vp.port} "
          f"(source {args.source}); Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            if vp.wait(0.2):
                break
    finally:
        vp.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stop.is_set():
        print(f"virtual plate {vp.serial}: stopped", file=sys.stderr, flush=True)
    return 0

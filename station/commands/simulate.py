"""`station simulate`: write a whole simulated trial (virtual athlete) straight to a file, without
going through the virtual devices: per-load-cell loads in N (float stream kind 'force'), depth and
color images from drivers.athlete.render (unless --no-images), and the ground truth in /truth.

Time: time_device_s = time_host_s = start epoch + simulated time, the epoch fixed by the seed, and
the trial's start and end times are the simulated ones; the file is written offline
(TrialWriter(live=False): no timed flushes), so the same arguments give the same file, byte for
byte.
"""
from __future__ import annotations

import numpy as np

from station.errors import UserError

KIND_CHOICES = ("stand", "static", "squat", "single-leg-squat", "cmj", "sj", "dj")
EPOCH_BASE_S = 1_767_225_600.0      # 2026-01-01T00:00:00Z; + seed hours
PLATE_RATE_HZ = 1000.0
DEPTH_FPS = 90.0
COLOR_FPS = 30.0


def add_arguments(parser):
    parser.add_argument("--kind", required=True, choices=KIND_CHOICES, help="movement to simulate")
    parser.add_argument("--out", required=True, help="trial file to write (never overwritten)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same trial)")
    parser.add_argument("--duration", type=float, default=None, help="seconds (stand/static)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (squats, cmj, sj)")
    parser.add_argument("--side", choices=("left", "right"), default="left",
                        help="stance leg of a single-leg squat")
    parser.add_argument("--height", type=float, default=1.75, help="athlete height, m")
    parser.add_argument("--mass", type=float, default=75.0, help="athlete mass, kg")
    parser.add_argument("--sex", choices=("male", "female"), default="male")
    parser.add_argument("--ankle", choices=("normal", "restricted"), default="normal")
    parser.add_argument("--valgus-deg", type=float, default=None,
                        help="peak knee FPPA of both legs, degrees (or --valgus-left/right-deg)")
    parser.add_argument("--valgus-left-deg", type=float, default=None)
    parser.add_argument("--valgus-right-deg", type=float, default=None)
    parser.add_argument("--jump-height", type=float, default=0.30, help="CMJ jump height, m")
    parser.add_argument("--squat-depth-deg", type=float, default=95.0, help="knee flexion at the bottom")
    parser.add_argument("--tempo", type=float, default=3.0, help="seconds per squat rep")
    parser.add_argument("--asymmetry", type=float, default=0.0, help="(R-L)/(R+L) load share")
    parser.add_argument("--stiffness", type=float, default=0.5, help="landing stiffness 0..1")
    parser.add_argument("--box-height", type=float, default=0.30, help="drop-jump box height, m")
    parser.add_argument("--plates", type=int, choices=(1, 2), default=1, help="one or two plates")
    parser.add_argument("--view", choices=("front", "45"), default="front", help="camera set-up")
    parser.add_argument("--no-images", action="store_true", help="write force and truth only")
    parser.add_argument("--athlete-id", default="SIM01")


def traits_from_args(args):
    from drivers.athlete.traits import Traits
    vl = args.valgus_left_deg if args.valgus_left_deg is not None else args.valgus_deg
    vr = args.valgus_right_deg if args.valgus_right_deg is not None else args.valgus_deg
    kw = dict(height_m=args.height, mass_kg=args.mass, sex=args.sex, ankle=args.ankle,
              jump_height_m=args.jump_height, squat_depth_knee_deg=args.squat_depth_deg,
              tempo_s=args.tempo, asymmetry=args.asymmetry, landing_stiffness=args.stiffness)
    if vl is not None:
        kw["valgus_left_deg"] = vl
    if vr is not None:
        kw["valgus_right_deg"] = vr
    try:
        return Traits(**kw)
    except ValueError as exc:
        raise UserError(f"{exc}; change the option") from None


def start_epoch(seed: int) -> float:
    return EPOCH_BASE_S + 3600.0 * int(seed)


def write_simulated_trial(path, motion, *, seed: int, images: bool = True, view: str = "front",
                          athlete_id: str = "SIM01", progress=None) -> dict:
    """Write `motion` as a trial file; returns a small summary dict."""
    import datetime as dt
    from data.trial import TrialWriter
    from drivers.athlete.truth import truth_of
    epoch = start_epoch(seed)
    start_iso = dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="microseconds")
    n_plate = int(np.floor(motion.duration_s * PLATE_RATE_HZ)) + 1
    t_plate = np.arange(n_plate) / PLATE_RATE_HZ
    loads = motion.cell_loads_at(t_plate)
    meta = {"athlete_id": athlete_id, "protocol": "simulated", "step": motion.kind,
            "trial_kind": motion.kind, "start_time_utc": start_iso, "simulated": True,
            "settings": {"seed": int(seed), "view": view, "images": bool(images),
                         "traits": motion.traits.to_dict()}}
    summary = {"plate_samples": n_plate, "depth_frames": 0, "color_frames": 0, "images": images}
    # live=False: written offline (no SWMR, no timed flushes), so the bytes depend only on the
    # seed and options; the end time is the simulated one: same seed -> same file, bit for bit.
    with TrialWriter(path, metadata=meta, live=False) as w:
        plate_streams = []
        for geom in motion.plates:
            name = geom.name
            w.add_device(name, kind="force_plate", description={"virtual": True, **geom.to_dict()},
                         arrays={"cell_positions_plate_m": geom.cell_positions_plate_m})
            plate_streams.append(w.create_stream(
                name, kind="force", device=name, sample_shape=(4,), dtype="float64", unit="N",
                frame=None, nominal_rate_hz=PLATE_RATE_HZ, columns=["cell0", "cell1", "cell2", "cell3"]))
        renderer, render_note = (None, "images not requested")
        if images:
            renderer, render_note = _declare_images(w, motion, seed, view)
        th = epoch + t_plate
        for s, cells in zip(plate_streams, loads):
            s.append(cells, sequence=np.arange(n_plate, dtype=np.int64), time_device_s=th,
                     time_host_s=th)
        if renderer is not None:
            _append_images(w, renderer, motion, epoch, summary, progress)
        arrays, attrs = truth_of(motion)
        attrs = dict(attrs, seed=int(seed), start_epoch_s=epoch, images=render_note)
        w.write_truth(arrays, attrs)
        w.close(status="complete", end_time_utc=epoch + motion.duration_s)
    summary["images_note"] = render_note
    return summary


_CAMERA_STREAMS = (("depth", DEPTH_FPS, "depth", "mm", "camera_depth", "uint16"),
                   ("color", COLOR_FPS, "color", "rgb8", "camera_color", "uint8"))


def _declare_images(w, motion, seed, view):
    """Camera device, pose calibration and image streams; (renderer, note) or (None, why not)."""
    try:
        from drivers.athlete.render import Renderer
        from drivers.athlete.scene import Scene
    except ImportError as exc:
        return None, f"renderer not available ({exc}); no images"
    from drivers.camera_model import (D435_COLOR_640x480, D435_DEPTH_848x480, T_COLOR_FROM_DEPTH_D435,
                                      standard_camera_pose)
    T_lab_from_depth = standard_camera_pose(view)
    box = motion.box or {}
    scene = Scene(plates=tuple(motion.plates),
                  box_top_z_m=box.get("top_z_lab_m"), box_gap_m=box.get("gap_m", 0.10))
    r = Renderer(T_lab_from_depth, scene=scene, shape=motion.body, seed=seed)
    # Same description layout as drivers.camera.Camera.description(), so analysis reads a
    # simulated trial exactly like a captured one.
    intr = {"depth": D435_DEPTH_848x480, "color": D435_COLOR_640x480}
    fps = {"depth": DEPTH_FPS, "color": COLOR_FPS}
    fmt = {"depth": "z16", "color": "rgb8"}
    description = {"source": "simulation", "model": "simulated D435", "serial": f"SIM-{seed}",
                   "view": view, "depth_scale_m": 0.001, "global_time_enabled": True,
                   "stereo_baseline_m": r.noise.baseline_m,
                   "T_color_from_depth": T_COLOR_FROM_DEPTH_D435.tolist()}
    for stream, i in intr.items():
        description[stream] = {"width": i.width, "height": i.height, "fps": fps[stream],
                               "format": fmt[stream], "intrinsics": i.to_dict()}
    w.add_device("camera", kind="depth_camera", description=description,
                 arrays={"K_depth_px": intr["depth"].matrix, "K_color_px": intr["color"].matrix,
                         "T_color_from_depth_m": T_COLOR_FROM_DEPTH_D435})
    w.add_calibration("camera_pose", {"source": "simulation (exact)"},
                      arrays={"T_lab_from_depth": T_lab_from_depth,
                              "T_color_from_depth": T_COLOR_FROM_DEPTH_D435})
    for stream, fps, kind, unit, frame, dtype in _CAMERA_STREAMS:
        i = intr[stream]
        shape = (i.height, i.width) if stream == "depth" else (i.height, i.width, 3)
        w.create_stream(stream, kind=kind, device="camera", sample_shape=shape, dtype=dtype,
                        unit=unit, frame=frame, nominal_rate_hz=fps, image=True)
    return r, f"rendered by drivers.athlete.render ({view} view)"


def _append_images(w, r, motion, epoch, summary, progress):
    for stream, fps, *_ in _CAMERA_STREAMS:
        s = w.stream(stream)
        n = int(np.floor(motion.duration_s * fps)) + 1
        t = np.arange(n) / fps
        joints = motion.joints_at(t)
        for i in range(n):
            img = r.frame(joints[i], stream, i)
            s.append(img[None], sequence=np.array([i]), time_device_s=np.array([epoch + t[i]]),
                     time_host_s=np.array([epoch + t[i]]))
            if progress:
                progress(stream, i + 1, n)
        summary[f"{stream}_frames"] = n


def run(args) -> int:
    from pathlib import Path
    from drivers.athlete.motion import default_plates, simulate_motion
    out = Path(args.out)
    if out.exists():
        raise UserError(f"{out} already exists; a trial is never overwritten: choose another --out")
    if args.duration is not None and args.duration <= 0:
        raise UserError("--duration must be positive")
    if args.reps is not None and args.reps < 1:
        raise UserError("--reps must be at least 1")
    traits = traits_from_args(args)
    try:
        motion = simulate_motion(args.kind, traits, seed=args.seed, reps=args.reps,
                                 duration_s=args.duration, plates=default_plates(args.plates),
                                 box_height_m=args.box_height, side=args.side)
    except ValueError as exc:
        raise UserError(f"{exc}") from None
    summary = write_simulated_trial(out, motion, seed=args.seed, images=not args.no_images,
                                    view=args.view, athlete_id=args.athlete_id)
    print(f"wrote {out}: {args.kind}, {motion.duration_s:.2f} s, {summary['plate_samples']} plate "
          f"samples, {summary['depth_frames']} depth + {summary['color_frames']} color frames "
          f"({summary['images_note']})")
    return 0

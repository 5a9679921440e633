"""`station demo [--out DIR] [--quick]`: a whole simulated session of the full protocol through the
real capture chain (virtual plate on a pty -> plate driver; virtual camera (pyrealsense2
software_device) fed by the athlete renderer -> camera driver; recorder -> one trial file per
attempt -> force analysis and time sync written back -> verdicts -> session.json), ending with
the session's table of results.

--quick: jumps only (weigh, one CMJ, one drop jump), plate only: about half a minute.

The virtual camera renders its frames before each trial (the renderer is slower than real time
on a small machine). At the real camera's rates (depth 90 fps, color 30 fps) that is ~3 s of
rendering per second of video on 2 cores, so the demo runs it at `--camera-fps 30,10` by
default - said on screen and stored in every trial (settings.simulation); `--camera-fps 90,30`
gives the real rates (several minutes more).
"""
from __future__ import annotations

import time
from pathlib import Path


def add_arguments(parser):
    parser.add_argument("--out", default="data", help="data folder for the session (default ./data)")
    parser.add_argument("--quick", action="store_true",
                        help="jumps only, one trial per step, no camera (about half a minute)")
    parser.add_argument("--no-camera", action="store_true", help="plate only")
    parser.add_argument("--skeleton", action="store_true",
                        help="also run the skeleton analysis (MediaPipe) after each camera trial")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--camera-fps", default=DEMO_CAMERA_FPS, metavar="DEPTH[,COLOR]",
                        help="virtual camera rates (default %(default)s, reduced for speed; the "
                             "real camera: 90,30; COLOR 0 = depth only)")


DEMO_CAMERA_FPS = "30,10"


def parse_camera_fps(text: str) -> tuple[int, int | None]:
    from station.errors import UserError
    try:
        parts = [int(p) for p in str(text).split(",")]
        depth, color = parts[0], (parts[1] if len(parts) > 1 else 0)
        if len(parts) > 2 or not 1 <= depth <= 90 or not 0 <= color <= 60:
            raise ValueError
    except ValueError:
        raise UserError(f"--camera-fps {text!r}: give DEPTH[,COLOR] frames per second, depth "
                        "1..90, color 0..60 (0 = no color), e.g. 90,30") from None
    return depth, (color or None)


def run(args) -> int:
    from drivers.athlete.traits import Traits
    from station.capture_session import CaptureOptions, CaptureSession, results_table
    from station.live_status import StatusDisplay
    from station.protocol import load_protocol
    from station.session import Athlete
    from station.simulated_station import SimulatedStation
    t0 = time.monotonic()
    protocol = load_protocol("jumps" if args.quick else "full")
    display = StatusDisplay()
    camera = not (args.quick or args.no_camera)
    options = CaptureOptions(steps=["weigh", "cmj", "dj"] if args.quick else None,
                             trials=1 if args.quick else None, skip_rest=True,
                             skeleton=args.skeleton)
    # squats at a brisker tempo than the model's default keep the demo short
    traits = Traits(height_m=1.78, mass_kg=72.0, jump_height_m=0.32, tempo_s=2.2, rest_s=0.8)
    athlete = Athlete("DEMO01", height_m=1.78, dominant_leg="right")
    print(f"station demo: a simulated session of protocol '{protocol.name}' "
          f"({len(protocol.steps)} steps) with a virtual athlete (1.78 m, 72 kg)")
    depth_fps, color_fps = parse_camera_fps(args.camera_fps)
    with SimulatedStation(traits, seed=args.seed, camera=camera, say=display.say,
                          depth_fps=depth_fps, color_fps=color_fps) as st:
        print(f"devices: {st.describe()}")
        if camera and st.reduced_rates:
            print(f"camera rates reduced for speed (--camera-fps {args.camera_fps}); "
                  "`station demo --camera-fps 90,30` runs the real camera's rates")
        if not args.skeleton and camera:
            print("kinematics: off (use --skeleton to run MediaPipe on each camera trial)")
        cs = CaptureSession(st, protocol, athlete, Path(args.out), display, options)
        session = cs.run()
    print()
    print(f"session of {athlete.id}: {len(session.trials)} trials in {session.folder}")
    for line in results_table(session):
        print(line)
    for line in sync_check_lines([o.sync for o in cs.outcomes]):
        print(line)
    print(f"what it did: ran {len(session.trials)} trials through the virtual plate "
          f"(pty serial device){' and virtual camera' if camera else ''}, wrote one HDF5 trial "
          f"per attempt, analysed each and wrote the results into it, and listed them in "
          f"{session.folder / 'session.json'} ({time.monotonic() - t0:.0f} s)")
    return 0


def sync_check_lines(syncs) -> list[str]:
    """The simulated session's time sync against what was injected, from the trials' sync dicts
    (truth_* keys: simulation only): the session line's largest error against the injected
    camera offset and against the offset that aligns the frames with the recorded plate samples
    (the injected offset plus how late the plate's recorded host times are). [] without truth."""
    fitted = [y for y in syncs if y.get("offset_applied_s") is not None
              and y.get("truth_offset_s") is not None]
    if not fitted:
        return []
    errs = [abs(y["offset_applied_s"] - y["truth_offset_s"]) * 1e3 for y in fitted]
    lines = [f"time sync vs the injected camera offset: max error {max(errs):.1f} ms over "
             f"the {len(errs)} trials of the session fit"]
    if all(y.get("truth_alignment_offset_s") is not None for y in fitted):
        late = [y["truth_plate_host_error_s"] * 1e3 for y in fitted]
        errs = [abs(y["offset_applied_s"] - y["truth_alignment_offset_s"]) * 1e3 for y in fitted]
        lines.append(f"  vs the offset that aligns the frames with the recorded plate samples (the "
                     f"plate's host times are {min(late):.1f} to {max(late):.1f} ms late): max error "
                     f"{max(errs):.1f} ms")
    return lines

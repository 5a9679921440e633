"""`station demo [--out DIR] [--quick]`: a whole simulated session of the full protocol through the
real capture chain (virtual plate on a pty -> plate driver; virtual camera (pyrealsense2
software_device) fed by the athlete renderer -> camera driver; recorder -> one trial file per
attempt -> force analysis and time sync written back -> verdicts -> session.json), ending with
the session's table of results.

--quick: jumps only (weigh, one CMJ, one drop jump), plate only: about half a minute.
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
    with SimulatedStation(traits, seed=args.seed, camera=camera, say=display.say) as st:
        print(f"devices: {st.describe()}")
        if not args.skeleton and camera:
            print("kinematics: off (use --skeleton to run MediaPipe on each camera trial)")
        cs = CaptureSession(st, protocol, athlete, Path(args.out), display, options)
        session = cs.run()
    print()
    print(f"session of {athlete.id}: {len(session.trials)} trials in {session.folder}")
    for line in results_table(session):
        print(line)
    fitted = [o for o in cs.outcomes if o.sync.get("offset_applied_s") is not None
              and o.sync.get("truth_offset_s") is not None]
    if fitted:
        errs = [abs(o.sync["offset_applied_s"] - o.sync["truth_offset_s"]) * 1e3 for o in fitted]
        print(f"time sync vs the injected camera offset: max error {max(errs):.1f} ms over "
              f"the {len(errs)} trials of the session fit")
    print(f"what it did: ran {len(session.trials)} trials through the virtual plate "
          f"(pty serial device){' and virtual camera' if camera else ''}, wrote one HDF5 trial "
          f"per attempt, analysed each and wrote the results into it, and listed them in "
          f"{session.folder / 'session.json'} ({time.monotonic() - t0:.0f} s)")
    return 0

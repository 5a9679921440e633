"""`station capture --protocol P --athlete ID [--data DIR] [--simulate] ...`: run a protocol with
an athlete, one trial file per attempt in DIR/<athlete>/<date>_<n>/, session.json beside them,
live status on the terminal, the session's table of results at the end.

Real devices by default: the force plate(s) on --plate PORT (repeatable, at most two devices)
or the only one found; the camera by --camera SERIAL or the only D400 connected (none: the
session runs without a camera and says so; --no-camera to not look). --simulate runs the
virtual station (station/simulated_station.py) instead.
"""
from __future__ import annotations

import sys
from pathlib import Path

from station.errors import UserError


def add_arguments(parser):
    parser.add_argument("--protocol", required=True,
                        help="protocol: full, jumps, squats, or a YAML file")
    parser.add_argument("--athlete", required=True, help="athlete id (folder name)")
    parser.add_argument("--data", default="data", help="data folder (default: ./data)")
    parser.add_argument("--height", type=float, default=None, help="athlete height, m")
    parser.add_argument("--dominant-leg", choices=("left", "right"), default=None)
    parser.add_argument("--mass", type=float, default=None,
                        help="athlete mass, kg (else the weighing step measures it)")
    parser.add_argument("--simulate", action="store_true",
                        help="virtual athlete, virtual plate (pty) and virtual camera")
    parser.add_argument("--no-camera", action="store_true", help="record the force plate(s) only")
    parser.add_argument("--plate", action="append", default=[], metavar="PORT",
                        help="serial port of a force plate (repeat for a second device)")
    parser.add_argument("--camera", default=None, metavar="SERIAL", help="RealSense serial")
    parser.add_argument("--steps", default=None, help="only these step ids, comma separated")
    parser.add_argument("--trials", type=int, default=None, help="attempts per step (override)")
    parser.add_argument("--no-rest", action="store_true", help="skip the rest pauses")
    parser.add_argument("--skeleton", action="store_true",
                        help="also run the skeleton analysis after each camera trial (slow)")
    parser.add_argument("--seed", type=int, default=0, help="--simulate: random seed")
    parser.add_argument("--jump-height", type=float, default=0.30, help="--simulate: CMJ height, m")
    parser.add_argument("--sim-mass", type=float, default=75.0, help="--simulate: athlete mass, kg")
    parser.add_argument("--camera-fps", default="90,30", metavar="DEPTH[,COLOR]",
                        help="--simulate: virtual camera rates (default: the real camera's 90,30; "
                             "lower is faster to render and is recorded in each trial)")


class RealStation:
    """Real devices: force plate(s) on serial ports, a RealSense camera opened per trial."""

    def __init__(self, ports, camera_serial, use_camera: bool, say=print):
        from calibration.plate import latest_calibration
        from drivers.force_plate import ForcePlate, list_plates, plate_streams
        if not ports:
            found = [p for p in list_plates() if not p.get("virtual")]
            ready = [p for p in found if "busy" not in p["status"]]
            if not found:
                raise UserError("no force plate found: plug it in or use --simulate")
            if not ready:
                raise UserError(f"the force plate on {found[0]['port']} is busy in another "
                                "program: close it first")
            ports = [ready[0]["port"]]
        if len(ports) > 2:
            raise UserError("at most two force plate devices")
        self.plates = [ForcePlate(p) for p in ports]
        self.calibrations = {}
        for s in plate_streams(self.plates):
            serial = s["plate"].description.get("serial", "")
            cal = latest_calibration(serial)
            if cal is None:
                raise UserError(f"the force plate {serial} has no calibration: run "
                                "`station calibrate plate` first")
            self.calibrations[s["name"]] = cal
        self.camera_serial = camera_serial
        self.use_camera = use_camera
        self.camera_pose = None
        self.camera_pose_source = ""
        self.camera_calibration = None          # calibration.camera_calibration_store
        if use_camera:
            serial = camera_serial or ""
            if not serial:
                try:
                    from drivers.camera import list_cameras
                    found = [c for c in list_cameras() if not c.get("virtual")]
                    serial = found[0].get("serial", "") if len(found) == 1 else ""
                except Exception:
                    serial = ""
            try:
                from calibration.camera_calibration_store import latest_camera_calibration
                cal = latest_camera_calibration(serial)
            except Exception:
                cal = None
            self.camera_calibration = cal
            self.camera_pose = getattr(cal, "T_lab_from_depth", None)
            self.camera_pose_source = getattr(cal, "path", "") or ""
        self._camera = None
        self.say = say

    def begin_trial(self, step, attempt):
        if not self.use_camera:
            return None
        from drivers.camera import Camera, CameraError
        try:
            cam = Camera.open_real(self.camera_serial)
            cam.configure()
        except CameraError as exc:
            if self.camera_serial:
                raise
            self.say(f"no camera for this trial ({exc}); recording the plate only")
            self.use_camera = False
            return None
        self._camera = cam
        return cam

    @property
    def has_camera(self) -> bool:
        return self.use_camera

    def camera_check_frames(self, n: int = 3):
        """Depth+color frames of the (empty) plate now, for the camera self-check."""
        from calibration.camera_wizard import RealCamera
        cam = RealCamera(self.camera_serial)
        try:
            return cam.grab(n)
        finally:
            cam.close()
            cam.cam.close()

    def end_trial(self):
        if self._camera is not None:
            self._camera.close()
            self._camera = None

    def describe(self) -> str:
        return ", ".join(f"plate {p.description.get('serial')} on {p.port}" for p in self.plates)

    def close(self):
        for p in self.plates:
            p.close()


def run(args) -> int:
    from station.capture_session import CaptureOptions, CaptureSession, results_table
    from station.live_status import StatusDisplay
    from station.protocol import load_protocol
    from station.session import Athlete
    protocol = load_protocol(args.protocol)          # errors name the file, line and field
    athlete = Athlete(args.athlete, height_m=args.height, dominant_leg=args.dominant_leg,
                      mass_kg=args.mass)
    steps = [s.strip() for s in args.steps.split(",")] if args.steps else None
    if args.trials is not None and args.trials < 1:
        raise UserError("--trials must be at least 1")
    display = StatusDisplay()
    options = CaptureOptions(steps=steps, trials=args.trials,
                             skip_rest=args.no_rest or args.simulate, skeleton=args.skeleton)
    if args.simulate:
        station = simulated_station_from_args(args, display.say)
    else:
        station = RealStation(args.plate, args.camera, not args.no_camera, display.say)
    try:
        display.say(f"station: {station.describe()}")
        cs = CaptureSession(station, protocol, athlete, Path(args.data), display, options)
        cs.steps()                                    # bad --steps before anything is created
        session = cs.run()
    finally:
        station.close()
    for line in results_table(session):
        print(line)
    print(f"session file: {session.folder / 'session.json'}")
    return 0


def simulated_station_from_args(args, say):
    from drivers.athlete.traits import Traits
    from station.simulated_station import SimulatedStation
    try:
        traits = Traits(height_m=args.height or 1.75, mass_kg=args.sim_mass,
                        jump_height_m=args.jump_height)
    except ValueError as exc:
        raise UserError(f"{exc}; change the option") from None
    from station.commands.demo import parse_camera_fps
    depth_fps, color_fps = parse_camera_fps(getattr(args, "camera_fps", "90,30"))
    st = SimulatedStation(traits, seed=args.seed, camera=not args.no_camera, say=say,
                          depth_fps=depth_fps, color_fps=color_fps)
    return st.open()

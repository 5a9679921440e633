"""`station calibrate camera`: the camera's pose in the plate's frame, guided.

    station calibrate camera [--simulate] [--method board|boardless] [--view front|45]
                             [--distance M] [--serial S] [--frames N] [--out DIR] [--check]

Steps: board in view? -> enough corners, usable angle? -> hold still (the corners must not drift
by more than STILL_PX over --frames frames) -> solve (calibration.camera_pose, or
calibration.boardless) -> save (calibration.camera_calibration_store) with the camera serial and
the date; then the camera's distance from the plate and what it means for a landing's
dorsiflexion at initial contact, and the colour image's framing of an athlete on the plate
(calibration.setup_advice: warnings away from the measured 2.5 m and for feet or head cut off).
--check instead runs the quick self-check (calibration.self_check) against the stored
calibration. --simulate uses the virtual camera's scene (drivers.athlete renderer: floor, plate,
walls, the board painted on the plate top; no athlete) at a known pose, and prints the errors
against that pose; --sim-turn-deg / --sim-shift-mm move the simulated camera after calibration
(to see --check catch it).
"""
from __future__ import annotations

import json
import time

import numpy as np

from calibration.camera_pose import (RgbdFrame, average_detections, check_board_view, detect_board_frames,
                                     detection_frames, pose_error, solve_board_pose)
from calibration.setup_advice import distance_advice, framing_advice
from drivers.camera_model import (D435_COLOR_640x480, D435_DEPTH_848x480, T_COLOR_FROM_DEPTH_D435,
                                  standard_camera_pose)
from station.errors import UserError

STILL_PX = 0.3              # max drift of the board corners during the "hold still" window
# 3 s at 30 fps. The plate plane's tilt from depth limits the camera position at 3 m (0.1 deg
# = 5.5 mm there); measured on the virtual camera, its error is depth noise that averages down
# with frames (3 m, 5 seeds, worst camera position front / 45 deg: 10 frames 9.5 / 5.4 mm,
# 30 frames 7.0 / 4.0, 90 frames 3.1 / 3.0). The board is detected in 10 of them
# (camera_pose.MAX_DETECT_FRAMES). A real D400 repeats part of its depth error from frame to
# frame, so there the gain is smaller (docs/CAMERA_CALIBRATION.md).
DEFAULT_FRAMES = 90
CHECK_FRAMES = 10           # the self-check (--check): depth only, a plane and edges
SIM_SERIAL = "SIM-D435-0001"


# --------------------------------------------------------------------------- frame sources
class SimulatedCamera:
    """The plate scene of the shared renderer (drivers/athlete: floor, plate, walls; no
    athlete) seen from T_lab_from_depth, with the ChArUco board painted on the plate top
    (board=False: a bare plate). Fresh depth noise (D400 model: stereo RMS growing with z^2,
    edge holes, dropouts, left band) and color noise (gaussian, 2 levels) every frame."""

    def __init__(self, T_lab_from_depth, board: bool = True, seed: int = 0, serial: str = SIM_SERIAL,
                 T_color_from_depth=T_COLOR_FROM_DEPTH_D435, color_noise: float = 2.0):
        from calibration.charuco import paint_board
        from drivers.athlete.render import Renderer
        from drivers.athlete.scene import Scene
        painters = ()
        if board:
            painters = (lambda img, view, mask: paint_board(img, view.intr, view.T_lab_from_camera,
                                                            visible_mask=mask),)
        self.T_lab_from_depth = np.asarray(T_lab_from_depth, float)
        self.T_color_from_depth = np.asarray(T_color_from_depth, float)
        self.renderer = Renderer(self.T_lab_from_depth, D435_DEPTH_848x480, D435_COLOR_640x480,
                                 self.T_color_from_depth, scene=Scene(painters=painters), seed=seed,
                                 noise_pool=0)
        self.z_truth, _ = self.renderer.background("depth")
        _, self.color_clean = self.renderer.background("color")
        self.serial, self.color_noise = serial, color_noise
        self.rng = np.random.default_rng([seed, 4242])

    def grab(self, n: int) -> list[RgbdFrame]:
        from drivers.athlete.render_noise import noisy_depth
        noise = self.renderer.noise
        out = []
        for _ in range(n):
            z16 = noisy_depth(self.z_truth, D435_DEPTH_848x480.fx, self.rng, noise)
            color = np.clip(self.color_clean + self.rng.normal(0, self.color_noise, self.color_clean.shape),
                            0, 255).astype(np.uint8)
            out.append(RgbdFrame(depth_m=z16.astype(np.float32) * noise.depth_unit_m, color_rgb=color,
                                 depth_intrinsics=D435_DEPTH_848x480, color_intrinsics=D435_COLOR_640x480,
                                 T_color_from_depth=self.T_color_from_depth.copy(), serial=self.serial))
        return out

    def close(self):
        pass


class RealCamera:
    """A connected RealSense (drivers.camera): depth and color paired by host time."""

    def __init__(self, serial: str | None = None):
        from drivers.camera import Camera
        self.cam = Camera.open_real(serial)
        self.cam.configure()
        self.cam.start()
        d = self.cam.description()
        from drivers.camera_model import Intrinsics
        self.serial = d.get("serial", "")
        self.depth_intr = Intrinsics.from_dict(d["depth"]["intrinsics"])
        self.color_intr = Intrinsics.from_dict(d["color"]["intrinsics"])
        self.T_color_from_depth = np.asarray(d["T_color_from_depth"], float)
        self.scale = float(d["depth_scale_m"])

    def grab(self, n: int, timeout_s: float = 10.0) -> list[RgbdFrame]:
        out, last_depth, t_end = [], None, time.time() + timeout_s
        while len(out) < n and time.time() < t_end:
            f = self.cam.read(timeout=1.0)
            if f is None:
                continue
            if f.stream == "depth":
                last_depth = f
            elif last_depth is not None and abs(f.time_host_s - last_depth.time_host_s) < 0.02:
                out.append(RgbdFrame(depth_m=last_depth.image.astype(np.float32) * self.scale,
                                     color_rgb=f.image, depth_intrinsics=self.depth_intr,
                                     color_intrinsics=self.color_intr,
                                     T_color_from_depth=self.T_color_from_depth, serial=self.serial))
        if len(out) < n:
            raise UserError(f"the camera delivered only {len(out)} depth+color pairs in {timeout_s:.0f} s; "
                            "check the USB connection (`station camera-check`)")
        return out

    def close(self):
        self.cam.stop()


# --------------------------------------------------------------------------- steps
def hold_still_drift_px(dets) -> float:
    """How far the board moved during the capture: the median over the corners seen in every
    frame of the distance (px) between their mean position in the first and in the second half
    of the frames. Pixel noise averages out; a camera or board that moves shifts every corner."""
    if len(dets) < 2:
        return 0.0
    common = set(dets[0].charuco_ids.tolist())
    for d in dets[1:]:
        common &= set(d.charuco_ids.tolist())
    if not common:
        return float("inf")
    half = len(dets) // 2
    drift = []
    for i in common:
        px = np.array([d.charuco_px[list(d.charuco_ids).index(i)] for d in dets])
        drift.append(float(np.linalg.norm(px[half:].mean(axis=0) - px[:half].mean(axis=0))))
    return float(np.median(drift))


def calibrate(source, method: str = "board", n_frames: int = DEFAULT_FRAMES, say=print,
              attempts: int = 1):
    """Run the guided steps on a frame source; returns (CameraPose, frames used)."""
    from calibration.boardless import solve_boardless_pose
    last_error = None
    for attempt in range(attempts):
        frames = source.grab(n_frames)
        try:
            if method == "boardless":
                say("plate in view? looking for the floor and the plate top in depth ...")
                return solve_boardless_pose(frames), frames
            say("board in view? ...")
            dets = detect_board_frames(detection_frames(frames))
            det = average_detections(dets)
            _, _, angle = check_board_view(det, frames[0].color_intrinsics)
            say(f"  board found: {len(det.marker_ids)} markers, {det.n_corners} corners, "
                f"seen {angle:.0f} deg from face-on")
            drift = hold_still_drift_px(dets)
            if drift > STILL_PX:
                raise UserError(f"the camera or the board moved during the capture (corners drifted "
                                f"{drift:.1f} px, at most {STILL_PX} allowed); hold still and try again")
            say(f"  still: corners drifted {drift:.2f} px over {len(frames)} frames")
            return solve_board_pose(frames, detections=dets), frames
        except UserError as exc:
            last_error = exc
            if attempt + 1 < attempts:
                say(f"  {exc} (retrying)")
    raise last_error


def make_calibration(pose, frames, software_version: str = ""):
    """CameraCalibration of a solved pose, with the self-check reference from the same frames."""
    from calibration.boardless import solve_boardless_pose
    from calibration.camera_calibration_store import CameraCalibration
    ref = {}
    try:
        b = solve_boardless_pose(frames, T_lab_from_depth_prior=pose.T_lab_from_depth)
        ref = {"T_lab_from_depth": b.T_lab_from_depth.tolist(), "method": "boardless"}
    except UserError as exc:
        ref = {"error": str(exc)}
    f0 = frames[0]
    return CameraCalibration(camera_serial=f0.serial, method=pose.method,
                             T_lab_from_depth=pose.T_lab_from_depth, T_lab_from_color=pose.T_lab_from_color,
                             T_color_from_depth=np.asarray(f0.T_color_from_depth, float),
                             depth_intrinsics=f0.depth_intrinsics, color_intrinsics=f0.color_intrinsics,
                             errors=pose.errors, details=pose.details, self_check_reference=ref,
                             software_version=software_version)


def _moved_pose(T_lab_from_depth, turn_deg: float, shift_mm: float) -> np.ndarray:
    """The camera turned about its own vertical (lab z through the camera) and shifted along lab x."""
    a = np.radians(turn_deg)
    Rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1.0]])
    T = np.array(T_lab_from_depth, float)
    T[:3, :3] = Rz @ T[:3, :3]
    T[0, 3] += shift_mm / 1000.0
    return T


# --------------------------------------------------------------------------- CLI
def add_arguments(parser):
    parser.add_argument("--simulate", action="store_true",
                        help="use the virtual camera's scene (plate, floor, board) at a known pose")
    parser.add_argument("--method", choices=("board", "boardless"), default="board",
                        help="board: ChArUco board on the plate (accurate); boardless: plate edges in depth")
    parser.add_argument("--view", choices=("front", "45"), default="front",
                        help="with --simulate: the reference set-up to simulate (default front)")
    parser.add_argument("--distance", type=float, default=2.5,
                        help="with --simulate: camera distance from the plate, m (default 2.5)")
    parser.add_argument("--serial", help="camera serial number (default: the only camera connected)")
    parser.add_argument("--frames", type=int, default=None,
                        help=f"frames to average while the camera holds still (default {DEFAULT_FRAMES}, "
                             f"3 s at 30 fps; with --check {CHECK_FRAMES})")
    parser.add_argument("--out", help="calibration folder (default $STATION_HOME/calibration or ~/.station/calibration)")
    parser.add_argument("--check", action="store_true",
                        help="only check that the camera has not moved since its stored calibration")
    parser.add_argument("--sim-turn-deg", type=float, default=0.0,
                        help="with --simulate --check: turn the simulated camera by this much first")
    parser.add_argument("--sim-shift-mm", type=float, default=0.0,
                        help="with --simulate --check: shift the simulated camera by this much first")
    parser.add_argument("--no-board", action="store_true", help="with --simulate: leave the board off the plate")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args) -> int:
    from calibration.camera_calibration_store import load_camera_calibration
    from calibration.self_check import check_camera
    say = (lambda *a: None) if args.json else print
    if args.frames is None:
        args.frames = CHECK_FRAMES if args.check else DEFAULT_FRAMES
    if args.frames < 1:
        raise UserError("--frames must be at least 1")
    T_true = None
    if args.simulate:
        if not 1.0 <= args.distance <= 5.0:
            raise UserError("--distance must be between 1 and 5 m")
        T_true = standard_camera_pose(args.view, distance_m=args.distance)
        if args.check:
            T_true = _moved_pose(T_true, args.sim_turn_deg, args.sim_shift_mm)
        source = SimulatedCamera(T_true, board=not args.no_board, serial=args.serial or SIM_SERIAL)
    else:
        source = RealCamera(args.serial)
    try:
        if args.check:
            cal = load_camera_calibration(source.serial, args.out)
            res = check_camera(source.grab(args.frames), cal)
            print(json.dumps(res.as_dict()) if args.json else res.message)
            return 1 if res.moved else 0
        say(f"calibrating camera {source.serial} ({args.method} method"
            + (f", simulated {args.view} view at {args.distance:.1f} m" if args.simulate else "") + ")")
        t0 = time.perf_counter()
        pose, frames = calibrate(source, args.method, args.frames, say=say,
                                 attempts=1 if args.simulate else 5)
        elapsed = time.perf_counter() - t0
        from station import __version__
        cal = make_calibration(pose, frames, software_version=__version__)
        path = cal.save(args.out)
        out = {"path": str(path), "method": pose.method, "camera_serial": cal.camera_serial,
               "seconds": elapsed, "errors": pose.errors,
               "camera_position_lab_m": pose.T_lab_from_depth[:3, 3].tolist()}
        advice = distance_advice(pose.T_lab_from_depth)
        out["setup"] = {k: advice[k] for k in ("plate_distance_m", "foot_pitch_bound_deg", "warning")}
        framing = framing_advice(pose.T_lab_from_color, frames[0].color_intrinsics)
        out["setup"]["framing"] = framing
        if T_true is not None:
            dp, da = pose_error(pose.T_lab_from_depth, T_true)
            out["truth"] = {"position_error_mm": dp * 1000.0, "angle_error_deg": float(np.degrees(da))}
        if args.json:
            print(json.dumps(out))
        else:
            e = pose.errors
            pos = ", ".join(f"{v:.3f}" for v in pose.T_lab_from_depth[:3, 3])
            say(f"camera (depth) at ({pos}) m in the lab frame; solved in {elapsed:.1f} s")
            say("  checks: " + ", ".join(f"{k} {v:.2f}" for k, v in e.items()))
            if "truth" in out:
                say(f"  against the simulated truth: position {out['truth']['position_error_mm']:.1f} mm, "
                    f"angle {out['truth']['angle_error_deg']:.2f} deg")
            say(f"  {advice['line']}")
            if advice["warning"]:
                say(f"  WARNING: {advice['warning']}")
            if framing["feet_margin"] is not None:
                say(f"  framing: an athlete's feet on the plate {100 * framing['feet_margin']:.1f} % of the colour "
                    f"image's height above its bottom edge; a standing 1.75 m athlete's head top at row "
                    f"{framing['head_top_px']:.0f}")
            for w in framing["warnings"]:
                say(f"  WARNING: {w}")
            say(f"saved {path}")
        return 0
    finally:
        source.close()

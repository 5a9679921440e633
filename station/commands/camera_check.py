"""`station camera-check`: stream a camera for a few seconds, show live fps and dropped frames,
save a depth (colour-mapped) and a color preview PNG."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from station.errors import UserError

DEPTH_PREVIEW_MAX_M = 5.0        # depth colour scale: 0 .. 5 m (black = no depth)


def add_arguments(parser):
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--virtual", action="store_true", help="the virtual camera (synthetic scene)")
    src.add_argument("--serial", help="a connected RealSense camera by serial number")
    src.add_argument("--recording", metavar="FILE", help="a RealSense recording (.db3 or .bag)")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="how long to stream (a recording stops at its end); default 5")
    parser.add_argument("--snapshot", metavar="DIR",
                        help="save depth.png and color.png of the last frames into DIR")
    parser.add_argument("--record", metavar="FILE.db3",
                        help="also record the camera's raw streams to a RealSense .db3 file")


def _open(args):
    from drivers.camera import ANY, Camera, DEFAULT_COLOR_MODE, DEFAULT_DEPTH_MODE
    if args.recording:
        if args.record:
            raise UserError("--record cannot be used with --recording (copy the file instead)")
        cam = Camera.open_recording(args.recording)
        cam.configure(ANY, ANY)
        return cam
    if args.virtual:
        from drivers.virtual_camera import VirtualCamera
        vcam = VirtualCamera(speed=1.0)
        cam = Camera.open_virtual(vcam)
    else:
        cam = Camera.open_real(args.serial)
    if args.record:
        cam.record_to(args.record)
    cam.configure(DEFAULT_DEPTH_MODE, DEFAULT_COLOR_MODE)
    return cam


def depth_preview(depth: np.ndarray, depth_scale_m: float) -> np.ndarray:
    """uint16 depth -> BGR image (JET colour map over 0..5 m; no depth = black)."""
    import cv2
    z = depth.astype(np.float32) * depth_scale_m
    scaled = np.clip(z / DEPTH_PREVIEW_MAX_M * 255.0, 0, 255).astype(np.uint8)
    bgr = cv2.applyColorMap(scaled, cv2.COLORMAP_JET)
    bgr[depth == 0] = 0
    return bgr


def save_snapshot(directory: Path, last: dict, depth_scale_m: float, color_format: str) -> list:
    import cv2
    directory.mkdir(parents=True, exist_ok=True)
    saved = []
    if "depth" in last:
        p = directory / "depth.png"
        if not cv2.imwrite(str(p), depth_preview(last["depth"].image, depth_scale_m)):
            raise UserError(f"cannot write {p}")
        saved.append(p)
    if "color" in last:
        img = last["color"].image
        bgr = img[..., ::-1] if color_format == "rgb8" else img
        p = directory / "color.png"
        if not cv2.imwrite(str(p), np.ascontiguousarray(bgr)):
            raise UserError(f"cannot write {p}")
        saved.append(p)
    return saved


def _line(stats: dict, window: dict) -> str:
    parts = []
    for stream, st in stats.items():
        n, dt = window.get(stream, (0, 0.0))
        fps = n / dt if dt > 0 else 0.0
        parts.append(f"{stream} {fps:5.1f} fps, dropped {st['dropped'] + st['dropped_host']}")
    return "  ".join(parts)


def run(args) -> int:
    if args.seconds <= 0:
        raise UserError("--seconds must be > 0")
    cam = _open(args)
    print(f"camera: {cam.name}  " + "  ".join(f"{s} {m}" for s, m in cam.modes.items()))
    last: dict = {}
    counts = {s: 0 for s in cam.modes}
    t_start = time.monotonic()
    t_tick = t_start
    try:
        cam.start()
        while time.monotonic() - t_start < args.seconds or args.recording:
            f = cam.read(timeout=0.2)
            if f is None:
                if cam.ended:
                    break
            else:
                last[f.stream] = f
                counts[f.stream] += 1
            now = time.monotonic()
            if now - t_tick >= 1.0:
                # fps from the frames' own host times over the last second
                print(_line(cam.stats(), {s: (counts[s], now - t_tick) for s in counts}),
                      flush=True)
                counts = {s: 0 for s in counts}
                t_tick = now
    finally:
        cam.stop()
    stats = cam.stats()
    for stream, st in stats.items():
        print(f"{stream}: {st['received']} frames, {st['dropped']} dropped by the camera, "
              f"{st['dropped_host']} by this computer, achieved {st['achieved_rate_hz']:.2f} fps "
              f"(nominal {st['nominal_rate_hz']:.0f})")
    for fault in cam.faults:
        print(f"fault: {fault['kind']}: {fault['message']}")
    if args.record:
        print(f"recorded {args.record}")
    if args.snapshot:
        fmt = cam.modes["color"].format if "color" in cam.modes else ""
        for p in save_snapshot(Path(args.snapshot), last, cam.depth_scale_m(), fmt):
            print(f"saved {p}")
    cam.close()
    if not any(st["received"] for st in stats.values()):
        raise UserError("the camera delivered no frames; check the cable and USB port", 1)
    return 1 if any(f["kind"] == "disconnected" for f in cam.faults) else 0

"""The feet near the plate as the depth camera sees them: lab-frame points of each depth frame
low above the plate, for the event time sync (calibration/event_sync.py).

Per depth frame, inside the image box where the plate area (expanded by AREA_MARGIN_M) is seen:
the depth is median-filtered (MEDIAN_PX x MEDIAN_PX, holes count as far away) and deprojected
with the depth intrinsics and the trial's camera pose (/calibration/camera_pose,
T_lab_from_depth); the points above the plate's top by more than CUT_M and lower than TOP_M are
kept. The median filter is what makes points a centimetre above the plate usable: a D435 at
2.5 m gives each pixel ~2.5 cm of depth noise, i.e. ~1 cm of lab height noise on the plate seen
at ~22 degrees, and the 5x5 median brings that to a few millimetres (edges survive it).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

MEDIAN_PX = 5
CUT_M = 0.015          # points this high above the plate top belong to the athlete (>= 4 sigma
#                        of the filtered plate's height noise measured on the virtual D435)
TOP_M = 0.25           # the feet and the lowest part of the shanks
AREA_MARGIN_M = 0.02   # around the plate(s) (a drop-jump box stands 0.10 m behind the plate:
#                        its front face must stay out)
FAR_M = 100.0          # depth given to holes before filtering (never a foot)


@dataclass
class DepthFrames:
    """The trial's depth stream with what is needed to put its pixels in the lab frame."""
    stream: object                 # data.trial_reader.Stream (lazy frames)
    time_host_s: np.ndarray        # (T,) host time of each frame
    T_lab_from_depth: np.ndarray   # (4, 4)
    depth_scale_m: float
    roi: tuple                     # (r0, r1, c0, c1) image box of the plate area
    x_n: np.ndarray                # normalised ray coordinates of the roi (h, w)
    y_n: np.ndarray
    area_lab: tuple                # (xmin, xmax, ymin, ymax) plate area + margin, m

    @property
    def period_s(self) -> float:
        return float(np.median(np.diff(self.time_host_s)))


def plate_area_lab(trial) -> tuple:
    """(xmin, xmax, ymin, ymax) of the union of the trial's plates' tops, lab frame (the
    plate devices' geometry attributes, else the default drivers.plate_geometry.PlateGeometry)."""
    from drivers.plate_geometry import PlateGeometry
    keys = ("length_x_m", "width_y_m", "cell_half_x_m", "cell_half_y_m", "centre_lab_m", "name")
    boxes = []
    for dev in trial.devices().values():
        d = {k: dev.attrs[k] for k in keys if k in dev.attrs}
        if "length_x_m" not in d:
            continue
        if isinstance(d.get("centre_lab_m"), np.ndarray):
            d["centre_lab_m"] = tuple(float(x) for x in d["centre_lab_m"])
        boxes.append(PlateGeometry.from_dict(d))
    if not boxes:
        boxes = [PlateGeometry()]
    xs = [(g.centre_lab_m[0] - g.length_x_m / 2, g.centre_lab_m[0] + g.length_x_m / 2) for g in boxes]
    ys = [(g.centre_lab_m[1] - g.width_y_m / 2, g.centre_lab_m[1] + g.width_y_m / 2) for g in boxes]
    return (min(a for a, _ in xs), max(b for _, b in xs), min(a for a, _ in ys), max(b for _, b in ys))


def depth_camera_pose(trial) -> np.ndarray:
    """T_lab_from_depth (4, 4): the depth camera's pose from /calibration/camera_pose
    (T_lab_from_camera is taken as the depth camera's, CONTRACTS.md). ValueError when absent."""
    cals = trial.calibrations()
    if "camera_pose" not in cals:
        raise ValueError("the trial has no camera pose (/calibration/camera_pose)")
    arr = dict(cals["camera_pose"].arrays)
    return np.asarray(arr.get("T_lab_from_depth", arr.get("T_lab_from_camera")), float)


def depth_intrinsics(trial, stream):
    """(Intrinsics, depth_scale_m) of a depth stream, from its device's `depth` description."""
    from drivers.camera_model import Intrinsics
    d = trial.devices()[stream.device].attrs.get("depth")
    if isinstance(d, str):
        d = json.loads(d)
    return Intrinsics.from_dict(d["intrinsics"]), float(d.get("depth_scale_m") or 0.001)


def depth_frames(trial) -> DepthFrames:
    """The depth stream, intrinsics and camera pose of a trial, cut to the plate area.
    ValueError when one is missing."""
    T = depth_camera_pose(trial)
    streams = trial.streams()
    if "depth" not in streams or len(streams["depth"]) < 3:
        raise ValueError("the trial has no depth frames")
    st = streams["depth"]
    intr, scale = depth_intrinsics(trial, st)
    m = AREA_MARGIN_M
    x0, x1, y0, y1 = plate_area_lab(trial)
    area = (x0 - m, x1 + m, y0 - m, y1 + m)
    corners = np.array([[x, y, z] for x in area[:2] for y in area[2:] for z in (0.0, TOP_M)])
    T_depth_from_lab = np.linalg.inv(T)
    pc = corners @ T_depth_from_lab[:3, :3].T + T_depth_from_lab[:3, 3]
    if np.any(pc[:, 2] <= 0.05):
        raise ValueError("the plate is not in front of the depth camera (check the camera pose)")
    u = intr.fx * pc[:, 0] / pc[:, 2] + intr.ppx
    v = intr.fy * pc[:, 1] / pc[:, 2] + intr.ppy
    pad = MEDIAN_PX
    c0, c1 = int(max(np.floor(u.min()) - pad, 0)), int(min(np.ceil(u.max()) + pad + 1, intr.width))
    r0, r1 = int(max(np.floor(v.min()) - pad, 0)), int(min(np.ceil(v.max()) + pad + 1, intr.height))
    if c1 - c0 < 10 or r1 - r0 < 10:
        raise ValueError("the plate is outside the depth image (check the camera pose)")
    vv, uu = np.mgrid[r0:r1, c0:c1]
    t = np.asarray(st.time_host_s, float)
    n = min(len(t), st.data.shape[0])
    return DepthFrames(st, t[:n], T, scale, (r0, r1, c0, c1), (uu - intr.ppx) / intr.fx,
                       (vv - intr.ppy) / intr.fy, area)


def low_points_lab(frames: DepthFrames, i: int, cut_m: float = CUT_M) -> np.ndarray:
    """(N, 3) lab points of frame i above the plate (cut_m < z < TOP_M, inside the area)."""
    from scipy import ndimage
    r0, r1, c0, c1 = frames.roi
    raw = np.asarray(frames.stream.data[i, r0:r1, c0:c1], float) * frames.depth_scale_m
    z = np.where(raw > 0, raw, FAR_M)
    z = ndimage.median_filter(z, size=MEDIAN_PX, mode="nearest")
    ok = z < FAR_M / 2
    R, p = frames.T_lab_from_depth[:3, :3], frames.T_lab_from_depth[:3, 3]
    P = np.stack([frames.x_n[ok] * z[ok], frames.y_n[ok] * z[ok], z[ok]], axis=-1) @ R.T + p
    x0, x1, y0, y1 = frames.area_lab
    keep = ((P[:, 2] > cut_m) & (P[:, 2] < TOP_M) & (P[:, 0] > x0) & (P[:, 0] < x1)
            & (P[:, 1] > y0) & (P[:, 1] < y1))
    return P[keep]


def frames_between(frames: DepthFrames, t0_host_s: float, t1_host_s: float) -> np.ndarray:
    """Indices of the frames with t0 <= time_host_s <= t1."""
    t = frames.time_host_s
    return np.flatnonzero((t >= t0_host_s) & (t <= t1_host_s))


def split_feet_x(points_per_frame, max_z_m: float = 0.08) -> float:
    """Lab x between the two feet: 2-means of the x of the points lower than max_z_m over all
    frames (x = athlete's right in the reference set-up). ValueError if the feet are not seen
    as two groups at least 8 cm apart."""
    xs = [p[p[:, 2] < max_z_m, 0] for p in points_per_frame if len(p)]
    x = np.concatenate(xs) if xs else np.zeros(0)
    if len(x) < 100:
        raise ValueError("the feet are not seen on the plate by the depth camera")
    c = np.percentile(x, [25, 75])
    for _ in range(30):
        right = np.abs(x - c[0]) > np.abs(x - c[1])
        if right.all() or not right.any():
            break
        c = np.array([x[~right].mean(), x[right].mean()])
    if c[1] - c[0] < 0.08:
        raise ValueError("the depth camera does not see two feet apart on the plate")
    return float(0.5 * (c[0] + c[1]))


def top_ranked_mean(heights_m, n_ref: float, lo: float = 0.1, hi: float = 0.6) -> float:
    """Mean of the heights ranked lo*n_ref .. hi*n_ref from the top (NaN if fewer points): a
    height marker of a rigid part that does not depend on how much of its lower part the plate
    cut hides."""
    h = np.sort(np.asarray(heights_m, float))[::-1]
    i0, i1 = int(lo * n_ref), max(int(hi * n_ref), int(lo * n_ref) + 1)
    return float(h[i0:i1].mean()) if len(h) >= i1 else float("nan")

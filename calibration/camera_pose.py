"""The camera's pose in the lab (plate) frame from the ChArUco board lying on the plate.

Steps (`solve_board_pose`):
1. detect the board in the color image (ArUco markers, then the ChArUco corners between them);
   no markers -> "no board in view"; a board seen at a grazing angle or too few corners -> a
   clear error;
2. PnP on the ChArUco corners (cv2.solvePnP SQPNP, refined with Levenberg-Marquardt):
   T_color_from_board, reprojection error in px;
3. depth check: the plate/board plane fitted in the depth point cloud (open3d RANSAC
   segment_plane, then a least-squares refit on the inliers) in the region where PnP put the
   board -> plane distance (mm) and plane angle (deg) of the PnP board against depth; the board
   corners deprojected from depth (sampled at the corners' color pixels) -> corner depth RMS (mm);
4. refinement: depth fixes the plane (normal and height: many points), the corners fix the
   in-plane position and heading (rays through the corner pixels cut with the depth plane, then
   a 2D rigid fit to the board's known corners). PnP alone is poorly conditioned at the
   ~20 degree view of a flat board 2-3 m away; depth is not;
5. second plane pass: the plane refitted over the whole plate top (calibration.plane_fit.
   plate_top_region, 20 mm inside its edges) where step 4 put it, and step 4 repeated. At 3 m
   the camera position's error is the plane's tilt x 3 m (0.1 deg = 5.5 mm), and that tilt
   error is depth noise: more pixels (the plate top, not only the board's inner part) and more
   frames reduce it (docs/CAMERA_CALIBRATION.md has the measurements).
Result: T_lab_from_color and, through the camera's reported depth->color extrinsic,
T_lab_from_depth, with the errors above. Frames: camera x right, y down, z forward; lab:
origin plate top centre, z up (docs/CONTRACTS.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from calibration.charuco import STATION_BOARD, BoardSpec, corners_board_m, make_board
from calibration.plane_fit import (MIN_PLANE_POINTS, PLATE_INSET_M, Plane, board_region,  # noqa: F401
                                   depth_points, fit_plane, pixel_rays, plane_in_region, plate_top_region,
                                   refit_plane_inverse_depth)
from drivers.camera_model import Intrinsics, invert_pose, transform_points
from station.errors import UserError

MIN_CORNERS = 4                 # ChArUco corners needed for a pose
MAX_VIEW_ANGLE_DEG = 78.0       # angle between the board normal and the line of sight (reference set-ups: 68-72)
MAX_DETECT_FRAMES = 10          # color frames the board is detected in (spread over the capture)


@dataclass
class RgbdFrame:
    """One depth + color pair as the camera reports it."""
    depth_m: np.ndarray                 # (H, W) float, depth (camera z) in metres, 0 = no data
    color_rgb: np.ndarray               # (h, w, 3) uint8
    depth_intrinsics: Intrinsics
    color_intrinsics: Intrinsics
    T_color_from_depth: np.ndarray      # the camera's reported depth -> color extrinsic
    serial: str = ""


@dataclass
class BoardDetection:
    charuco_ids: np.ndarray             # (N,) int
    charuco_px: np.ndarray              # (N, 2) color pixels
    marker_ids: np.ndarray              # (M,) int
    marker_corners_px: np.ndarray       # (M, 4, 2)
    scale: int = 1                      # image enlargement the detection used

    @property
    def n_corners(self) -> int:
        return int(len(self.charuco_ids))


@dataclass
class CameraPose:
    T_lab_from_depth: np.ndarray
    T_lab_from_color: np.ndarray
    method: str                         # "board" or "boardless"
    errors: dict = field(default_factory=dict)   # reprojection_px, plane_distance_mm, ...
    details: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- detection
def _detector_parameters() -> cv2.aruco.DetectorParameters:
    p = cv2.aruco.DetectorParameters()
    # small, foreshortened markers: finer threshold windows, smaller minimum size
    p.adaptiveThreshWinSizeMin, p.adaptiveThreshWinSizeMax, p.adaptiveThreshWinSizeStep = 3, 33, 4
    p.minMarkerPerimeterRate = 0.01
    p.polygonalApproxAccuracyRate = 0.06
    p.perspectiveRemovePixelPerCell = 8
    p.perspectiveRemoveIgnoredMarginPerCell = 0.2
    p.minCornerDistanceRate = 0.02
    p.minDistanceToBorder = 1
    # contour refinement of the marker corners gives the ChArUco interpolation a better start:
    # measured on the rendered board at 3 m / 45 deg, camera position error 5-6.5 mm instead of
    # 8-10 mm with no refinement (and no worse at 2.5 m)
    p.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_CONTOUR
    return p


def detect_board(color_rgb: np.ndarray, spec: BoardSpec = STATION_BOARD,
                 upscales=(2, 3), roi: tuple | None = None) -> BoardDetection:
    """Find the board's markers and ChArUco corners (color pixel coordinates). The image is
    enlarged (`upscales`, cubic) before detection - markers are ~10 px tall in the reference
    set-ups - and the scale giving most corners wins. `roi` (x0, y0, x1, y1): search only there
    (much faster). Never raises; may find nothing."""
    gray = cv2.cvtColor(np.asarray(color_rgb, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    x0 = y0 = 0
    if roi is not None:
        x0, y0, x1, y1 = (int(v) for v in roi)
        gray = gray[y0:y1, x0:x1]
    detector = cv2.aruco.CharucoDetector(make_board(spec), cv2.aruco.CharucoParameters(),
                                         _detector_parameters())
    best = None
    for s in upscales:
        g = gray if s == 1 else cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
        cc, ci, mc, mi = detector.detectBoard(g)
        if mi is not None and len(mi):          # markers of other boards / false positives
            own = np.isin(np.asarray(mi).ravel(), np.asarray(make_board(spec).getIds()).ravel())
            mc = [c for c, k in zip(mc, own) if k]
            mi = np.asarray(mi).reshape(-1, 1)[own] if np.any(own) else None
        n_c = 0 if ci is None else len(ci)
        n_m = 0 if mi is None else len(mi)
        if best is None or (n_c, n_m) > (best[0], best[1]):
            # OpenCV's ArUco/ChArUco corners come out half a pixel off the pixel-centre-at-integer
            # convention of Intrinsics.project (measured on the rendered board: +0.50 px at
            # scale 1, +0.25 at 2, +0.17 at 3, i.e. half a pixel of the detection image):
            # x = (x_s - 0.5 + 0.5) / s - 0.5 in the original image.
            cpx = np.asarray(cc, float).reshape(-1, 2) / s - 0.5 if n_c else np.zeros((0, 2))
            mpx = np.asarray(mc, float).reshape(-1, 4, 2) / s - 0.5 if n_m else np.zeros((0, 4, 2))
            ids = np.asarray(ci, int).ravel() if n_c else np.zeros(0, int)
            mids = np.asarray(mi, int).ravel() if n_m else np.zeros(0, int)
            best = (n_c, n_m, BoardDetection(ids, cpx + [x0, y0], mids, mpx + [x0, y0], s))
    return best[2]


def detect_board_merged(color_rgb: np.ndarray, spec: BoardSpec = STATION_BOARD, upscales=(2, 3),
                        roi: tuple | None = None) -> BoardDetection:
    """detect_board at each of `upscales` separately; each corner's pixel is the mean of the
    scales that found it (markers: the scale that found most). The corners' error is systematic
    and depends on the scale (measured against the rendered truth, RMS px at scale 2 / 3 / both
    averaged: 45 deg 3 m 0.40-0.43 / 0.27-0.28 / 0.32; 45 deg 2 m 0.13 / 0.25 / 0.18-0.19;
    front 2 m 0.18 / 0.11 / 0.13-0.14): which scale is better changes with the view, the mean of
    both is never the worse one, and a corner one scale misses the other may find."""
    dets = [detect_board(color_rgb, spec, upscales=(s,), roi=roi) for s in upscales]
    ids = sorted(set().union(*[set(d.charuco_ids.tolist()) for d in dets]))
    px = np.array([np.mean([d.charuco_px[list(d.charuco_ids).index(i)] for d in dets
                            if i in d.charuco_ids], axis=0) for i in ids]).reshape(-1, 2)
    best = max(dets, key=lambda d: (len(d.marker_ids), d.n_corners))
    return BoardDetection(np.asarray(ids, int), px, best.marker_ids, best.marker_corners_px,
                          max(upscales))


def board_roi(det: BoardDetection, shape, margin_px: int = 30) -> tuple | None:
    """Pixel box around the detected markers (for a faster search in the next frames)."""
    if len(det.marker_ids) == 0:
        return None
    pts = det.marker_corners_px.reshape(-1, 2)
    h, w = shape[:2]
    return (max(0, int(pts[:, 0].min()) - margin_px), max(0, int(pts[:, 1].min()) - margin_px),
            min(w, int(pts[:, 0].max()) + margin_px + 1), min(h, int(pts[:, 1].max()) + margin_px + 1))


def detection_frames(frames, max_frames: int = MAX_DETECT_FRAMES) -> list:
    """At most `max_frames` frames spread evenly over the capture, for board detection. The
    corners' error is systematic (the same in every frame of a still camera), so detecting in
    more frames costs time and gains nothing; the depth of every frame is still used."""
    frames = list(frames)
    if len(frames) <= max_frames:
        return frames
    idx = np.unique(np.round(np.linspace(0, len(frames) - 1, max_frames)).astype(int))
    return [frames[i] for i in idx]


def detect_board_frames(frames, spec: BoardSpec = STATION_BOARD) -> list[BoardDetection]:
    """The board in each frame of a still camera: the first frame is searched whole, then every
    frame only around the board found there, at 2x and 3x enlargement (detect_board_merged)."""
    out, roi = [], None
    for f in frames:
        if roi is None:
            # whole image at 2x (cheaper), then 3x only if that found nothing
            det = detect_board(f.color_rgb, spec, upscales=(2,))
            if len(det.marker_ids) == 0:
                det = detect_board(f.color_rgb, spec, upscales=(3,))
            roi = board_roi(det, f.color_rgb.shape)
        if roi is not None:
            det = detect_board_merged(f.color_rgb, spec, upscales=(2, 3), roi=roi)
        out.append(det)
    return out


# --------------------------------------------------------------------------- PnP
def _undistorted_norm(px: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Pixels -> normalised image coordinates (x/z, y/z), removing lens distortion if any."""
    px = np.asarray(px, float).reshape(-1, 1, 2)
    dist = np.asarray(intr.coeffs, float) if intr.model != "none" else np.zeros(5)
    return cv2.undistortPoints(px, intr.matrix, dist).reshape(-1, 2)


def _dist(intr: Intrinsics) -> np.ndarray:
    return np.asarray(intr.coeffs, float) if intr.model != "none" else np.zeros(5)


def _pose_from_rvec(rvec, tvec) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = cv2.Rodrigues(np.asarray(rvec, float))[0]
    T[:3, 3] = np.asarray(tvec, float).ravel()
    return T


def _pnp(obj: np.ndarray, px: np.ndarray, intr: Intrinsics) -> tuple[np.ndarray, float]:
    """T_color_from_board and RMS reprojection error (px)."""
    obj = np.ascontiguousarray(obj, dtype=np.float64).reshape(-1, 3)
    img = np.ascontiguousarray(px, dtype=np.float64).reshape(-1, 2)
    ok, rvec, tvec = cv2.solvePnP(obj, img, intr.matrix, _dist(intr), flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        raise UserError("the board was seen but its pose could not be solved; "
                        "move it fully into view and try again")
    rvec, tvec = cv2.solvePnPRefineLM(obj, img, intr.matrix, _dist(intr), rvec, tvec)
    proj, _ = cv2.projectPoints(obj, rvec, tvec, intr.matrix, _dist(intr))
    rms = float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - img) ** 2, axis=1))))
    return _pose_from_rvec(rvec, tvec), rms


def view_angle_deg(T_color_from_board: np.ndarray, spec: BoardSpec = STATION_BOARD) -> float:
    """Angle between the board's normal and the line of sight to its centre (0 = face on,
    90 = edge on)."""
    w, h = spec.size_m
    centre = transform_points(T_color_from_board, np.array([w / 2, h / 2, 0.0]))
    n = T_color_from_board[:3, 2]
    c = abs(float(n @ centre) / np.linalg.norm(centre))
    return float(np.degrees(np.arccos(min(1.0, c))))


# --------------------------------------------------------------------------- depth
# (the plate/board plane in depth: calibration/plane_fit.py)
def depth_at_color_pixels(frame: RgbdFrame, px_color: np.ndarray, radius_px: float = 2.5) -> np.ndarray:
    """Depth aligned to color at given color pixels: (N, 3) points in the COLOR frame, from the
    median of the depth points that project within `radius_px` of each pixel (NaN if none)."""
    pts_d, _ = depth_points(frame)
    pts_c = transform_points(frame.T_color_from_depth, pts_d)
    pts_c = pts_c[pts_c[:, 2] > 0]
    uv = frame.color_intrinsics.project(pts_c)
    out = np.full((len(px_color), 3), np.nan)
    for i, p in enumerate(np.asarray(px_color, float)):
        near = np.sum((uv - p) ** 2, axis=1) <= radius_px ** 2
        if np.count_nonzero(near) >= 1:
            z = float(np.median(pts_c[near, 2]))
            xn = _undistorted_norm(p[None], frame.color_intrinsics)[0]
            out[i] = [xn[0] * z, xn[1] * z, z]
    return out


def _as_frames(frames) -> list[RgbdFrame]:
    frames = [frames] if isinstance(frames, RgbdFrame) else list(frames)
    if not frames:
        raise UserError("no camera frames to calibrate from; check that the camera streams")
    return frames


# --------------------------------------------------------------------------- solve
def _unit_perp(axis_unit: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Unit vector of `ref` projected onto the plane perpendicular to axis_unit."""
    v = ref - (ref @ axis_unit) * axis_unit
    return v / np.linalg.norm(v)


def _pose_on_plane(plane_color: Plane, e1: np.ndarray, theta: float, t2: np.ndarray, z_lab: float) -> np.ndarray:
    """T_color_from_lab with lab z = plane normal, lab x at angle theta from e1 in the plane,
    lab point (t2, z_lab) at the plane's in-plane coordinates t2."""
    n = plane_color.normal
    e2 = np.cross(n, e1)
    c, s = np.cos(theta), np.sin(theta)
    T = np.eye(4)
    T[:3, 0] = c * e1 + s * e2
    T[:3, 1] = -s * e1 + c * e2
    T[:3, 2] = n
    T[:3, 3] = -plane_color.d * n + t2[0] * e1 + t2[1] * e2 - z_lab * n
    return T


def pose_from_plane_and_corners(plane_color: Plane, px: np.ndarray, corners_lab: np.ndarray,
                                intr: Intrinsics, x_lab_hint_color: np.ndarray) -> np.ndarray:
    """T_color_from_lab from a plane (color frame; normal = lab +z; the corners lie on it) and the
    color pixels of known lab corners (all at the same lab z). The plane fixes tilt and height;
    the in-plane heading and position (3 parameters) minimise the pixel reprojection error
    (pixel noise is isotropic, in-plane errors at a ~20 degree view are not), started from a 2D
    rigid fit of the corner rays cut with the plane."""
    from scipy.optimize import least_squares
    n = plane_color.normal
    rays = np.column_stack([_undistorted_norm(px, intr), np.ones(len(px))])
    P = rays * (-plane_color.d / (rays @ n))[:, None]          # corners on the plane, color frame
    e1 = _unit_perp(n, x_lab_hint_color)
    e2 = np.cross(n, e1)
    q = np.column_stack([P @ e1, P @ e2])
    m = corners_lab[:, :2]
    qc, mc = q.mean(axis=0), m.mean(axis=0)
    H = (m - mc).T @ (q - qc)
    theta0 = float(np.arctan2(H[0, 1] - H[1, 0], H[0, 0] + H[1, 1]))
    c, s = np.cos(theta0), np.sin(theta0)
    t0 = qc - np.array([[c, -s], [s, c]]) @ mc
    z_lab = float(corners_lab[0, 2])

    def residual(x):
        T = _pose_on_plane(plane_color, e1, x[0], x[1:], z_lab)
        return (_project(intr, transform_points(T, corners_lab)) - px).ravel()

    # robust (soft L1 beyond 0.25 px): at a ~20 degree view single corners can be off by 1-1.5 px
    # (measured on the rendered board at 3 m, 45 degrees) where markers crowd the saddle points
    sol = least_squares(residual, np.r_[theta0, t0], x_scale=np.array([1e-3, 1e-3, 1e-3]),
                        loss="soft_l1", f_scale=0.25)
    return _pose_on_plane(plane_color, e1, sol.x[0], sol.x[1:], z_lab)


def _project(intr: Intrinsics, pts_c: np.ndarray) -> np.ndarray:
    if intr.model == "none":
        return intr.project(pts_c)
    return cv2.projectPoints(pts_c, np.zeros(3), np.zeros(3), intr.matrix, _dist(intr))[0].reshape(-1, 2)


def _rms_px(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum((a - b) ** 2, axis=1))))


def average_detections(detections: list[BoardDetection]) -> BoardDetection:
    """Corners seen in at least half of the frames, their pixels averaged over those frames;
    markers of the frame with most markers."""
    best = max(detections, key=lambda d: len(d.marker_ids))
    ids_all = np.concatenate([d.charuco_ids for d in detections]) if detections else np.zeros(0, int)
    ids, counts = np.unique(ids_all, return_counts=True)
    ids = ids[counts * 2 >= len(detections)]
    px = np.array([np.mean([d.charuco_px[list(d.charuco_ids).index(i)] for d in detections
                            if i in d.charuco_ids], axis=0) for i in ids]).reshape(-1, 2)
    return BoardDetection(ids.astype(int), px, best.marker_ids, best.marker_corners_px)


def _spans_two_rows_and_columns(ids: np.ndarray, spec: BoardSpec) -> bool:
    cols = spec.squares_x - 1
    return len(set(ids // cols)) >= 2 and len(set(ids % cols)) >= 2


def check_board_view(det: BoardDetection, intr: Intrinsics, spec: BoardSpec = STATION_BOARD,
                     min_corners: int = MIN_CORNERS,
                     max_view_angle_deg: float = MAX_VIEW_ANGLE_DEG) -> tuple[np.ndarray, float, float]:
    """The technician's checks, in order: board in view? seen at a usable angle? enough corners
    (spanning two rows and two columns)? Returns (T_color_from_board by PnP, its RMS
    reprojection px, view angle deg); raises UserError naming what to fix."""
    if len(det.marker_ids) == 0:
        raise UserError("no calibration board in view; lay the ChArUco board on the plate "
                        "(markers 0 and 1 along the front edge) and make sure the camera sees the plate")
    enough = det.n_corners >= min_corners
    if enough and _spans_two_rows_and_columns(det.charuco_ids, spec):
        T_cb, rms = _pnp(corners_board_m(spec)[det.charuco_ids], det.charuco_px, intr)
    else:
        # corners in one row only (PnP on them is degenerate) or too few: the markers' corners
        # give a rougher pose, enough to judge the viewing angle and to find the board in depth
        # (the depth plane then fixes tilt and height, and the corners heading and position)
        board = make_board(spec)
        all_ids = list(np.asarray(board.getIds()).ravel())
        obj = np.concatenate([np.asarray(board.getObjPoints()[all_ids.index(i)], float)
                              for i in det.marker_ids])
        T_cb, rms = _pnp(obj, det.marker_corners_px.reshape(-1, 2), intr)
    angle = view_angle_deg(T_cb, spec)
    if angle > max_view_angle_deg:
        raise UserError(f"the board is seen at a grazing angle ({angle:.0f} deg from face-on, at "
                        f"most {max_view_angle_deg:.0f} allowed); raise the camera or tilt it down "
                        "so it looks down on the plate")
    if not enough:
        raise UserError(f"too few board corners found ({det.n_corners}, at least {min_corners} "
                        "needed); move the camera closer, light the board evenly, avoid glare")
    return T_cb, rms, angle


def solve_board_pose(frames, spec: BoardSpec = STATION_BOARD, detections: list | None = None,
                     min_corners: int = MIN_CORNERS,
                     max_view_angle_deg: float = MAX_VIEW_ANGLE_DEG, geom=None,
                     plate_pass: bool = True) -> CameraPose:
    """Camera pose from the board on the plate (color), checked and refined with depth.

    `frames`: one RgbdFrame or several of a still camera (the wizard passes 3 s, 90 frames; the
    board is detected in 10 of them, spread over the capture, and its corner pixels averaged; the
    plane is fitted to the depth of all frames). `geom` (PlateGeometry, default the standard
    plate): the plate top the second plane pass uses; `plate_pass=False` skips that pass.
    Raises UserError: no board in view, board at a grazing angle, too few corners, no depth."""
    frames = _as_frames(frames)
    intr = frames[0].color_intrinsics
    T_color_from_depth = np.asarray(frames[0].T_color_from_depth, float)
    dets = detections if detections is not None else detect_board_frames(detection_frames(frames), spec)
    det = average_detections(dets)
    T_color_from_board, reproj_pnp, angle = check_board_view(det, intr, spec, min_corners,
                                                             max_view_angle_deg)
    # depth: the plane where PnP put the board
    T_depth_from_color = invert_pose(T_color_from_depth)
    plane_d, n_pts = plane_in_region(frames, board_region(T_depth_from_color @ T_color_from_board, spec))
    plane_c = plane_d.transformed(T_color_from_depth)
    board_up_c = -T_color_from_board[:3, 2]                 # board z points into the board
    plane_angle = float(np.degrees(np.arccos(np.clip(board_up_c @ plane_c.normal, -1, 1))))
    w, h = spec.size_m
    centre_c = transform_points(T_color_from_board, np.array([w / 2, h / 2, 0.0]))
    plane_distance_mm = float(plane_c.distance(centre_c[None])[0] * 1000.0)
    # the board's corners deprojected from depth aligned to color, against PnP's corners
    corners_b = corners_board_m(spec)[det.charuco_ids]
    corners_pnp_c = transform_points(T_color_from_board, corners_b)
    corners_depth_c = depth_at_color_pixels(frames[0], det.charuco_px)
    ok = np.all(np.isfinite(corners_depth_c), axis=1)
    if not np.any(ok):
        raise UserError("no depth at the board's corners; check the depth stream and that the "
                        "board is not shiny")
    corner_depth_rms_mm = float(np.sqrt(np.mean(np.sum((corners_depth_c[ok] - corners_pnp_c[ok]) ** 2,
                                                       axis=1))) * 1000.0)
    # refine: plane from depth, in-plane position and heading from the corners
    T_lab_from_board = spec.T_lab_from_board
    corners_lab = transform_points(T_lab_from_board, corners_b)
    T_color_from_lab_pnp = T_color_from_board @ invert_pose(T_lab_from_board)
    T_color_from_lab = pose_from_plane_and_corners(plane_c, det.charuco_px, corners_lab, intr,
                                                   T_color_from_lab_pnp[:3, 0])
    if plate_pass:
        # second pass: the plane again, now over the whole plate top where the refined pose puts
        # it (the first pass had to stay 30 mm inside the board where PnP put it). The plane's
        # tilt is what limits the camera position at 3 m (0.1 deg = 5.5 mm there): measured on
        # the rendered plate, its error is depth noise and falls with more pixels and frames.
        T_depth_from_lab = T_depth_from_color @ T_color_from_lab
        plane_d2, n_pts = plane_in_region(frames, plate_top_region(T_depth_from_lab, spec, geom))
        plane_c = plane_d2.transformed(T_color_from_depth)
        plane_rms_mm = plane_d2.rms_m * 1000.0
        tilt_se = plane_d2.tilt_se_rad
        T_color_from_lab = pose_from_plane_and_corners(plane_c, det.charuco_px, corners_lab, intr,
                                                       T_color_from_lab[:3, 0])
    else:
        plane_rms_mm, tilt_se = plane_d.rms_m * 1000.0, plane_d.tilt_se_rad
    reproj = _rms_px(_project(intr, transform_points(T_color_from_lab, corners_lab)), det.charuco_px)
    T_lab_from_color = invert_pose(T_color_from_lab)
    T_lab_from_depth = T_lab_from_color @ T_color_from_depth
    T_lab_from_color_pnp = invert_pose(T_color_from_lab_pnp)
    pnp_shift_mm = float(np.linalg.norm(T_lab_from_color_pnp[:3, 3] - T_lab_from_color[:3, 3]) * 1000)
    # the plane's tilt moves the camera by tilt x its distance from the plate: the part of the
    # camera position's error that depth noise alone explains (1 standard error)
    plate_distance_m = float(np.linalg.norm(T_lab_from_color[:3, 3]))
    return CameraPose(
        T_lab_from_depth=T_lab_from_depth, T_lab_from_color=T_lab_from_color, method="board",
        errors={"reprojection_px": reproj, "reprojection_pnp_px": reproj_pnp,
                "plane_distance_mm": plane_distance_mm, "plane_angle_deg": plane_angle,
                "corner_depth_rms_mm": corner_depth_rms_mm, "plane_rms_mm": plane_rms_mm,
                "pnp_vs_refined_mm": pnp_shift_mm, "plane_tilt_se_deg": float(np.degrees(tilt_se)),
                "position_se_from_tilt_mm": float(tilt_se * plate_distance_m * 1000.0)},
        details={"n_frames": len(frames), "n_corners": det.n_corners,
                 "n_markers": int(len(det.marker_ids)), "view_angle_deg": angle,
                 "n_plane_points_per_frame": n_pts, "T_lab_from_color_pnp": T_lab_from_color_pnp.tolist()})


def pose_error(T_est: np.ndarray, T_true: np.ndarray) -> tuple[float, float]:
    """(position error m, rotation error rad) between two poses of the same frame."""
    dp = float(np.linalg.norm(T_est[:3, 3] - T_true[:3, 3]))
    R = T_est[:3, :3].T @ T_true[:3, :3]
    ang = float(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1)))
    return dp, ang

"""The camera's pose in the lab frame WITHOUT a board: the plate top found in depth.

Steps (`solve_boardless_pose`):
1. the floor: the largest plane of the depth cloud whose normal is within 45 degrees of the
   camera's "up" (-y: the camera is not rolled) (open3d RANSAC);
2. the plate top: depth points 20-150 mm above the floor, their plane (RANSAC, then the
   inverse-depth least squares of camera_pose.refit_plane_inverse_depth); its pixels (those
   whose depth agrees with the plane along their ray), largest connected blob;
3. the plate's outline: only the blob's OCCLUSION edges are used - where the next pixel out
   sees something clearly farther (the floor beside or behind the plate). The edges nearest the
   camera are creases into the plate's visible side faces, whose depth runs on continuously
   and cannot be told from the top's within the depth noise; they are left out. Each edge
   point is the ray through the border between the last top pixel and the first pixel out,
   cut with the top plane;
4. a rectangle of the plate's known size (PlateGeometry, 0.60 x 0.40 m) fitted to those edge
   points (centre and heading, robust least squares on the rectangle's signed distance).
   Lab frame: origin the rectangle's centre on the top plane, z = the top's normal (up), x
   along the long side; of the two ways round, +y is the one on the camera's side (the
   reference set-ups put the camera in front of the athlete, or 45 degrees to the front right).
5. a second pass seeded with the first (the plane from the plate's inner part only).
How accurate it is (docs/CAMERA_CALIBRATION.md, bench/bench_camera_calibration.py): on the
virtual scene up to 5.6 mm and 0.08 deg at 2-3 m with the wizard's 90 frames (up to 12.5 mm
and 0.21 deg with 10), close to the board method; the heading and
in-plane position rest on edge pixels of 6-17 mm footprint, and real plates (rounded edges,
cables, mats) and real depth (edge artefacts, plane bias) will do worse than the ideal box.
"""
from __future__ import annotations

import cv2
import numpy as np

from calibration.camera_pose import CameraPose, RgbdFrame, _as_frames
from calibration.plane_fit import Plane, fit_plane, pixel_rays, plane_in_region
from drivers.camera_model import invert_pose
from drivers.plate_geometry import PlateGeometry
from station.errors import UserError

MIN_HEIGHT_M = 0.020          # plate top above the floor: search band
MAX_HEIGHT_M = 0.150
MIN_EDGE_POINTS = 40


def _mean_depth(frames: list[RgbdFrame]) -> np.ndarray:
    """Per-pixel mean of the valid depth over frames (0 where never valid)."""
    total = np.zeros(np.shape(frames[0].depth_m), float)
    n = np.zeros(total.shape, np.int32)
    for f in frames:             # running sums: a 3 s capture is 90 frames
        z = np.asarray(f.depth_m, float)
        valid = z > 0
        total[valid] += z[valid]
        n += valid
    return np.where(n > 0, total / np.maximum(n, 1), 0.0)


def find_floor(points_depth: np.ndarray, max_tilt_deg: float = 45.0) -> Plane:
    """Floor plane (depth frame, normal up) among the 3 largest RANSAC planes."""
    pts = points_depth
    up_guess = np.array([0.0, -1.0, 0.0])
    best = None
    for _ in range(3):
        if len(pts) < 500:
            break
        plane = fit_plane(pts, threshold_m=0.04)
        n = plane.normal if plane.normal @ up_guess > 0 else -plane.normal
        d = plane.d if plane.normal @ up_guess > 0 else -plane.d
        near = np.abs(pts @ plane.normal + plane.d) < 0.04
        if np.degrees(np.arccos(np.clip(n @ up_guess, -1, 1))) < max_tilt_deg:
            cand = Plane(n, d, int(near.sum()), plane.rms_m)
            if best is None or cand.n_inliers > best.n_inliers:
                best = cand
        pts = pts[~near]
    if best is None:
        raise UserError("no floor found in the depth image; point the camera at the plate and the "
                        "floor around it (and check the depth stream)")
    return best


def _plate_mask(z: np.ndarray, rays: np.ndarray, top: Plane, centre_depth: np.ndarray,
                radius_m: float = 0.6, tol_m: float = 0.015) -> np.ndarray:
    """Pixels whose (frame-averaged) depth point lies within `tol_m` of the top plane and within
    `radius_m` of the plate's rough centre; the largest connected blob, small holes closed."""
    p = rays * z[..., None]
    dist = p @ top.normal + top.d
    on = (z > 0) & (np.abs(dist) < tol_m) & (np.linalg.norm(p - centre_depth, axis=-1) < radius_m)
    m = cv2.morphologyEx(on.astype(np.uint8), cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=4)
    if n <= 1:
        return np.zeros_like(on)
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    blob = (lab == k).astype(np.uint8)
    blob = cv2.morphologyEx(blob, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    return blob.astype(bool)


def occlusion_edge_pixels(mask: np.ndarray, z: np.ndarray, jump_m: float = 0.06, reach: int = 3) -> np.ndarray:
    """(N, 2) sub-pixel (u, v) points on the border between a mask pixel and the next pixel out,
    where the depth beyond the border (median of the next `reach` valid pixels) is at least
    `jump_m` farther than inside: the plate's edges against the floor behind or beside it."""
    H, W = mask.shape
    zf = cv2.medianBlur(z.astype(np.float32), 3)
    pts = []
    for du, dv in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        inside = mask.copy()
        # mask pixels whose neighbour in (du, dv) is out of the mask
        nb = np.zeros_like(mask)
        sl_src = (slice(max(0, -dv), H - max(0, dv)), slice(max(0, -du), W - max(0, du)))
        sl_dst = (slice(max(0, dv), H - max(0, -dv)), slice(max(0, du), W - max(0, -du)))
        nb[sl_src] = mask[sl_dst]
        border = inside & ~nb
        v, u = np.nonzero(border)
        z_in = zf[v, u]
        beyond = []
        for k in range(1, reach + 1):
            uu, vv = np.clip(u + k * du, 0, W - 1), np.clip(v + k * dv, 0, H - 1)
            zk = zf[vv, uu]
            beyond.append(np.where(zk > 0, zk, np.nan))
        b = np.stack(beyond)
        cnt = np.isfinite(b).sum(axis=0)
        z_out = np.full(len(u), np.nan)
        if np.any(cnt):
            with np.errstate(all="ignore"):
                z_out[cnt > 0] = np.nanmedian(b[:, cnt > 0], axis=0)
        keep = np.isfinite(z_out) & (z_in > 0) & (z_out - z_in > jump_m)
        pts.append(np.column_stack([u[keep] + 0.5 * du, v[keep] + 0.5 * dv]))
    return np.concatenate(pts) if pts else np.zeros((0, 2))


def _plate_sized_blob(lab, stats, rays, z, floor: Plane, geom: PlateGeometry):
    """The connected blob whose footprint on the floor is closest to the plate's size (a wall's
    foot or a box would be some other size); None if none is within 40%."""
    e1, e2 = _plane_basis(floor.normal, np.array([1.0, 0.0, 0.0]))
    want = np.array(sorted([geom.length_x_m, geom.width_y_m]))
    best, best_err = None, 0.4
    for k in range(1, len(stats)):
        if stats[k, cv2.CC_STAT_AREA] < 50:
            continue
        m = lab == k
        p = rays[m] * z[m][:, None]
        q = np.column_stack([p @ e1, p @ e2]).astype(np.float32)
        (_, _), (w, h), _ = cv2.minAreaRect(q)
        err = float(np.max(np.abs(np.array(sorted([w, h])) - want) / want))
        if err < best_err:
            best, best_err = m, err
    return best


def _rect_sdf(q: np.ndarray, half: np.ndarray) -> np.ndarray:
    d = np.abs(q) - half
    outside = np.linalg.norm(np.maximum(d, 0.0), axis=1)
    inside = np.minimum(np.max(d, axis=1), 0.0)
    return outside + inside


def fit_rectangle(points_2d: np.ndarray, size_m: tuple, centre0, theta0: float) -> tuple[np.ndarray, float, float]:
    """Centre (2,), heading (rad) of a rectangle of known size (along its x, y) whose outline
    best fits the points (robust); and the RMS distance of the inlying points (m)."""
    from scipy.optimize import least_squares
    half = np.asarray(size_m, float) / 2

    def residual(x):
        c, s = np.cos(x[2]), np.sin(x[2])
        q = (points_2d - x[:2]) @ np.array([[c, -s], [s, c]])      # into the rectangle frame
        return _rect_sdf(q, half)

    sol = least_squares(residual, np.r_[centre0, theta0], loss="soft_l1", f_scale=0.01,
                        x_scale=np.array([0.01, 0.01, 0.01]))
    r = residual(sol.x)
    rms = float(np.sqrt(np.mean(r[np.abs(r) < 0.03] ** 2))) if np.any(np.abs(r) < 0.03) else float("nan")
    return sol.x[:2], float(sol.x[2]), rms


def _plane_basis(n: np.ndarray, hint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    e1 = hint - (hint @ n) * n
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(n, e1)


def solve_boardless_pose(frames, geom: PlateGeometry = PlateGeometry(),
                         T_lab_from_depth_prior: np.ndarray | None = None) -> CameraPose:
    """Camera pose from the plate top alone (depth only). With a prior pose (e.g. the stored
    calibration, for the self-check) the floor search is skipped and the plate is looked for
    where the prior puts it. Raises UserError when no plate is found."""
    frames = _as_frames(frames)
    intr = frames[0].depth_intrinsics
    rays = pixel_rays(intr)
    z = _mean_depth(frames)
    if np.count_nonzero(z > 0) < 0.05 * z.size:
        raise UserError("no depth: fewer than 5% of the depth pixels are valid; check the depth stream")
    if T_lab_from_depth_prior is None:
        valid = z > 0
        pts = rays[valid][::7] * z[valid][::7][:, None]
        floor = find_floor(pts)
        # pixels between MIN_HEIGHT_M and MAX_HEIGHT_M above the floor: the plate is their
        # largest compact blob (far floor pixels pass the band by noise, but scattered)
        h_img = np.where(valid, (rays * z[..., None]) @ floor.normal + floor.d, np.nan)
        with np.errstate(invalid="ignore"):
            band_img = ((h_img > MIN_HEIGHT_M) & (h_img < MAX_HEIGHT_M)).astype(np.uint8)
        band_img = cv2.morphologyEx(band_img, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        n_cc, lab, stats, _ = cv2.connectedComponentsWithStats(band_img, connectivity=4)
        blob = _plate_sized_blob(lab, stats, rays, z, floor, geom)
        if blob is None:
            raise UserError("no plate found above the floor in the depth image; make sure the "
                            "plate is in view and nothing stands on it")
        bpts = rays[blob] * z[blob][:, None]
        top0 = fit_plane(bpts, threshold_m=0.02)
        if top0.normal @ floor.normal < 0:
            top0 = Plane(-top0.normal, -top0.d, top0.n_inliers, top0.rms_m)
        centre0_d = np.median(bpts, axis=0)
        mask0 = _plate_mask(z, rays, top0, centre0_d, tol_m=0.025)
        top, _ = plane_in_region(frames, lambda r: (cv2.erode(mask0.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0, None),
                                 min_points=100)
        x_hint = np.array([1.0, 0.0, 0.0])
    else:
        T_depth_from_lab = invert_pose(T_lab_from_depth_prior)

        def region(r):
            n = T_depth_from_lab[:3, 2]
            o = T_depth_from_lab[:3, 3]
            with np.errstate(divide="ignore", invalid="ignore"):
                t = (n @ o) / (r @ n)
            p = (r * t[..., None] - o) @ T_depth_from_lab[:3, :3]
            m = (t > 0) & (np.abs(p[..., 0]) < geom.length_x_m / 2 - 0.06) & (np.abs(p[..., 1]) < geom.width_y_m / 2 - 0.06)
            return m, t
        top, _ = plane_in_region(frames, region, min_points=100)
        x_hint = T_depth_from_lab[:3, 0]
        centre0_d = T_depth_from_lab[:3, 3]
    mask = _plate_mask(z, rays, top, centre0_d)
    edge_px = occlusion_edge_pixels(mask, z)
    if len(edge_px) < MIN_EDGE_POINTS:
        raise UserError(f"the plate's edges are not clear in depth ({len(edge_px)} edge points, "
                        f"{MIN_EDGE_POINTS} needed); clear the floor around the plate")
    # edge rays cut with the top plane -> in-plane coordinates
    er = np.column_stack([(edge_px[:, 0] - intr.ppx) / intr.fx, (edge_px[:, 1] - intr.ppy) / intr.fy,
                          np.ones(len(edge_px))])
    P = er * (-top.d / (er @ top.normal))[:, None]
    n = top.normal
    e1, e2 = _plane_basis(n, x_hint)
    q = np.column_stack([P @ e1, P @ e2])
    # start: the prior, or the blob's minimum-area rectangle
    if T_lab_from_depth_prior is None:
        mv, mu = np.nonzero(mask)
        mr = np.column_stack([(mu - intr.ppx) / intr.fx, (mv - intr.ppy) / intr.fy, np.ones(len(mu))])
        Pm = mr * (-top.d / (mr @ n))[:, None]
        qm = np.column_stack([Pm @ e1, Pm @ e2]).astype(np.float32)
        (cx, cy), (w, h), ang = cv2.minAreaRect(qm)
        theta0 = np.radians(ang) + (0.0 if w >= h else np.pi / 2)
        centre0 = np.array([cx, cy])
    else:
        o = invert_pose(T_lab_from_depth_prior)[:3, 3]
        centre0 = np.array([o @ e1, o @ e2])
        theta0 = 0.0
    centre, theta, rms = fit_rectangle(q, (geom.length_x_m, geom.width_y_m), centre0, theta0)
    x_d = np.cos(theta) * e1 + np.sin(theta) * e2
    y_d = np.cross(n, x_d)
    origin = -top.d * n + centre[0] * e1 + centre[1] * e2
    # the camera (depth origin) must be on the +y side of the plate
    if (-origin) @ y_d < 0:
        x_d, y_d = -x_d, -y_d
    T_depth_from_lab = np.eye(4)
    T_depth_from_lab[:3, 0], T_depth_from_lab[:3, 1], T_depth_from_lab[:3, 2] = x_d, y_d, n
    T_depth_from_lab[:3, 3] = origin - np.asarray(geom.centre_lab_m, float)[0] * x_d \
        - np.asarray(geom.centre_lab_m, float)[1] * y_d
    T_lab_from_depth = invert_pose(T_depth_from_lab)
    if T_lab_from_depth_prior is None:
        # second pass seeded with the first: the plane from the plate's inner part only (the
        # first pass's plane may include the top rows of the visible side faces)
        return solve_boardless_pose(frames, geom, T_lab_from_depth_prior=T_lab_from_depth)
    T_lab_from_color = T_lab_from_depth @ invert_pose(np.asarray(frames[0].T_color_from_depth, float))
    return CameraPose(T_lab_from_depth=T_lab_from_depth, T_lab_from_color=T_lab_from_color,
                      method="boardless",
                      errors={"edge_rms_mm": rms * 1000.0, "plane_rms_mm": top.rms_m * 1000.0},
                      details={"n_edge_points": int(len(edge_px)), "n_frames": len(frames),
                               "n_plate_pixels": int(mask.sum())})

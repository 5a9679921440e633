"""The plate's (or board's) plane in the depth camera's point cloud, for the camera -> plate
calibration (calibration.camera_pose, calibration.boardless, calibration.self_check).

Stereo depth noise lies along the viewing rays and is constant in disparity (~1/z), so:
pixels are chosen by their RAY (where the plate is believed to be), never by their noisy 3D
point, and the plane is fitted by least squares in inverse depth (`refit_plane_inverse_depth`)
after a RANSAC pass (open3d) that finds its inliers. Frames: the depth camera's (x right, y down,
z forward); a plane is n . p + d = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.charuco import BoardSpec
from drivers.camera_model import Intrinsics, invert_pose, transform_points
from station.errors import UserError

MIN_PLANE_POINTS = 300          # depth points on the board/plate needed for the plane
PLATE_INSET_M = 0.02            # second plane pass: plate top used up to this far from its edges


def _frame_list(frames) -> list:
    frames = [frames] if hasattr(frames, "depth_m") else list(frames)
    if not frames:
        raise UserError("no camera frames to calibrate from; check that the camera streams")
    return frames


@dataclass(frozen=True)
class Plane:
    """n . p + d = 0 in some frame, unit normal n, with its inlier count and RMS residual, and
    the standard error of its tilt (rad, worst direction) from the fit's residuals - which assumes
    independent noise in every pixel and frame (true of the virtual camera; a real D400's error
    of a still scene is partly the same in every frame, so treat it as a lower bound there)."""
    normal: np.ndarray
    d: float
    n_inliers: int
    rms_m: float
    tilt_se_rad: float = float("nan")

    def distance(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, float) @ self.normal + self.d

    def transformed(self, T_to_from_this: np.ndarray) -> "Plane":
        R, t = T_to_from_this[:3, :3], T_to_from_this[:3, 3]
        n = R @ self.normal
        return Plane(n, float(self.d - n @ t), self.n_inliers, self.rms_m, self.tilt_se_rad)


def depth_points(frame, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Valid depth pixels -> ((N, 3) points in the depth camera frame, (N, 2) their pixels)."""
    z = np.asarray(frame.depth_m, float)[::stride, ::stride]
    v, u = np.nonzero(z > 0)
    px = np.stack([u * stride, v * stride], axis=-1).astype(float)
    return frame.depth_intrinsics.deproject(px, z[v, u]), px


def fit_plane(points_depth: np.ndarray, threshold_m: float = 0.03, seed: int = 0,
              ransac_iterations: int = 300) -> Plane:
    """Plane through depth-camera points (depth camera frame): RANSAC (open3d segment_plane)
    for the inliers, then `refit_plane_inverse_depth` on them."""
    import open3d as o3d
    pts = np.asarray(points_depth, float)
    if len(pts) < 3:
        raise ValueError("fewer than 3 points")
    o3d.utility.random.seed(seed)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
    model, _ = cloud.segment_plane(distance_threshold=threshold_m, ransac_n=3,
                                   num_iterations=ransac_iterations)
    a, b, c, d = model
    k = float(np.linalg.norm([a, b, c]))
    near = np.abs(pts @ (np.array([a, b, c]) / k) + d / k) < threshold_m
    # refit on ALL the points near the RANSAC plane (not only its inliers, which a slightly
    # tilted RANSAC plane would truncate unevenly)
    return refit_plane_inverse_depth(pts, keep=near)


def refit_plane_inverse_depth(points_depth: np.ndarray, keep: np.ndarray | None = None) -> Plane:
    """Least-squares plane for stereo depth points (depth camera frame).

    Stereo noise lies along the viewing rays and is constant in disparity (~1/z), not isotropic:
    an orthogonal (PCA) fit of a plane seen at ~20 degrees is then tilted by the ray-direction
    noise (measured: 0.4-0.75 deg on the rendered plate 2-2.5 m away). In inverse depth a plane is
    linear, 1/z = a x/z + b y/z + c, with homoscedastic noise, so ordinary least squares is
    unbiased: the plane is (a, b, c) . p = 1."""
    p = np.asarray(points_depth, float)
    z = p[:, 2]
    A = np.column_stack([p[:, 0] / z, p[:, 1] / z, np.ones(len(p))])
    b = 1.0 / z
    keep = np.ones(len(p), dtype=bool) if keep is None else np.asarray(keep, bool)
    for _ in range(4):          # trim outliers at 3.5 robust sigmas of the inverse-depth residual
        coef, *_ = np.linalg.lstsq(A[keep], b[keep], rcond=None)
        r = b - A @ coef
        sigma = 1.4826 * np.median(np.abs(r[keep])) + 1e-12
        keep = np.abs(r) < 3.5 * sigma
    coef, *_ = np.linalg.lstsq(A[keep], b[keep], rcond=None)
    k = float(np.linalg.norm(coef))
    n, d = coef / k, -1.0 / k
    # tilt standard error: covariance of (a, b, c) projected across the normal, over |coef|^2
    r = (b - A @ coef)[keep]
    try:
        cov = np.linalg.inv(A[keep].T @ A[keep]) * float(np.sum(r ** 2) / max(1, len(r) - 3))
        P = np.eye(3) - np.outer(n, n)
        tilt_se = float(np.sqrt(max(0.0, np.linalg.eigvalsh(P @ cov @ P / k ** 2).max())))
    except np.linalg.LinAlgError:
        tilt_se = float("nan")
    p = p[keep]
    res = p @ n + d
    return Plane(n, d, int(len(p)), float(np.sqrt(np.mean(res ** 2))), tilt_se)


def pixel_rays(intr: Intrinsics) -> np.ndarray:
    """(H, W, 3) ray (x/z, y/z, 1) of every pixel of a camera without distortion."""
    v, u = np.mgrid[0:intr.height, 0:intr.width].astype(float)
    return np.stack([(u - intr.ppx) / intr.fx, (v - intr.ppy) / intr.fy, np.ones_like(u)], axis=-1)


def plane_in_region(frames, region_fn, min_points: int = MIN_PLANE_POINTS,
                    threshold_m: float = 0.03) -> tuple[Plane, int]:
    """Plane (depth camera frame) through the depth of the pixels that `region_fn` picks.

    region_fn(rays (H, W, 3) depth-frame rays) -> ((H, W) bool pixel mask, (H, W) expected depth
    z in metres or None). Pixels are chosen by their RAY, not by their noisy 3D point: stereo noise
    along the rays would otherwise push near-edge points out and far-edge points in, and tilt the
    fitted plane. Depth within 0.15 m of the expected z is used, from every frame."""
    frames = _frame_list(frames)
    rays = pixel_rays(frames[0].depth_intrinsics)
    mask, z_expected = region_fn(rays)
    pts = []
    for f in frames:
        z = np.asarray(f.depth_m, float)
        ok = mask & (z > 0)
        if z_expected is not None:
            ok &= np.abs(z - z_expected) < 0.15
        pts.append(rays[ok] * z[ok][:, None])
    pts = np.concatenate(pts)
    n = len(pts) // len(frames)
    if n < min_points:
        raise UserError(f"no depth on the plate ({n} depth points per frame where the plate is, "
                        f"{min_points} needed); check that the depth stream is on and nothing "
                        "shiny or black covers the plate")
    plane = fit_plane(pts, threshold_m=threshold_m)
    if plane.d < 0:                 # normal towards the camera: the camera is above the plate
        plane = Plane(-plane.normal, -plane.d, plane.n_inliers, plane.rms_m, plane.tilt_se_rad)
    return plane, n


def plate_top_region(T_depth_from_lab: np.ndarray, spec: BoardSpec, geom=None, inset_m: float = PLATE_INSET_M):
    """region_fn for plane_in_region: pixels whose ray meets the plate's top (lab z = 0 plane of
    T_depth_from_lab, `geom`'s outline: PlateGeometry) at least `inset_m` inside its outline.
    The board covers most of the top; with a board thicker than 0.5 mm (spec.thickness_m) the
    plate around it is a different plane, and only the board's part is used."""
    from drivers.plate_geometry import PlateGeometry
    geom = PlateGeometry() if geom is None else geom
    cx, cy = float(geom.centre_lab_m[0]), float(geom.centre_lab_m[1])

    def region(rays):
        n_d = T_depth_from_lab[:3, 2]
        o_d = T_depth_from_lab[:3, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (n_d @ o_d) / (rays @ n_d)
        p = (rays * t[..., None] - o_d) @ T_depth_from_lab[:3, :3]
        mask = ((t > 0) & (np.abs(p[..., 0] - cx) < geom.length_x_m / 2 - inset_m)
                & (np.abs(p[..., 1] - cy) < geom.width_y_m / 2 - inset_m))
        if spec.thickness_m > 0.0005:
            pb = transform_points(invert_pose(spec.T_lab_from_board), p)
            w, h = spec.size_m
            mask &= ((pb[..., 0] > inset_m) & (pb[..., 0] < w - inset_m)
                     & (pb[..., 1] > inset_m) & (pb[..., 1] < h - inset_m))
        return mask, t
    return region


def board_region(T_depth_from_board: np.ndarray, spec: BoardSpec, inset_m: float = 0.03):
    """region_fn for plane_in_region: pixels whose ray meets the board (believed at
    T_depth_from_board) at least `inset_m` inside its outline."""
    def region(rays):
        n_d = T_depth_from_board[:3, 2]
        o_d = T_depth_from_board[:3, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (n_d @ o_d) / (rays @ n_d)
        hit_b = transform_points(invert_pose(T_depth_from_board), rays * t[..., None])
        w, h = spec.size_m
        mask = ((t > 0) & (hit_b[..., 0] > inset_m) & (hit_b[..., 0] < w - inset_m)
                & (hit_b[..., 1] > inset_m) & (hit_b[..., 1] < h - inset_m))
        return mask, t
    return region

"""Multi-view reference: read a Qualisys calibration (.qca XML, as exported with the Pose2Sim
demo) and triangulate 2D landmarks from several calibrated views with linear DLT.

Qualisys conventions (as converted by Pose2Sim's `calib_qca_fun`): intrinsics in sub-pixel
units of 1/64 px; `transform` is the camera's pose in the world (rotation stored column-wise,
position in mm) with the camera looking along its -z axis and y up, so the OpenCV camera
(x right, y down, z forward) is that frame rotated by pi about x.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import cv2
import numpy as np

_SUBPIXEL = 64.0


@dataclass(frozen=True)
class CalibratedView:
    name: str
    K: np.ndarray                 # (3, 3) pixels
    dist: np.ndarray              # OpenCV (k1, k2, p1, p2, k3)
    T_camera_from_world: np.ndarray   # (4, 4), metres, OpenCV camera axes
    size_px: tuple                # (width, height)

    @property
    def P(self) -> np.ndarray:
        """(3, 4) projection matrix for undistorted pixels."""
        return self.K @ self.T_camera_from_world[:3, :]

    def project(self, points_world_m: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 2) distorted pixels."""
        T = self.T_camera_from_world
        rvec, _ = cv2.Rodrigues(T[:3, :3])
        px, _ = cv2.projectPoints(np.asarray(points_world_m, float).reshape(-1, 1, 3), rvec,
                                  T[:3, 3], self.K, self.dist)
        return px.reshape(-1, 2)

    def undistort(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 2) distorted pixels -> (N, 2) undistorted pixels (NaN kept)."""
        px = np.asarray(pixels, float).reshape(-1, 2)
        out = np.full_like(px, np.nan)
        ok = np.isfinite(px).all(axis=1)
        if ok.any():
            u = cv2.undistortPoints(px[ok].reshape(-1, 1, 2), self.K, self.dist, P=self.K)
            out[ok] = u.reshape(-1, 2)
        return out


def read_qca(path, apply_distortion: bool = True) -> list[CalibratedView]:
    root = ET.parse(path).getroot()
    views = []
    flip = np.diag([1.0, -1.0, -1.0])          # Qualisys camera (-z forward, y up) -> OpenCV
    for cam in root.findall("cameras/camera"):
        fov = cam.find("fov_video").attrib
        w = int(float(fov["right"]) - float(fov["left"]) + 1)
        h = int(float(fov["bottom"]) - float(fov["top"]) + 1)
        i = {k: float(v) for k, v in cam.find("intrinsic").attrib.items()}
        K = np.array([[i["focalLengthU"] / _SUBPIXEL, 0.0, i["centerPointU"] / _SUBPIXEL],
                      [0.0, i["focalLengthV"] / _SUBPIXEL, i["centerPointV"] / _SUBPIXEL],
                      [0.0, 0.0, 1.0]])
        dist = np.zeros(5)
        if apply_distortion:
            dist = np.array([i["radialDistortion1"], i["radialDistortion2"],
                             i["tangentalDistortion1"], i["tangentalDistortion2"],
                             i["radialDistortion3"]]) / _SUBPIXEL
        t = {k: float(v) for k, v in cam.find("transform").attrib.items()}
        # r_ij as written is the rotation world -> Qualisys camera (Pose2Sim reads it
        # column-wise, then transposes it back in world_to_camera_persp).
        R_qcam_from_world = np.array([[t["r11"], t["r12"], t["r13"]],
                                      [t["r21"], t["r22"], t["r23"]],
                                      [t["r31"], t["r32"], t["r33"]]])
        R_world_from_qcam = R_qcam_from_world.T
        pos_world_m = np.array([t["x"], t["y"], t["z"]]) / 1000.0
        R_world_from_cam = R_world_from_qcam @ flip
        T = np.eye(4)
        T[:3, :3] = R_world_from_cam.T
        T[:3, 3] = -R_world_from_cam.T @ pos_world_m
        views.append(CalibratedView(cam.attrib.get("serial", f"cam{len(views)+1}"), K, dist, T, (w, h)))
    return views


def _dlt(views, und, weights, n, use):
    rows = []
    for v in use:
        P = views[v].P
        u, vv = und[v, n]
        rows.append(weights[v, n] * (u * P[2] - P[0]))
        rows.append(weights[v, n] * (vv * P[2] - P[1]))
    _, _, Vt = np.linalg.svd(np.array(rows))
    X = Vt[-1]
    X = X[:3] / X[3]
    res = []
    for v in use:
        x = views[v].P @ np.append(X, 1.0)
        res.append(float(np.linalg.norm(x[:2] / x[2] - und[v, n])))
    return X, np.array(res)


def triangulate_dlt(views: list[CalibratedView], pixels: np.ndarray, weights: np.ndarray,
                    min_views: int = 2, max_reproj_px: float | None = None):
    """Weighted linear (DLT) triangulation.

    pixels: (V, N, 2) distorted pixels per view (NaN where missing); weights: (V, N) >= 0
    (e.g. visibilities; 0 drops the view). With max_reproj_px, the view with the largest
    reprojection error is dropped while the RMS error exceeds it and more than min_views
    remain (a left/right swap in one view). Returns points (N, 3) world metres (NaN where fewer
    than min_views views), RMS reprojection error (N,) px and the number of views used (N,).
    """
    V, N = pixels.shape[:2]
    und = np.stack([views[v].undistort(pixels[v]) for v in range(V)])
    pts = np.full((N, 3), np.nan)
    err = np.full(N, np.nan)
    nused = np.zeros(N, dtype=int)
    for n in range(N):
        use = [v for v in range(V) if weights[v, n] > 0 and np.isfinite(und[v, n]).all()]
        if len(use) < min_views:
            continue
        X, res = _dlt(views, und, weights, n, use)
        while (max_reproj_px is not None and np.sqrt(np.mean(res ** 2)) > max_reproj_px
               and len(use) > min_views):
            use.pop(int(np.argmax(res)))
            X, res = _dlt(views, und, weights, n, use)
        pts[n], err[n], nused[n] = X, float(np.sqrt(np.mean(res ** 2))), len(use)
    return pts, err, nused

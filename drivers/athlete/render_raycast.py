"""Vectorised ray casting for the virtual camera: a camera view and ray-primitive kernels.

All kernels work in the CAMERA frame (x right, y down, z forward; metres). The ray through
pixel (u, v) starts at the camera origin with direction rd = ((u - ppx)/fx, (v - ppy)/fy, 1):
its z component is 1, so the ray parameter t of a hit IS the depth z of that hit (what a
RealSense z16 pixel stores, before scaling to mm). Pixel coordinates are those of
`Intrinsics.project`: integer (u, v) is the centre of column u, row v (no lens distortion).

Each kernel intersects only the pixels of a screen-space box (rows r0:r1, cols c0:c1) and
returns t there (np.inf where the ray misses), so a small primitive costs only its own pixels.
Misses go through NaN (sqrt of a negative discriminant): call the kernels under
np.errstate(invalid="ignore", divide="ignore") (composite_athlete in render.py does).
"""
from __future__ import annotations

import numpy as np

from drivers.camera_model import Intrinsics, invert_pose


class CameraView:
    """One camera: intrinsics + pose T_lab_from_camera, with per-pixel ray data cached."""

    def __init__(self, intrinsics: Intrinsics, T_lab_from_camera: np.ndarray):
        self.intr = intrinsics
        self.T_lab_from_camera = np.asarray(T_lab_from_camera, dtype=float)
        self.T_camera_from_lab = invert_pose(self.T_lab_from_camera)
        self.W, self.H = intrinsics.width, intrinsics.height
        self.xn = (np.arange(self.W) - intrinsics.ppx) / intrinsics.fx      # (W,)
        self.yn = (np.arange(self.H) - intrinsics.ppy) / intrinsics.fy      # (H,)
        self.rdrd = self.xn[None, :] ** 2 + self.yn[:, None] ** 2 + 1.0      # (H, W) |rd|^2

    def to_camera(self, points_lab_m: np.ndarray) -> np.ndarray:
        T = self.T_camera_from_lab
        return np.asarray(points_lab_m, dtype=float) @ T[:3, :3].T + T[:3, 3]

    def dir_to_camera(self, vectors_lab: np.ndarray) -> np.ndarray:
        return np.asarray(vectors_lab, dtype=float) @ self.T_camera_from_lab[:3, :3].T

    def rays_lab(self):
        """Camera centre (3,) and per-pixel ray directions (H, W, 3) in the lab frame; the
        directions have camera-z component 1 (t along them is depth)."""
        R = self.T_lab_from_camera[:3, :3]
        d = (R[:, 0] * self.xn[None, :, None] + R[:, 1] * self.yn[:, None, None] + R[:, 2])
        return self.T_lab_from_camera[:3, 3].copy(), d

    def sphere_bbox(self, centre_camera_m: np.ndarray, radius_m: float):
        """Conservative pixel box (r0, r1, c0, c1) of a sphere, or None if fully behind/outside.
        x/z over the sphere's bounding cube is extreme at the cube's corners."""
        c = np.asarray(centre_camera_m, dtype=float)
        if c[2] + radius_m <= 1e-3:
            return None
        if c[2] - radius_m <= 1e-3:
            return 0, self.H, 0, self.W
        zs = np.array([c[2] - radius_m, c[2] + radius_m])
        xs = (c[0] + np.array([-radius_m, radius_m]))[:, None] / zs[None, :]
        ys = (c[1] + np.array([-radius_m, radius_m]))[:, None] / zs[None, :]
        i = self.intr
        u0, u1 = i.fx * xs.min() + i.ppx, i.fx * xs.max() + i.ppx
        v0, v1 = i.fy * ys.min() + i.ppy, i.fy * ys.max() + i.ppy
        c0, c1 = max(int(np.floor(u0)), 0), min(int(np.ceil(u1)) + 1, self.W)
        r0, r1 = max(int(np.floor(v0)), 0), min(int(np.ceil(v1)) + 1, self.H)
        if c0 >= c1 or r0 >= r1:
            return None
        return r0, r1, c0, c1


    def sphere_bboxes(self, centres_camera_m: np.ndarray, radii_m: np.ndarray):
        """Vectorised sphere_bbox for (N, 3) centres and (N,) radii: a list of boxes / None."""
        c = np.asarray(centres_camera_m, dtype=float)
        rad = np.asarray(radii_m, dtype=float)
        i = self.intr
        zs = np.stack([c[:, 2] - rad, c[:, 2] + rad], axis=1)                  # (N, 2)
        zs_safe = np.where(zs > 1e-3, zs, 1.0)
        xs = (c[:, 0:1] + np.stack([-rad, rad], axis=1))[:, :, None] / zs_safe[:, None, :]
        ys = (c[:, 1:2] + np.stack([-rad, rad], axis=1))[:, :, None] / zs_safe[:, None, :]
        c0 = np.maximum(np.floor(i.fx * xs.min(axis=(1, 2)) + i.ppx), 0)
        c1 = np.minimum(np.ceil(i.fx * xs.max(axis=(1, 2)) + i.ppx) + 1, self.W)
        r0 = np.maximum(np.floor(i.fy * ys.min(axis=(1, 2)) + i.ppy), 0)
        r1 = np.minimum(np.ceil(i.fy * ys.max(axis=(1, 2)) + i.ppy) + 1, self.H)
        out = []
        for k in range(len(c)):
            if zs[k, 1] <= 1e-3:
                out.append(None)
            elif zs[k, 0] <= 1e-3:
                out.append((0, self.H, 0, self.W))
            elif c0[k] >= c1[k] or r0[k] >= r1[k]:
                out.append(None)
            else:
                out.append((int(r0[k]), int(r1[k]), int(c0[k]), int(c1[k])))
        return out


def union_bbox(boxes):
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    b = np.array(boxes)
    return int(b[:, 0].min()), int(b[:, 1].max()), int(b[:, 2].min()), int(b[:, 3].max())


def _grid(view: CameraView, box):
    r0, r1, c0, c1 = box
    return view.xn[c0:c1][None, :], view.yn[r0:r1][:, None], view.rdrd[r0:r1, c0:c1]


def _sphere_t(X, Y, rdrd, centre, radius):
    """Entry t of rays (origin 0) into a sphere; inf on miss."""
    nb = centre[0] * X + (centre[1] * Y + centre[2])            # -b = rd . c
    c = float(centre @ centre) - radius * radius
    h = nb * nb - rdrd * c
    t = (nb - np.sqrt(h)) / rdrd                                # NaN where the ray misses
    return np.where(t > 0, t, np.inf)


def capsule_t(view: CameraView, box, a, b, radius, box_a=None, box_b=None, caps=(True, True)):
    """Depth of the first hit on the capsule (segment a-b, camera frame, radius) per pixel of box.
    box_a, box_b: pixel boxes of the end spheres (inside box); computed when not given.
    caps: whether to intersect each end sphere (False when another primitive contains it)."""
    X, Y, rdrd = _grid(view, box)
    ba = b - a
    baba = float(ba @ ba)
    bard = ba[0] * X + (ba[1] * Y + ba[2])
    rdoa = -a[0] * X + (-a[1] * Y - a[2])
    baoa = -float(ba @ a)
    aa = baba * rdrd - bard * bard
    bb = baba * rdoa - baoa * bard
    cc = baba * float(a @ a) - baoa * baoa - radius * radius * baba
    h = bb * bb - aa * cc
    t = (-bb - np.sqrt(h)) / aa                                 # NaN / inf where it misses
    y = baoa + t * bard
    t = np.where((y > 0) & (y < baba) & (t > 0), t, np.inf)
    for centre, cb, use in ((a, box_a, caps[0]), (b, box_b, caps[1])):
        if not use:
            continue
        cb = view.sphere_bbox(centre, radius) if cb is None else cb
        if cb is None:
            continue
        r0, r1 = max(cb[0], box[0]), min(cb[1], box[1])
        c0, c1 = max(cb[2], box[2]), min(cb[3], box[3])
        if r0 >= r1 or c0 >= c1:
            continue
        Xs, Ys, rr = _grid(view, (r0, r1, c0, c1))
        sub = t[r0 - box[0]:r1 - box[0], c0 - box[2]:c1 - box[2]]
        np.minimum(sub, _sphere_t(Xs, Ys, rr, centre, radius), out=sub)
    return t


def capsule_normal(p, a, b):
    """Outward unit normals (N, 3) of points p (N, 3) on the capsule a-b, and the axis
    fraction s (N,) of each point's foot on the segment."""
    ba = b - a
    s = np.clip(((p - a) @ ba) / float(ba @ ba), 0.0, 1.0)
    n = p - a - s[:, None] * ba
    n /= np.sqrt(np.einsum("ij,ij->i", n, n))[:, None]
    return n, s


def ellipsoid_t(view: CameraView, box, centre, M):
    """Depth of the first hit on the ellipsoid {p : |M (p - centre)| <= 1} per pixel of box.
    M = diag(1/semi_axes) @ axes.T maps the ellipsoid to the unit sphere."""
    X, Y, _ = _grid(view, box)
    o = -(M @ centre)                                   # ray origin in sphere space
    d0 = M[0, 0] * X + (M[0, 1] * Y + M[0, 2])
    d1 = M[1, 0] * X + (M[1, 1] * Y + M[1, 2])
    d2 = M[2, 0] * X + (M[2, 1] * Y + M[2, 2])
    aa = d0 * d0 + d1 * d1 + d2 * d2
    bb = o[0] * d0 + o[1] * d1 + o[2] * d2
    cc = float(o @ o) - 1.0
    h = bb * bb - aa * cc
    t = (-bb - np.sqrt(h)) / aa
    return np.where(t > 0, t, np.inf)


def ellipsoid_normal(p, centre, M):
    """Outward unit normals and sphere-space unit directions of points p (N, 3) on an ellipsoid."""
    q = (p - centre) @ M.T                               # sphere-space point (|q| ~ 1)
    n = q @ M                                            # gradient direction M^T q
    return n / np.linalg.norm(n, axis=1, keepdims=True), q


def box_t_lab(origin, dirs, lo, hi):
    """Slab test for an axis-aligned (lab) box [lo, hi] against rays (origin (3,), dirs (..., 3)).
    Returns entry t (inf on miss) and the index of the entry face axis (0, 1, 2)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / dirs
        t0 = (np.asarray(lo) - origin) * inv
        t1 = (np.asarray(hi) - origin) * inv
    tmin = np.minimum(t0, t1)
    tmax = np.maximum(t0, t1)
    tmin = np.nan_to_num(tmin, nan=-np.inf)
    tmax = np.nan_to_num(tmax, nan=np.inf)
    t_enter = tmin.max(axis=-1)
    axis = tmin.argmax(axis=-1)
    t_exit = tmax.min(axis=-1)
    hit = (t_enter <= t_exit) & (t_enter > 0)
    return np.where(hit, t_enter, np.inf), axis

"""Depth (z16) and color (rgb8) images of the virtual athlete, like a RealSense D400 sees them.

Camera poses. The renderer is set up with the DEPTH camera's pose, T_lab_from_depth (4x4, maps
depth-camera-frame points to the lab frame; `drivers.camera_model.standard_camera_pose` gives
one), and the device extrinsic T_color_from_depth (default: T_COLOR_FROM_DEPTH_D435). The
color camera's pose is then
    T_lab_from_color = T_lab_from_depth @ inv(T_color_from_depth).
Depth images are in the depth camera's own pixels (not aligned to color), as a D400 streams them.

Pixel (u, v) (integer = pixel centre, as `Intrinsics.project`) holds the z (along the optical
axis) of the first surface its ray hits. Per frame only the athlete is ray-cast, inside the
screen boxes of its primitives; the static scene is cast once per camera and cached.

Noise (drivers/athlete/render_noise.py): the athlete's box gets fresh noise every frame; the
static background's noise is assembled per frame from `noise_pool` pre-computed noisy
realisations, chosen independently per band of rows by the frame's RNG (noise_pool=0: fresh
noise over the whole image every frame, slower). The RNG of frame i of a stream is
np.random.default_rng([seed, stream, i]): the same seed gives the same images bit for bit, in
any order of calls.

Color: Lambert shading under one directional light, no sensor noise (`frame_index` is accepted
for symmetry with depth). The athlete's surface is drivers/athlete/render_body.py.

Hooks: `Scene.plate_top_texture` and `Scene.painters` (painted on the static scene, cached with
the background, hidden correctly by the athlete; see scene.py), and `overlays`: callables
fn(color_uint8 (H, W, 3), view: CameraView) that draw on each finished color frame in place.

Speed: per frame only Python-level numpy over the athlete's pixels. Where a live stream cannot
keep up, pre-render a trial with `Renderer.render_frames(joints (T, J, 3), stream, out=...,
progress=...)` (out may be an h5py dataset); bench/bench_render.py measures the ratio.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from drivers.camera_model import (D435_COLOR_640x480, D435_DEPTH_848x480, T_COLOR_FROM_DEPTH_D435,
                                  Intrinsics, invert_pose)
from drivers.athlete.scene import AMBIENT, DIFFUSE, LIGHT_DIR_LAB, Scene, render_background
from drivers.athlete.render_body import BodyShape, body_primitives
from drivers.athlete.render_noise import DepthNoise, noisy_depth, quantise_depth
from drivers.athlete.render_raycast import (CameraView, capsule_normal, capsule_t, ellipsoid_normal,
                                            ellipsoid_t, union_bbox)

STREAMS = {"depth": 0, "color": 1}


def as_body_shape(shape) -> BodyShape:
    """BodyShape from a BodyShape, a drivers.athlete.body.Body, or None (Body() defaults)."""
    if isinstance(shape, BodyShape):
        return shape
    if shape is None:
        from drivers.athlete.body import Body
        shape = Body()
    return BodyShape.from_body(shape)
_ROW_BANDS = 8          # background noise is picked per band of rows


def _prim_bboxes(view: CameraView, prims):
    """Screen boxes of the primitives, each as (box, ends): for a capsule `ends` are the boxes of
    its two end spheres, for an ellipsoid None (its box bounds its largest semi-axis sphere)."""
    centres, radii = [], []
    for p in prims:
        if p.kind == "capsule":
            centres += [p.a, p.b]
            radii += [p.r, p.r]
        else:
            centres.append(p.c)
            radii.append(p.bound_r)
    boxes = view.sphere_bboxes(np.array(centres), np.array(radii))
    out, k = [], 0
    for p in prims:
        if p.kind == "capsule":
            ends = (boxes[k], boxes[k + 1])
            out.append((union_bbox(ends), ends))
            k += 2
        else:
            out.append((boxes[k], None))
            k += 1
    return out


def _prim_t(view, box, ends, p):
    if p.kind == "capsule":
        return capsule_t(view, box, p.a, p.b, p.r, *ends, caps=p.caps)
    return ellipsoid_t(view, box, p.c, p.M)


def composite_athlete(view: CameraView, prims, bg_depth_m: np.ndarray):
    """Z-buffer the primitives over the background depth. Returns (box, z (h, w), ids (h, w),
    boxes) for the union box of the athlete (ids = -1 where the background stays in front), or
    None if the athlete is not in view."""
    bb = _prim_bboxes(view, prims)
    boxes = [b[0] for b in bb]
    box = union_bbox(boxes)
    if box is None:
        return None
    r0, r1, c0, c1 = box
    z = bg_depth_m[r0:r1, c0:c1].copy()
    ids = np.full(z.shape, -1, dtype=np.int16)
    for k, (p, (b, ends)) in enumerate(zip(prims, bb)):
        if b is None:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            t = _prim_t(view, b, ends, p)
        sl = (slice(b[0] - r0, b[1] - r0), slice(b[2] - c0, b[3] - c0))
        zs, ids_s = z[sl], ids[sl]
        m = t < zs
        zs[m] = t[m]
        ids_s[m] = k
    return box, z, ids, boxes


class Renderer:
    """Camera set-up + cached static scene; renders frames of the athlete for both streams.
    shape: a BodyShape, a drivers.athlete.body.Body (its radii are used) or None (Body())."""

    def __init__(self, T_lab_from_depth: np.ndarray, depth_intrinsics: Intrinsics = D435_DEPTH_848x480,
                 color_intrinsics: Intrinsics = D435_COLOR_640x480,
                 T_color_from_depth: np.ndarray = T_COLOR_FROM_DEPTH_D435, scene: Optional[Scene] = None,
                 shape=None, seed: int = 0, noise: DepthNoise = DepthNoise(),
                 noise_pool: int = 12, overlays: Sequence[Callable] = ()):
        self.T_lab_from_depth = np.asarray(T_lab_from_depth, dtype=float)
        self.T_color_from_depth = np.asarray(T_color_from_depth, dtype=float)
        self.T_lab_from_color = self.T_lab_from_depth @ invert_pose(self.T_color_from_depth)
        self.depth_view = CameraView(depth_intrinsics, self.T_lab_from_depth)
        self.color_view = CameraView(color_intrinsics, self.T_lab_from_color)
        self.scene = scene if scene is not None else Scene()
        self.shape = as_body_shape(shape)
        self.seed, self.noise, self.noise_pool = int(seed), noise, int(noise_pool)
        self.overlays = list(overlays)
        self._bg = {}
        self._pool = None
        self._light_color = self.color_view.dir_to_camera(LIGHT_DIR_LAB)

    # ---- cached static scene -------------------------------------------------------------
    def background(self, stream: str):
        """(depth_m (H, W) float64 with inf = nothing, rgb uint8 (H, W, 3)) of the static scene."""
        if stream not in self._bg:
            view = self.depth_view if stream == "depth" else self.color_view
            d, rgb, plate_top = render_background(view, self.scene)
            img = np.rint(rgb * 255).astype(np.uint8)
            for paint in self.scene.painters:
                img = np.asarray(paint(img, view, plate_top), dtype=np.uint8)
            self._bg[stream] = (d, img)
        return self._bg[stream]

    def _noise_pool(self):
        if self._pool is None:
            d, _ = self.background("depth")
            rng = np.random.default_rng([self.seed, 99])
            fx = self.depth_view.intr.fx
            self._pool = np.stack([noisy_depth(d, fx, rng, self.noise) for _ in range(self.noise_pool)])
        return self._pool

    def _rng(self, stream: str, frame_index: int):
        return np.random.default_rng([self.seed, STREAMS[stream], int(frame_index)])

    # ---- depth ------------------------------------------------------------------------------
    def depth_truth_m(self, joints_lab: np.ndarray) -> np.ndarray:
        """Noise-free depth (H, W) float64 metres of the depth camera; 0 where nothing is hit."""
        bg, _ = self.background("depth")
        z = bg.copy()
        prims = body_primitives(self.depth_view.to_camera(joints_lab), self.shape)
        comp = composite_athlete(self.depth_view, prims, bg)
        if comp is not None:
            (r0, r1, c0, c1), zc, _, _ = comp
            z[r0:r1, c0:c1] = zc
        z[~np.isfinite(z)] = 0.0
        return z

    def depth(self, joints_lab: np.ndarray, frame_index: int = 0, noisy: bool = True) -> np.ndarray:
        """z16 depth image (H, W) uint16 in depth units (1 mm). noisy=False: the noise-free depth
        rounded to the unit (0 = nothing hit / out of range), no holes or band."""
        if not noisy:
            z = self.depth_truth_m(joints_lab)
            z[z == 0] = np.inf
            return quantise_depth(z, self.noise)
        rng = self._rng("depth", frame_index)
        bg, _ = self.background("depth")
        view = self.depth_view
        fx = view.intr.fx
        if self.noise_pool > 0:
            pool = self._noise_pool()
            ks = rng.integers(0, len(pool), size=_ROW_BANDS)
            edges = np.linspace(0, view.H, _ROW_BANDS + 1).astype(int)
            out = np.empty((view.H, view.W), dtype=np.uint16)
            for k, a, b in zip(ks, edges[:-1], edges[1:]):
                out[a:b] = pool[k, a:b]
        else:
            out = None
        prims = body_primitives(view.to_camera(joints_lab), self.shape)
        comp = composite_athlete(view, prims, bg)
        if out is None:
            z = bg.copy()
            if comp is not None:
                (r0, r1, c0, c1), zc, _, _ = comp
                z[r0:r1, c0:c1] = zc
            return noisy_depth(z, fx, rng, self.noise)
        if comp is not None:
            (r0, r1, c0, c1), zc, _, _ = comp
            # one pixel of margin so the athlete's outline edges see the background next to them
            R0, R1, C0, C1 = max(r0 - 1, 0), min(r1 + 1, view.H), max(c0 - 1, 0), min(c1 + 1, view.W)
            z = bg[R0:R1, C0:C1].copy()
            z[r0 - R0:r1 - R0, c0 - C0:c1 - C0] = zc
            out[R0:R1, C0:C1] = noisy_depth(z, fx, rng, self.noise, col0=C0)
        return out

    # ---- color ------------------------------------------------------------------------------
    def color(self, joints_lab: np.ndarray, frame_index: int = 0) -> np.ndarray:
        """rgb8 color image (H, W, 3) uint8 of the color camera."""
        bg, bg_rgb = self.background("color")
        view = self.color_view
        img = bg_rgb.copy()
        prims = body_primitives(view.to_camera(joints_lab), self.shape)
        comp = composite_athlete(view, prims, bg)
        if comp is not None:
            (r0, r1, c0, c1), z, ids, _ = comp
            sub = img[r0:r1, c0:c1]
            m = ids >= 0
            vv, uu = np.nonzero(m)
            t = z[m]
            pts = np.stack([view.xn[c0 + uu] * t, view.yn[r0 + vv] * t, t], axis=1)
            order = np.argsort(ids[m], kind="stable")
            starts = np.searchsorted(ids[m][order], np.arange(len(prims) + 1))
            rgb = np.empty((len(t), 3))
            L = self._light_color
            for k, p in enumerate(prims):
                sel = order[starts[k]:starts[k + 1]]
                if sel.size == 0:
                    continue
                q = pts[sel]
                if p.kind == "capsule":
                    n, local = capsule_normal(q, p.a, p.b)
                else:
                    n, local = ellipsoid_normal(q, p.c, p.M)
                shade = AMBIENT + DIFFUSE * np.clip(n @ L, 0.0, None)
                rgb[sel] = p.colour(q, local) * shade[:, None]
            sub[m] = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
        for fn in self.overlays:
            fn(img, view)
        return img

    def frame(self, joints_lab: np.ndarray, stream: str = "depth", frame_index: int = 0) -> np.ndarray:
        """One frame of a stream: 'depth' -> uint16 (H, W); 'color' -> uint8 (H, W, 3)."""
        if stream == "depth":
            return self.depth(joints_lab, frame_index)
        if stream == "color":
            return self.color(joints_lab, frame_index)
        raise ValueError(f"unknown stream {stream!r}; use 'depth' or 'color'")

    def render_frames(self, joints_lab: np.ndarray, stream: str, frame_indices=None,
                      progress: Optional[Callable[[int, int], None]] = None, out=None) -> np.ndarray:
        """Pre-render a whole trial: joints_lab (T, J, 3) -> (T, H, W) depth or (T, H, W, 3) color.
        frame_indices: the stream's frame numbers (default 0..T-1, they seed the noise);
        out: optional array-like to fill (e.g. an h5py dataset); progress(done, total)."""
        J = np.asarray(joints_lab, dtype=float)
        T = len(J)
        idx = np.arange(T) if frame_indices is None else np.asarray(frame_indices)
        view = self.depth_view if stream == "depth" else self.color_view
        shape = (T, view.H, view.W) if stream == "depth" else (T, view.H, view.W, 3)
        if out is None:
            out = np.empty(shape, dtype=np.uint16 if stream == "depth" else np.uint8)
        for i in range(T):
            out[i] = self.frame(J[i], stream, int(idx[i]))
            if progress is not None:
                progress(i + 1, T)
        return out


def render_depth(joints_lab: np.ndarray, shape, depth_intrinsics: Intrinsics,
                 T_lab_from_depth: np.ndarray, rng: Optional[np.random.Generator], scene: Optional[Scene] = None,
                 noise: DepthNoise = DepthNoise()) -> np.ndarray:
    """One depth frame (uint16 (H, W), mm) without caching; rng=None gives the noise-free depth."""
    r = Renderer(T_lab_from_depth, depth_intrinsics, scene=scene, shape=shape, noise=noise, noise_pool=0)
    if rng is None:
        return r.depth(joints_lab, noisy=False)
    z = r.depth_truth_m(joints_lab)
    z[z == 0] = np.inf
    return noisy_depth(z, depth_intrinsics.fx, rng, noise)


def render_color(joints_lab: np.ndarray, shape, color_intrinsics: Intrinsics,
                 T_lab_from_color: np.ndarray, scene: Optional[Scene] = None) -> np.ndarray:
    """One color frame (uint8 (H, W, 3)) for a color camera at T_lab_from_color, without caching."""
    r = Renderer(T_lab_from_color, color_intrinsics=color_intrinsics, T_color_from_depth=np.eye(4),
                 scene=scene, shape=shape)
    return r.color(joints_lab)

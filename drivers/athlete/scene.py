"""The static scene around the virtual athlete: floor, force plate(s), drop-jump box, walls.

Lab frame (docs/CONTRACTS.md): origin at the centre of the plate's top surface, x = athlete's
right, y forward, z up, metres. The plate top is z = 0 (where the body model's feet stand);
the plate is a box `plate_thickness_m` thick standing on the floor, so the floor is the plane
z = -plate_thickness_m. The drop-jump box stands on the floor behind the plate (-y side); its
top is at lab z = `box_top_z_m` (the drop height above the plate top).

`render_background(view, scene)` ray-casts the static items once per camera; the renderer
caches the result and only draws the athlete per frame.

Hooks for extra painted items (e.g. a ChArUco board on the plate), both applied once per
camera to the cached background, so the athlete later hides them correctly:
- `Scene.plate_top_texture`: callable (x_lab_m (N,), y_lab_m (N,)) -> (rgb (N, 3) float 0..1,
  covered (N,) bool), called with the lab x, y of every visible plate-top pixel;
- `Scene.painters`: callables fn(rgb_uint8 (H, W, 3), view: CameraView, plate_top_mask (H, W))
  -> rgb_uint8, e.g. for calibration.charuco.paint_board:
  `lambda img, view, mask: paint_board(img, view.intr, view.T_lab_from_camera, visible_mask=mask)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from drivers.plate_geometry import PlateGeometry
from drivers.athlete.render_raycast import CameraView, box_t_lab

# Direction TO the light, lab frame (above, in front of and right of the athlete).
LIGHT_DIR_LAB = np.array([0.35, 0.55, 1.0]) / np.linalg.norm([0.35, 0.55, 1.0])
AMBIENT = 0.45
NOTHING_RGB = (0.42, 0.42, 0.44)
DIFFUSE = 0.60


@dataclass
class Scene:
    plates: tuple = (PlateGeometry(),)
    plate_thickness_m: float = 0.05
    floor_half_size_m: float = 5.0          # square floor |x|, |y| <= this (nothing beyond)
    wall_distance_m: Optional[float] = 3.5  # back wall y = -d and side wall x = -d; None = no walls
    wall_height_m: float = 3.0
    box_top_z_m: Optional[float] = None     # drop-jump box top (lab z); None = no box
    box_size_xy_m: tuple = (0.50, 0.40)
    box_gap_m: float = 0.05                 # from the plate's -y edge to the box's +y face
    box_centre_xy_m: Optional[tuple] = None  # overrides the placement by box_gap_m
    plate_top_texture: Optional[Callable] = None
    painters: tuple = ()

    @classmethod
    def from_motion(cls, motion, **kw) -> "Scene":
        """The scene of a drivers.athlete.motion.Motion: its plates and its drop-jump box
        (motion.box: centre_lab_m, size_m, top at lab z = centre z + size z / 2)."""
        kw.setdefault("plates", tuple(motion.plates))
        box = getattr(motion, "box", None)
        if box is not None:
            c, size = box["centre_lab_m"], box["size_m"]
            kw.setdefault("box_top_z_m", float(c[2] + size[2] / 2))
            kw.setdefault("box_size_xy_m", (float(size[0]), float(size[1])))
            kw.setdefault("box_centre_xy_m", (float(c[0]), float(c[1])))
        return cls(**kw)

    @property
    def floor_z_m(self) -> float:
        return -self.plate_thickness_m

    def boxes(self):
        """[(name, lo (3,), hi (3,))] of the static boxes in the lab frame."""
        out = []
        for p in self.plates:
            c = np.asarray(p.centre_lab_m, dtype=float)
            half = np.array([p.length_x_m / 2, p.width_y_m / 2])
            lo = np.array([c[0] - half[0], c[1] - half[1], self.floor_z_m])
            hi = np.array([c[0] + half[0], c[1] + half[1], c[2]])
            out.append(("plate", lo, hi))
        if self.box_top_z_m is not None:
            sx, sy = self.box_size_xy_m
            if self.box_centre_xy_m is not None:
                cx, cy = self.box_centre_xy_m
            else:
                cx = float(np.mean([p.centre_lab_m[0] for p in self.plates]))
                cy = min(p.centre_lab_m[1] - p.width_y_m / 2 for p in self.plates) - self.box_gap_m - sy / 2
            lo = np.array([cx - sx / 2, cy - sy / 2, self.floor_z_m])
            hi = np.array([cx + sx / 2, cy + sy / 2, self.box_top_z_m])
            out.append(("box", lo, hi))
        return out


def _hash01(ix, iy):
    """Deterministic pseudo-random value in [0, 1) per integer cell."""
    h = np.sin(ix * 12.9898 + iy * 78.233) * 43758.5453
    return h - np.floor(h)


def _floor_rgb(x, y):
    tile = 0.5
    ix, iy = np.floor(x / tile), np.floor(y / tile)
    base = np.where(((ix + iy) % 2) == 0, 0.62, 0.56)[:, None] * np.array([0.95, 0.85, 0.70])
    grain = _hash01(np.floor(x / 0.01), np.floor(y / 0.01))[:, None] * 0.08 - 0.04
    seam = ((np.abs(x / tile - np.rint(x / tile)) < 0.01) | (np.abs(y / tile - np.rint(y / tile)) < 0.01))
    rgb = base + grain
    rgb[seam] *= 0.6
    return rgb


def _wall_rgb(u, v):
    grain = _hash01(np.floor(u / 0.02), np.floor(v / 0.02))[:, None] * 0.04
    return np.array([0.80, 0.82, 0.78]) + grain


def _plate_rgb(x, y, axis, name, scene):
    if name == "box":
        grain = _hash01(np.floor(x / 0.004), np.floor(y / 0.05))[:, None] * 0.10
        return np.array([0.55, 0.38, 0.22]) + grain
    rgb = np.tile(np.array([0.68, 0.70, 0.72]), (x.size, 1))
    rgb[axis != 2] = [0.25, 0.25, 0.27]                    # dark sides
    top = axis == 2
    if scene.plate_top_texture is not None and top.any():
        tex, covered = scene.plate_top_texture(x[top], y[top])
        sub = rgb[top]
        sub[covered] = np.asarray(tex)[covered]
        rgb[top] = sub
    return rgb


def render_background(view: CameraView, scene: Scene):
    """Noise-free depth (H, W) float64 metres (inf where nothing is hit), shaded colour
    (H, W, 3) float32 in 0..1, and the mask (H, W) of visible plate-top pixels of the static
    scene seen by `view`. (Scene.painters are applied by the caller, on the uint8 image.)"""
    o, d = view.rays_lab()
    H, W = view.H, view.W
    depth = np.full((H, W), np.inf)
    kind = np.full((H, W), -1, dtype=np.int16)
    normal = np.zeros((H, W, 3))
    # floor
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (scene.floor_z_m - o[2]) / d[..., 2]
    t = np.where(np.isfinite(t), t, -1.0)
    p = o + t[..., None] * d
    ok = (t > 0) & (np.abs(p[..., 0]) <= scene.floor_half_size_m) & (np.abs(p[..., 1]) <= scene.floor_half_size_m)
    depth[ok], kind[ok], normal[ok] = t[ok], 0, (0, 0, 1)
    # walls: back (y = -d, normal +y) and side (x = -d, normal +x)
    if scene.wall_distance_m is not None:
        for k, (ax, n) in enumerate(((1, (0, 1, 0)), (0, (1, 0, 0)))):
            with np.errstate(divide="ignore", invalid="ignore"):
                t = (-scene.wall_distance_m - o[ax]) / d[..., ax]
            t = np.where(np.isfinite(t), t, -1.0)
            p = o + t[..., None] * d
            other = 1 - ax
            ok = ((t > 0) & (t < depth) & (p[..., 2] >= scene.floor_z_m) & (p[..., 2] <= scene.wall_height_m)
                  & (p[..., other] >= -scene.wall_distance_m) & (p[..., other] <= scene.floor_half_size_m))
            depth[ok], kind[ok], normal[ok] = t[ok], 1 + k, n
    # plate(s) and box
    boxes = scene.boxes()
    box_axis = np.zeros((H, W), dtype=np.int16)
    for k, (name, lo, hi) in enumerate(boxes):
        t, axis = box_t_lab(o, d, lo, hi)
        ok = t < depth
        depth[ok], kind[ok], box_axis[ok] = t[ok], 10 + k, axis[ok]
        n = np.zeros((H, W, 3))
        centre = (lo + hi) / 2
        for a in range(3):
            m = ok & (axis == a)
            n[m, a] = np.sign((o + t[m][:, None] * d[m])[:, a] - centre[a])
        normal[ok] = n[ok]
    # colours
    rgb = np.zeros((H, W, 3), dtype=np.float32)
    p = o + np.where(np.isfinite(depth), depth, 0)[..., None] * d
    m = kind == 0
    rgb[m] = _floor_rgb(p[m, 0], p[m, 1])
    m = kind == 1
    rgb[m] = _wall_rgb(p[m, 0], p[m, 2])
    m = kind == 2
    rgb[m] = _wall_rgb(p[m, 1], p[m, 2])
    for k, (name, lo, hi) in enumerate(boxes):
        m = kind == 10 + k
        rgb[m] = _plate_rgb(p[m, 0], p[m, 1], box_axis[m], name, scene)
    shade = AMBIENT + DIFFUSE * np.clip(normal @ LIGHT_DIR_LAB, 0, None)
    rgb *= shade[..., None].astype(np.float32)
    rgb[kind < 0] = NOTHING_RGB                    # beyond the walls (ceiling): flat grey, depth 0
    plate_top = (box_axis == 2) & (kind >= 10) & (kind < 10 + len(scene.plates))
    return depth, np.clip(rgb, 0, 1), plate_top

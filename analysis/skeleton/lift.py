"""Lift 2D joints to 3D joint centres in the COLOR camera frame with depth aligned to color.

Per joint and frame:
1. a robust depth sample in a small window around the joint's pixel: holes (0) are dropped,
   background (farther than the body's median depth + `background_margin_m`) is dropped, pixels
   nearer (in the image) to the OTHER leg's 2D segments than to this leg's are dropped, and the
   median of what is left within `cluster_m` of the nearest-surface mode is the surface depth;
   a joint whose pixel lies on the other leg's 2D segments and is farther than that leg's depth
   there is occluded: no depth (the fit places it from 2D and bone lengths);
2. deprojected with the color intrinsics to the body surface, then moved along the viewing ray
   by the segment's radius (anthropometric fraction of stature, `SURFACE_TO_CENTRE_FRACTION`) to
   the joint centre;
3. short gaps (<= `max_gap_frames`) filled by linear interpolation in time and flagged as filled;
   longer gaps stay NaN and flagged missing. Nothing is invented silently.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.joints import JOINT_NAMES, JOINT_INDEX, SIDES

# Joint centre depth behind the body surface the camera sees, as a fraction of stature.
# Approximations from segment circumferences (c / 2pi / stature) of adult anthropometry
# (Drillis & Contini; de Leva 1996 proportions): upper thigh c ~ 0.32 H, knee ~ 0.21 H,
# ankle ~ 0.13 H, shoulder/upper arm ~ 0.17 H, elbow ~ 0.15 H, wrist ~ 0.095 H, head ~ 0.32 H,
# toes (dorsum to joint line) ~ 0.07 H. Heel: depth is not used (seen from the front the heel
# is hidden behind the foot), its fraction only matters when it is visible.
SURFACE_TO_CENTRE_FRACTION = {
    "head": 0.051, "neck": 0.040, "shoulder": 0.027, "elbow": 0.024, "wrist": 0.015,
    "hip": 0.051, "knee": 0.033, "ankle": 0.021, "heel": 0.021, "toe": 0.011,
}
NO_DEPTH_JOINTS = ("left_heel", "right_heel")
LEG_CHAIN = ("hip", "knee", "ankle", "toe")


def _kind(name: str) -> str:
    return name.split("_", 1)[1] if "_" in name else name


def surface_offsets_m(stature_m: float) -> np.ndarray:
    return np.array([SURFACE_TO_CENTRE_FRACTION[_kind(n)] * stature_m for n in JOINT_NAMES])


@dataclass
class LiftSettings:
    window_radius_px: int = 3
    background_margin_m: float = 0.6
    cluster_m: float = 0.04
    min_samples: int = 4
    min_visibility: float = 0.5
    leg_radius_px_per_m: float = 0.05      # other-leg occlusion test: limb half-width in metres
    max_gap_frames: int = 3
    stature_m: float = 1.75


def _point_segment_distance(p, a, b):
    ab = b - a
    tt = np.clip(np.sum((p - a) * ab, -1) / np.maximum(np.sum(ab * ab, -1), 1e-9), 0.0, 1.0)
    return np.linalg.norm(p - (a + tt[..., None] * ab), axis=-1)


def _leg_distance(pix, xy, side):
    """Distance of pixels (N, 2) to one leg's 2D polyline (hip-knee-ankle-toe)."""
    pts = [xy[JOINT_INDEX[f"{side}_{j}"]] for j in LEG_CHAIN]
    d = np.full(len(pix), np.inf)
    for a, b in zip(pts[:-1], pts[1:]):
        if np.isfinite(a).all() and np.isfinite(b).all():
            d = np.minimum(d, _point_segment_distance(pix, a, b))
    return d


def sample_surface_depths(depth_color_m: np.ndarray, xy_px: np.ndarray, vis: np.ndarray,
                          s: LiftSettings, fx: float):
    """One frame: (J,) surface depth in metres (NaN = no valid depth) and (J,) reason codes
    (0 ok, 1 not detected, 2 outside the image, 3 holes/background, 4 occluded by the other leg,
    5 depth not used for this joint)."""
    H, W = depth_color_m.shape
    J = len(JOINT_NAMES)
    z = np.full(J, np.nan)
    reason = np.zeros(J, dtype=np.int8)
    r = s.window_radius_px
    raw_medians = np.full(J, np.nan)
    windows = [None] * J
    for j in range(J):
        if not (vis[j] >= s.min_visibility) or not np.isfinite(xy_px[j]).all():
            reason[j] = 1
            continue
        u, v = int(round(xy_px[j, 0])), int(round(xy_px[j, 1]))
        if not (0 <= u < W and 0 <= v < H):
            reason[j] = 2
            continue
        v0, v1, u0, u1 = max(v - r, 0), min(v + r + 1, H), max(u - r, 0), min(u + r + 1, W)
        win = depth_color_m[v0:v1, u0:u1]
        vv, uu = np.nonzero(win)
        windows[j] = (np.stack([uu + u0, vv + v0], -1).astype(float), win[vv, uu].astype(float))
        if vv.size:
            raw_medians[j] = np.median(win[vv, uu])
    body_z = np.nanmedian(raw_medians) if np.isfinite(raw_medians).any() else np.nan
    leg_z = {}
    for side in SIDES:
        zz = raw_medians[[JOINT_INDEX[f"{side}_{k}"] for k in LEG_CHAIN]]
        leg_z[side] = np.nanmedian(zz) if np.isfinite(zz).any() else np.nan
    for j, name in enumerate(JOINT_NAMES):
        if reason[j]:
            continue
        if name in NO_DEPTH_JOINTS:
            reason[j] = 5
            continue
        pix, d = windows[j]
        keep = d < body_z + s.background_margin_m
        side = name.split("_", 1)[0]
        if side in SIDES and _kind(name) in ("hip", "knee", "ankle", "heel", "toe"):
            other = "right" if side == "left" else "left"
            d_own = _leg_distance(pix, xy_px, side)
            d_other = _leg_distance(pix, xy_px, other)
            keep &= d_own <= d_other
            # occlusion: the joint's own pixel sits on the other leg's image, and the other leg
            # is in front of this one (leg depths: medians over hip, knee, ankle, toe windows)
            limb_px = s.leg_radius_px_per_m * fx / max(body_z, 0.3) if np.isfinite(body_z) else 0.0
            if _leg_distance(xy_px[j][None], xy_px, other)[0] < limb_px:
                if not (leg_z[side] <= leg_z[other]):
                    reason[j] = 4
                    continue
                keep = d < body_z + s.background_margin_m     # own leg in front: use all
        d = d[keep]
        if d.size < s.min_samples:
            reason[j] = 3
            continue
        near = np.percentile(d, 25)
        d = d[np.abs(d - near) <= s.cluster_m]
        if d.size < s.min_samples:
            reason[j] = 3
            continue
        z[j] = float(np.median(d))
    return z, reason


def surface_to_centre(xy_px: np.ndarray, z_surface_m: np.ndarray, intr, offsets_m: np.ndarray):
    """Deproject (..., J, 2) pixels at surface depths and move each point along its viewing ray
    by its offset. Returns (..., J, 3) joint centres, color camera frame, metres."""
    p_surface = intr.deproject(xy_px, z_surface_m)
    ray = p_surface / np.linalg.norm(p_surface, axis=-1, keepdims=True)
    return p_surface + ray * np.asarray(offsets_m)[..., None]


def fill_short_gaps(points: np.ndarray, valid: np.ndarray, max_gap_frames: int):
    """(T, J, 3) points with (T, J) valid mask -> filled points and a (T, J) 'filled' mask.
    Only interior gaps of at most max_gap_frames frames are interpolated (linear in frame index);
    everything else stays NaN."""
    out = np.where(valid[..., None], points, np.nan)
    filled = np.zeros_like(valid)
    T, J = valid.shape
    for j in range(J):
        ok = np.flatnonzero(valid[:, j])
        if ok.size < 2:
            continue
        for a, b in zip(ok[:-1], ok[1:]):
            gap = b - a - 1
            if 0 < gap <= max_gap_frames:
                w = (np.arange(a + 1, b) - a) / (b - a)
                out[a + 1:b, j] = (1 - w)[:, None] * out[a, j] + w[:, None] * out[b, j]
                filled[a + 1:b, j] = True
    return out, filled


def heel_on_toe_level(xy_heel_px: np.ndarray, toe_camera_m: np.ndarray, intr,
                      T_lab_from_color: np.ndarray) -> np.ndarray:
    """The heel point on the heel pixel's viewing ray at the same lab height as the toe centre:
    where the heel is when the foot is flat (static standing; the heel has no depth of its own
    seen from the front). (..., 2) pixels, (..., 3) toe centres, color camera frame -> (..., 3)
    heel points, color camera frame (NaN where the ray is parallel to the floor or behind)."""
    R, c = T_lab_from_color[:3, :3], T_lab_from_color[:3, 3]
    ray_cam = intr.deproject(xy_heel_px, np.ones(np.shape(xy_heel_px)[:-1]))
    ray_lab = ray_cam @ R.T
    toe_lab_z = (toe_camera_m @ R.T + c)[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = (toe_lab_z - c[2]) / ray_lab[..., 2]
    lam = np.where(lam > 0, lam, np.nan)
    return ray_cam * lam[..., None]

"""Depth -> color alignment in numpy (what rs.align does at capture; the trial stores raw depth
and color, so analysis re-does it from the stored intrinsics and extrinsic).

Every valid depth pixel is deprojected with the depth intrinsics, moved into the color camera by
T_color_from_depth, projected with the color intrinsics and splatted over the color pixels its
footprint covers (the projections of its pixel's corners), keeping the nearest surface (z-buffer).
Output: depth along the COLOR camera's z axis, metres, 0 = no depth.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from drivers.camera_model import Intrinsics, invert_pose


def depth_roi_for_color_box(color_box, depth_intr: Intrinsics, color_intr: Intrinsics,
                            T_color_from_depth: np.ndarray, z_range_m=(0.4, 8.0)):
    """Depth-image box (r0, r1, c0, c1) holding every depth pixel that can land in the color box
    (r0, r1, c0, c1) for surfaces within z_range_m."""
    r0, r1, c0, c1 = color_box
    corners = np.array([[c0, r0], [c1, r0], [c0, r1], [c1, r1]], dtype=float)
    T_depth_from_color = invert_pose(T_color_from_depth)
    pts = []
    for z in z_range_m:
        p_color = color_intr.deproject(corners, np.full(4, z))
        p_depth = p_color @ T_depth_from_color[:3, :3].T + T_depth_from_color[:3, 3]
        pts.append(depth_intr.project(p_depth))
    uv = np.concatenate(pts)
    dc0 = int(max(np.floor(uv[:, 0].min()) - 2, 0))
    dc1 = int(min(np.ceil(uv[:, 0].max()) + 3, depth_intr.width))
    dr0 = int(max(np.floor(uv[:, 1].min()) - 2, 0))
    dr1 = int(min(np.ceil(uv[:, 1].max()) + 3, depth_intr.height))
    return dr0, max(dr1, dr0), dc0, max(dc1, dc0)


def align_depth_to_color(depth_raw: np.ndarray, depth_scale_m: float, depth_intr: Intrinsics,
                         color_intr: Intrinsics, T_color_from_depth: np.ndarray,
                         color_box: Optional[tuple] = None, color_boxes: Optional[list] = None,
                         z_range_m=(0.4, 8.0)) -> np.ndarray:
    """(Hd, Wd) raw depth (0 = hole) -> (Hc, Wc) float32 depth in metres aligned to color.
    With color_box (r0, r1, c0, c1), or a list of them (color_boxes), only those parts of the
    color image are filled, from the depth pixels that can land there (much faster)."""
    out = np.zeros((color_intr.height, color_intr.width), dtype=np.float32)
    boxes = list(color_boxes or []) + ([color_box] if color_box is not None else [])
    if not boxes:
        vv, uu = np.nonzero(depth_raw)
    else:
        dmask = np.zeros(depth_raw.shape, dtype=bool)
        for b in boxes:
            dr0, dr1, dc0, dc1 = depth_roi_for_color_box(b, depth_intr, color_intr,
                                                         T_color_from_depth, z_range_m)
            dmask[dr0:dr1, dc0:dc1] = True
        vv, uu = np.nonzero(dmask & (depth_raw > 0))
    if vv.size == 0:
        return out
    z = depth_raw[vv, uu].astype(np.float64) * depth_scale_m
    u, v = uu, vv
    R, t = T_color_from_depth[:3, :3], T_color_from_depth[:3, 3]
    bounds = []
    for du, dv in ((-0.5, -0.5), (0.5, 0.5)):
        xn = (u + du - depth_intr.ppx) / depth_intr.fx
        yn = (v + dv - depth_intr.ppy) / depth_intr.fy
        p = np.stack([xn * z, yn * z, z], axis=-1) @ R.T + t
        bounds.append(color_intr.project(p))
    zc = ((np.stack([(u - depth_intr.ppx) / depth_intr.fx * z, (v - depth_intr.ppy) / depth_intr.fy * z, z], -1)
           @ R.T + t)[:, 2]).astype(np.float32)
    cu0 = np.floor(bounds[0][:, 0] + 0.5).astype(np.int64)
    cv0 = np.floor(bounds[0][:, 1] + 0.5).astype(np.int64)
    cu1 = np.maximum(np.floor(bounds[1][:, 0] + 0.5).astype(np.int64) - 1, cu0)
    cv1 = np.maximum(np.floor(bounds[1][:, 1] + 0.5).astype(np.int64) - 1, cv0)
    order = np.argsort(-zc, kind="stable")          # far first: the nearest is written last
    W, H = color_intr.width, color_intr.height
    cmask = None
    if boxes:
        cmask = np.zeros((H, W), dtype=bool)
        for b in boxes:
            cmask[b[0]:b[1], b[2]:b[3]] = True
    flat = out.reshape(-1)
    span = int(max((cu1 - cu0).max(), (cv1 - cv0).max())) + 1
    span = min(span, 4)
    for dv in range(span):
        for du in range(span):
            cu, cv = cu0 + du, cv0 + dv
            ok = (cu <= cu1) & (cv <= cv1) & (cu >= 0) & (cu < W) & (cv >= 0) & (cv < H)
            if cmask is not None:
                ok[ok] &= cmask[cv[ok], cu[ok]]
            o = order[ok[order]]
            idx = cv[o] * W + cu[o]
            cur = flat[idx]
            # z-buffer against what earlier passes wrote: keep the nearer
            newz = zc[o]
            keep = (cur == 0) | (newz < cur)
            flat[idx[keep]] = newz[keep]
    return out

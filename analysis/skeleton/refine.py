"""Model-based depth refinement of the legs: after the per-frame skeletal fit, each leg's hip,
knee and ankle are re-fitted so that the thigh (hip->knee) and the shank (knee->ankle) are
cylinders of anthropometric radius lying on that segment's depth points.

Why: the 2D landmarks (MediaPipe) are a few centimetres off the joint centres, and the lifting
samples depth only in a 7x7 window per joint; the depth image holds thousands of points on each
thigh and shank. A cylinder of known radius fitted to those points gives the segment's AXIS
(a line through the bone) to millimetres wherever the segment's front is seen, independent of
where the 2D detector put the joints. The joints follow from the axes: the knee where the thigh
and shank axes meet, hip and ankle along their axes with the bone lengths held constant; the 2D
landmarks only fix where along the axes the joints are (weakly) and the first fit regularises.

Per frame and leg (unknowns: hip, knee, ankle, 9 numbers), robust least squares (soft_l1) of
  * each selected depth point's distance to the segment's axis minus the segment radius;
  * bone lengths (weight 10, as the fit);
  * the joints' 2D reprojection (metres at the joint's depth, weight `weight_2d`);
  * a weak pull to the first fit's joints (`weight_prior`).
Point selection (two rounds, ICP-like: select with the current axes, fit, select again): depth
pixels in a box around the legs, deprojected; a point belongs to a segment when it lies within
`band_m` of that cylinder's surface, its projection on the axis falls in the middle
`axial_range` of the segment (away from the joints, where thigh, shank, pelvis and foot meet),
and no other limb segment (other leg, same leg's other segment, forearms) has its surface nearer.

Depth smoothing (`smooth_px`, round 2 of issue 8): the legs' depth patch is smoothed before the
points are deprojected (analysis/skeleton/foot.py `_smooth_depth`: 3x3 mean over neighbours within
`smooth_delta_m`), which cuts the ~2.4 cm per-pixel noise of a D400 at 2.5 m; measured on the
virtual athlete (docs/SKELETON.md): the drop jumps' shank, 3-4 deg too far forward around the
landing without it, and the 45-deg far leg gained most.

Radii (anthropometry, not the renderer): the radius of the uniform cylinder of de Leva's (1996,
Table 4, male) segment mass and length at body density 1050 kg/m^3 (Winter 2009), from the
athlete's stature and mass: r = sqrt(m_seg / (rho pi L_seg)). NOTE: the virtual athlete's renderer
draws its legs as exactly such cylinders (drivers/athlete/body.py), so on the simulator this
model is exact - a best case. A real thigh is a tapered, soft, clothed cone (its radius runs from
~0.051 H at the top to ~0.033 H at the knee); a radius error dr moves the fitted axis by ~dr
along the viewing direction, which shifts hip, knee and ankle alike and barely changes angles in
the frontal view; docs/SKELETON.md gives the measured sensitivity.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from analysis.joints import JOINT_INDEX
from drivers.camera_model import invert_pose, transform_points

# de Leva (1996) Table 4, male: (segment length mm at stature 1741 mm, mass % of body mass)
_DE_LEVA_MALE = {"thigh": (422.2, 14.16), "shank": (434.0, 4.33),
                 "forearm": (268.9, 1.62)}
_DE_LEVA_STATURE_MM = 1741.0
BODY_DENSITY_KG_M3 = 1050.0


def segment_radius_m(segment: str, stature_m: float, mass_kg: float) -> float:
    """Radius of the uniform cylinder of the segment's de Leva mass and length (see docstring)."""
    length_mm, mass_pct = _DE_LEVA_MALE[segment]
    L = length_mm / _DE_LEVA_STATURE_MM * stature_m
    m = mass_pct / 100.0 * mass_kg
    return float(np.sqrt(m / (BODY_DENSITY_KG_M3 * np.pi * L)))


@dataclass
class RefineSettings:
    enabled: bool = True
    mass_kg: float = 75.0            # the athlete's mass (trial metadata or body weight / g)
    band_m: float = 0.04             # point selection: within this of the model cylinder's surface
    axial_range: tuple = (0.2, 0.8)  # ... and in this part of the segment (0 = proximal joint)
    max_points: int = 250            # per segment (evenly subsampled)
    min_points: int = 40             # fewer: the segment keeps the first fit's axis
    stride_px: int = 2               # depth pixels read
    weight_2d: float = 0.3
    weight_prior: float = 0.05
    weight_bone: float = 10.0
    loss_scale_m: float = 0.01
    rounds: int = 2
    smooth_px: int = 1               # edge-preserving depth smoothing radius (px) of the legs' depth
                                     # (foot._smooth_depth; 0 = off)
    smooth_delta_m: float = 0.05     # ... over neighbours within this depth


_LEG = {side: [JOINT_INDEX[f"{side}_{n}"] for n in ("hip", "knee", "ankle")] for side in ("left", "right")}
_FOREARMS = [(JOINT_INDEX[f"{s}_elbow"], JOINT_INDEX[f"{s}_wrist"]) for s in ("left", "right")]


def _dist_to_segment(p, a, b):
    """Distance of points p (N,3) to the segment a-b and the axial fraction (unclamped)."""
    ab = b - a
    L2 = max(float(ab @ ab), 1e-12)
    t = (p - a) @ ab / L2
    q = a + np.clip(t, 0.0, 1.0)[:, None] * ab
    return np.linalg.norm(p - q, axis=1), t


def _line_dist(p, a, b):
    u = b - a
    u = u / max(np.linalg.norm(u), 1e-12)
    d = p - a
    return np.linalg.norm(d - (d @ u)[:, None] * u, axis=1)


def _depth_points_color(depth_u16, depth_scale, di, T_color_from_depth, joints_color, stride, margin_m,
                        smooth_px=0, smooth_delta_m=0.05):
    """Depth pixels (in a box around the given joints' projection) deprojected, in the color
    camera frame."""
    T_depth_from_color = invert_pose(T_color_from_depth)
    jd = transform_points(T_depth_from_color, joints_color)
    ok = np.isfinite(jd).all(axis=1) & (jd[:, 2] > 0.1)
    if not ok.any():
        return np.zeros((0, 3))
    uv = di.project(jd[ok])
    z = jd[ok, 2]
    pad = margin_m * di.fx / z.min()
    H, W = depth_u16.shape
    u0, v0 = np.floor(uv.min(axis=0) - pad).astype(int)
    u1, v1 = np.ceil(uv.max(axis=0) + pad).astype(int)
    u0, v0, u1, v1 = max(u0, 0), max(v0, 0), min(u1, W), min(v1, H)
    if u1 <= u0 or v1 <= v0:
        return np.zeros((0, 3))
    if smooth_px > 0:
        from analysis.skeleton.foot import _smooth_depth
        sub = _smooth_depth(depth_u16[v0:v1, u0:u1].astype(float) * depth_scale, smooth_px,
                            smooth_delta_m)[::stride, ::stride]
    else:
        sub = depth_u16[v0:v1:stride, u0:u1:stride].astype(float) * depth_scale
    vv, uu = np.mgrid[v0:v1:stride, u0:u1:stride]
    m = sub > 0
    pts = di.deproject(np.stack([uu[m], vv[m]], axis=1).astype(float), sub[m])
    return transform_points(T_color_from_depth, pts)


def _select(points, segs, k, radii, s: RefineSettings):
    """Points of segment k: near its cylinder surface, in its middle part, nearer to it than to
    any other segment's surface."""
    a, b = segs[k]
    d, t = _dist_to_segment(points, a, b)
    surf = np.abs(d - radii[k])
    m = (surf < s.band_m) & (t > s.axial_range[0]) & (t < s.axial_range[1])
    if not m.any():
        return points[:0]
    cand = points[m]
    own = surf[m]
    for j, (a2, b2) in enumerate(segs):
        if j == k:
            continue
        d2, _ = _dist_to_segment(cand, a2, b2)
        keep = np.abs(d2 - radii[j]) > own
        cand, own = cand[keep], own[keep]
    if len(cand) > s.max_points:
        cand = cand[np.linspace(0, len(cand) - 1, s.max_points).astype(int)]
    return cand


def _line_terms(p, a, b):
    """Distance of points p to the line a-b, the unit normal from the line to each point and
    each point's axial parameter tau (0 at a, 1 at b)."""
    ab = b - a
    L = max(np.linalg.norm(ab), 1e-12)
    u = ab / L
    w = p - a
    c = w @ u
    perp = w - c[:, None] * u
    d = np.linalg.norm(perp, axis=1)
    n = perp / np.maximum(d, 1e-12)[:, None]
    return d, n, c / L


def _refine_leg(x0, pts_thigh, pts_shank, uv, w2d, L_thigh, L_shank, r_thigh, r_shank, intr, s):
    prior = x0.copy()
    n_t, n_s = len(pts_thigh), len(pts_shank)
    # each segment's points together weigh like ~40 residuals (independent of the subsampling)
    w_t, w_s = np.sqrt(40.0 / max(n_t, 1)), np.sqrt(40.0 / max(n_s, 1))
    kx = (uv[:, 0] - intr.ppx) / intr.fx
    ky = (uv[:, 1] - intr.ppy) / intr.fy
    segs = ((pts_thigh, 0, 1, r_thigh, w_t), (pts_shank, 1, 2, r_shank, w_s))

    def res(x):
        P = x.reshape(3, 3)
        out = [(_line_terms(pts, P[i], P[j])[0] - r) * w for pts, i, j, r, w in segs if len(pts)]
        out.append(np.array([(np.linalg.norm(P[1] - P[0]) - L_thigh) * s.weight_bone,
                             (np.linalg.norm(P[2] - P[1]) - L_shank) * s.weight_bone]))
        out.append((P[:, 0] - P[:, 2] * kx) * w2d)
        out.append((P[:, 1] - P[:, 2] * ky) * w2d)
        out.append((x - prior) * s.weight_prior)
        return np.concatenate(out)

    def jac(x):
        # point-to-axis distance: moving the axis' foot point (1 - tau) da + tau db changes the
        # distance by -n . (that motion) (envelope theorem)
        P = x.reshape(3, 3)
        rows = []
        for pts, i, j, r, w in segs:
            if not len(pts):
                continue
            d, n, tau = _line_terms(pts, P[i], P[j])
            J = np.zeros((len(pts), 9))
            J[:, 3 * i:3 * i + 3] = -n * (1 - tau)[:, None] * w
            J[:, 3 * j:3 * j + 3] = -n * tau[:, None] * w
            rows.append(J)
        Jb = np.zeros((2, 9))
        for k, (i, j) in enumerate(((0, 1), (1, 2))):
            e = (P[j] - P[i]) / max(np.linalg.norm(P[j] - P[i]), 1e-12)
            Jb[k, 3 * j:3 * j + 3] = e * s.weight_bone
            Jb[k, 3 * i:3 * i + 3] = -e * s.weight_bone
        rows.append(Jb)
        J2 = np.zeros((6, 9))
        for q in range(3):
            J2[q, 3 * q], J2[q, 3 * q + 2] = w2d[q], -w2d[q] * kx[q]
            J2[3 + q, 3 * q + 1], J2[3 + q, 3 * q + 2] = w2d[q], -w2d[q] * ky[q]
        rows.append(J2)
        rows.append(np.eye(9) * s.weight_prior)
        return np.vstack(rows)

    r = least_squares(res, x0, jac=jac, loss="soft_l1", f_scale=s.loss_scale_m, x_scale=0.05, max_nfev=60)
    return r.x.reshape(3, 3)


def refine_legs(joints_color_m, xy_px, vis, depth_frames, depth_time_s, color_time_s, cam,
                bone_lengths: dict, stature_m: float, s: RefineSettings, min_visibility=0.5):
    """Returns (T, J, 3) joints (color camera frame) with each leg's hip, knee and ankle refined
    where both its segments had enough depth points, and (T, 2) the number of points used per
    leg (left, right; 0 = not refined)."""
    out = np.array(joints_color_m, dtype=float, copy=True)
    T = len(out)
    n_used = np.zeros((T, 2), dtype=int)
    r_thigh = segment_radius_m("thigh", stature_m, s.mass_kg)
    r_shank = segment_radius_m("shank", stature_m, s.mass_kg)
    r_fore = segment_radius_m("forearm", stature_m, s.mass_kg)
    ci = cam.color_intrinsics
    depth_time_s = np.asarray(depth_time_s, float)
    for t in range(T):
        P = out[t]
        legs_ok = [np.isfinite(P[_LEG[side]]).all() for side in ("left", "right")]
        if not any(legs_ok):
            continue
        k = int(np.argmin(np.abs(depth_time_s - color_time_s[t])))
        leg_pts = np.concatenate([P[_LEG[side]] for side, ok in zip(("left", "right"), legs_ok) if ok])
        points = _depth_points_color(np.asarray(depth_frames[k]), cam.depth_scale_m, cam.depth_intrinsics,
                                     cam.T_color_from_depth, leg_pts, s.stride_px, 0.15, s.smooth_px,
                                     s.smooth_delta_m)
        if len(points) < s.min_points:
            continue
        for li, side in enumerate(("left", "right")):
            if not legs_ok[li]:
                continue
            idx = _LEG[side]
            L_thigh = bone_lengths.get((f"{side}_hip", f"{side}_knee"), np.nan)
            L_shank = bone_lengths.get((f"{side}_knee", f"{side}_ankle"), np.nan)
            if not (np.isfinite(L_thigh) and np.isfinite(L_shank)):
                continue
            seen = (vis[t, idx] >= min_visibility) & np.isfinite(xy_px[t, idx]).all(axis=1)
            uv = np.where(seen[:, None], xy_px[t, idx], 0.0)
            w2d = np.where(seen, s.weight_2d, 0.0)
            x = P[idx].ravel().copy()
            used = 0
            for _ in range(s.rounds):
                cur = out[t].copy()
                cur[idx] = x.reshape(3, 3)
                segs, radii = [], []
                for sd in ("left", "right"):
                    h, kn, an = _LEG[sd]
                    segs += [(cur[h], cur[kn]), (cur[kn], cur[an])]
                    radii += [r_thigh, r_shank]
                for e, w in _FOREARMS:
                    if np.isfinite(cur[[e, w]]).all():
                        segs.append((cur[e], cur[w]))
                        radii.append(r_fore)
                if not all(np.isfinite(np.concatenate(sg)).all() for sg in segs[:4]):
                    segs, radii = segs[2 * li:2 * li + 2], radii[2 * li:2 * li + 2]
                    kk = (0, 1)
                else:
                    kk = (2 * li, 2 * li + 1)
                pt = _select(points, segs, kk[0], radii, s)
                ps = _select(points, segs, kk[1], radii, s)
                if len(pt) < s.min_points or len(ps) < s.min_points:
                    used = 0
                    break
                x = _refine_leg(x, pt, ps, uv, w2d, L_thigh, L_shank, r_thigh, r_shank, ci, s).ravel()
                used = len(pt) + len(ps)
            if used:
                out[t, idx] = x.reshape(3, 3)
                n_used[t, li] = used
    return out, n_used


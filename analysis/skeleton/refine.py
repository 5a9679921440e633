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

Oblique views (round 3 of issue 8; only when the hips' median depth difference exceeds
`far_leg_again_m`): a second pass of the far leg started from the near hip's correction, hip
despiking, and the far hip re-placed from the near one in frames whose hip-hip distance jumps
(`_pelvis_outliers`); docs/SKELETON.md gives the diagnosis and the measured effect.

Second start (round 4, `multi_start`, every view): the first fit sometimes puts the hips far off
along the viewing ray (measured, 45-deg squat: both hips 18-32 cm towards the camera for 3-6
frames at ~50 deg knee flexion, after fit.py's `reject_depth_m` dropped their correct lifted
depths); started there, the select-fit rounds converge to a folded leg (hip right, knee and ankle
10-20 cm off their own 2D landmarks) or leave the far hip off. So each leg is also refined from
the same start with the hip moved along its own viewing ray to the previous frame's refined hip
depth, when the two depths differ by more than `band_m`; the lower final robust cost wins (the
wrong minimum cost ~3x the right one there). Only the hip's depth is borrowed from the previous
frame: a whole previous-frame leg as the second start was tried and let a frame's left/right
swap persist in the drop jump (the near leg's points fit a leg better than the far leg's own).

At the depth frames between colour frames (round 5, `at_depth_frames`): where the foot is
registered in every depth frame around a landing (foot.py's dense window, 90 fps), the legs are
refined to the depth frames between the colour frames either side of the contact too
(refine_legs_at_depth_frames), from the colour frames' pose interpolated to that time, so a
dorsiflexion read there has a measured shank; measured on the virtual jumps: the shank at the
last depth frame before the contact +4.1 deg mean interpolated, +1.0 measured
(docs/SKELETON.md). Refining every dense depth frame instead cost 3.7 s more per 5 s drop jump
(bench: 3.93 -> 5.10 x real time) for the same contact values.

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

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import least_squares

from analysis.joints import JOINT_INDEX
from drivers.camera_model import invert_pose, transform_points

# de Leva (1996) Table 4, male: (segment length mm at stature 1741 mm, mass % of body mass)
_DE_LEVA_MALE = {"thigh": (422.2, 14.16), "shank": (434.0, 4.33),
                 "forearm": (268.9, 1.62), "lower_trunk": (145.7, 11.17)}
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
    far_leg_again_m: float = 0.05    # round 3: when the hips' depths differ by more than this (an
                                     # oblique view), the far leg is refined once more after the near
                                     # one (0 = off) ...
    far_hip_from_near: bool = True   # ... that pass starts (and its prior pulls) the far hip at the
                                     # first fit's far hip moved by the near hip's refinement (the
                                     # pelvis moves as a block)
    pelvis_tol_m: float = 0.0        # round 3 (0.01 then; off since round 4: multi_start removes the
                                     # hip bursts it patched, and its 1 cm test of a rotating pelvis
                                     # moved good far hips, DJ 45 seed 1 FPPA at PF -3.0 -> -1.5)
                                     # oblique views (hips' median depth difference >
                                     # far_leg_again_m): frames whose hip-hip distance differs from the
                                     # trial's median by more than this get the far hip at the near hip
                                     # + the hip-hip vector interpolated in time from the good frames
                                     # (0 = off)
    pelvis_max_gap_frames: int = 10  # ... only in runs of at most this many bad frames
    despike_tol_m: float = 0.0       # round 3 (0.05 then; off since round 4: no effect with
                                     # multi_start on the 45-deg matrix, seeds 0-2) oblique views: a
                                     # hip farther than this from the median
                                     # of its +-despike_half_window frames is a spike: replaced by the
                                     # linear interpolation of its good neighbours (0 = off)
    despike_half_window: int = 4
    despike_max_gap_frames: int = 6
    pelvis_competes: bool = True     # round 4: a point is not a thigh point when a pelvis capsule
                                     # (between the hip joint centres, de Leva's lower-trunk radius)
                                     # is nearer: deep in hip flexion groin/buttock points at 0.20-0.25
                                     # of the thigh (+17 mm off its surface, medial) passed as thigh
                                     # points, a varus bias of 3-4 deg at a squat's bottom
                                     # (docs/SKELETON.md)
    multi_start: bool = True         # each leg is also refined from a second start, its hip moved along
                                     # its viewing ray to the previous frame's refined hip depth (when
                                     # that differs by more than band_m); the lower final robust cost
                                     # (prior term excluded) wins
    at_depth_frames: bool = True     # the legs are also refined to the depth frames registered densely
                                     # (foot.py's dense window) between the colour frames either side of a
                                     # landing's contact, so that the dorsiflexion read there has that
                                     # frame's measured shank, not the colour frames' interpolated one
                                     # across the contact (refine_legs_at_depth_frames; elsewhere the
                                     # interpolation crosses no kink and is kept)
    rounds_at_depth_frames: int = 4  # ... with this many select-fit rounds: the start (the colour
                                     # frames' interpolation) is several degrees off where the shank
                                     # turns; 2 rounds left 1.3-1.8 deg of a 7 deg start offset in the
                                     # shank, 4 rounds 0.3-0.4 (tests/test_skeleton_refine.py)
    first_leg_again: bool = True     # the leg refined first (left) is refined once more after the other
                                     # one (from its refined joints) when the other leg's refinement
                                     # changed the owner of any of its shank's depth points: its first
                                     # pass had the other leg at the first fit's joints (cm off)
                                     # competing for them - a single-leg squat's free shank passes close
                                     # behind the stance shank and biased its axis 2-4 deg in the
                                     # frontal plane at the bottom (docs/SKELETON.md)
    thigh_alone: bool = True         # a leg whose shank has fewer than min_points depth points (hidden:
                                     # a single-leg squat's free shank behind its own thigh) still gets
                                     # its thigh refined (hip and knee on the thigh's points; the ankle
                                     # moved with the knee) instead of keeping the first fit's hip, which
                                     # sits 1-4 cm off along the viewing ray; a refinement of both
                                     # segments is preferred to a thigh-only one (docs/SKELETON.md)


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
    from analysis.skeleton.foot import depth_window
    box = depth_window(uv, z.min(), margin_m, di.fx, depth_u16.shape)
    if box is None:
        return np.zeros((0, 3))
    u0, v0, u1, v1 = box
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
    # the final robust cost without the prior term (which differs between starts): comparable
    # between starts of the same frame and leg (each segment's points weigh like ~40 residuals
    # whatever their number)
    z = (r.fun[:-9] / s.loss_scale_m) ** 2
    cost = 0.5 * s.loss_scale_m ** 2 * float(np.sum(2.0 * (np.sqrt(1.0 + z) - 1.0)))
    return r.x.reshape(3, 3), cost


def refine_legs(joints_color_m, xy_px, vis, depth_frames, depth_time_s, color_time_s, cam,
                bone_lengths: dict, stature_m: float, s: RefineSettings, min_visibility=0.5):
    """Returns (T, J, 3) joints (color camera frame) with each leg's hip, knee and ankle refined
    where both its segments had enough depth points, and (T, 2) the number of points used per
    leg (left, right; 0 = not refined)."""
    out = np.array(joints_color_m, dtype=float, copy=True)
    T = len(out)
    n_used = np.zeros((T, 2), dtype=int)
    radii = _radii(stature_m, s)
    depth_time_s = np.asarray(depth_time_s, float)
    for t in range(T):
        k = int(np.argmin(np.abs(depth_time_s - color_time_s[t])))
        prev = (out[t - 1], n_used[t - 1]) if t > 0 else None
        out[t], n_used[t] = _refine_frame(out[t], xy_px[t], vis[t], np.asarray(depth_frames[k]), cam,
                                          bone_lengths, radii, s, min_visibility, prev)
    if s.despike_tol_m > 0 and _oblique(out, n_used, s):
        _despike(out, [_LEG[side][0] for side in ("left", "right")], s)
    if s.pelvis_tol_m > 0 and s.far_leg_again_m > 0:
        _pelvis_outliers(out, n_used, s)
    return out, n_used


def refine_legs_at_depth_frames(joints_color_m, xy_px, vis, depth_frames, depth_time_s, color_time_s,
                                depth_index, cam, bone_lengths: dict, stature_m: float, s: RefineSettings,
                                min_visibility=0.5):
    """The legs MEASURED at the given depth frames (between colour frames): per depth frame k,
    the colour-rate joints (already refined) and 2D landmarks moved linearly to the depth frame's
    time are the start, and each leg is refined to that depth frame's own points (the same
    cylinder model, rounds and point selection as refine_legs; multi_start from the previous
    depth frame of the list). Returns (K, J, 3) joints (colour camera frame; a leg that could
    not be refined keeps the interpolated start) and (K, 2) points used per leg (0 = not
    refined).

    Why (`RefineSettings.at_depth_frames`): a landing's dorsiflexion at initial contact is read
    from the depth frames registered one by one around the contact (90 fps, foot.py's dense
    window); their foot is that frame's own, but their shank was the colour frames' (30 fps)
    linear interpolation - across the contact, where the shank turns back, +3..+4.5 deg off at
    the last depth frame before the contact on the virtual drop jumps (carried forward from the
    colour frames before instead: -1.7..-4.6, the shank slows into the contact). Measured here,
    shank and foot of such a frame come from the same depth image."""
    J = np.asarray(joints_color_m, float)
    tc = np.asarray(color_time_s, float)
    td = np.asarray(depth_time_s, float)
    idx = np.asarray(depth_index, int)
    K = len(idx)
    out = np.full((K,) + J.shape[1:], np.nan)
    n_used = np.zeros((K, 2), dtype=int)
    radii = _radii(stature_m, s)
    s = replace(s, rounds=max(s.rounds, s.rounds_at_depth_frames))
    xy = np.asarray(xy_px, float)
    vis = np.asarray(vis, float)
    for q, k in enumerate(idx):
        tq = td[k]
        i = int(np.clip(np.searchsorted(tc, tq) - 1, 0, max(len(tc) - 2, 0)))
        j = min(i + 1, len(tc) - 1)
        w = float(np.clip((tq - tc[i]) / (tc[j] - tc[i]), 0.0, 1.0)) if j > i else 0.0
        P = (1 - w) * J[i] + w * J[j]
        P = np.where(np.isfinite(P), P, J[i] if w < 0.5 else J[j])
        uv = (1 - w) * xy[i] + w * xy[j]
        vv = np.minimum(vis[i], vis[j])
        prev = (out[q - 1], n_used[q - 1]) if q > 0 and idx[q - 1] == k - 1 else None
        out[q], n_used[q] = _refine_frame(P, uv, vv, np.asarray(depth_frames[k]), cam, bone_lengths,
                                          radii, s, min_visibility, prev)
    return out, n_used


def _radii(stature_m, s: RefineSettings):
    return (segment_radius_m("thigh", stature_m, s.mass_kg), segment_radius_m("shank", stature_m, s.mass_kg),
            segment_radius_m("forearm", stature_m, s.mass_kg),
            segment_radius_m("lower_trunk", stature_m, s.mass_kg) if s.pelvis_competes else 0.0)


def _refine_frame(P, xy_t, vis_t, depth, cam, bone_lengths, radii, s: RefineSettings, min_visibility,
                  prev=None):
    """One frame: P (J, 3) joints (colour camera frame), xy_t (J, 2) / vis_t (J,) its 2D
    landmarks, depth its depth image, prev optional (joints (J, 3), points used (2,)) of the
    previous frame (multi_start). Returns (joints with the legs refined, (2,) points used)."""
    r_thigh, r_shank, r_fore, r_pelvis = radii
    ci = cam.color_intrinsics
    P = np.array(P, dtype=float, copy=True)
    cur = P.copy()
    used_out = np.zeros(2, dtype=int)
    legs_ok = [np.isfinite(P[_LEG[side]]).all() for side in ("left", "right")]
    if not any(legs_ok):
        return cur, used_out
    leg_pts = np.concatenate([P[_LEG[side]] for side, ok in zip(("left", "right"), legs_ok) if ok])
    points = _depth_points_color(depth, cam.depth_scale_m, cam.depth_intrinsics,
                                 cam.T_color_from_depth, leg_pts, s.stride_px, 0.15, s.smooth_px,
                                 s.smooth_delta_m)
    if len(points) < s.min_points:
        return cur, used_out
    order = [0, 1]
    far_pass = False
    if s.far_leg_again_m > 0 and all(legs_ok):
        dz = P[_LEG["left"][0], 2] - P[_LEG["right"][0], 2]
        if abs(dz) > s.far_leg_again_m:
            order.append(0 if dz > 0 else 1)
            far_pass = True
    for pass_i, li in enumerate(order):
        side = ("left", "right")[li]
        if not legs_ok[li]:
            continue
        idx = _LEG[side]
        x = cur[idx].ravel().copy()   # a far leg's second pass starts from its first
        if pass_i == 2 and far_pass and s.far_hip_from_near:
            o = _LEG[("right", "left")[li]]
            x[0:3] = P[idx[0]] + (cur[o[0]] - P[o[0]])
        L_thigh = bone_lengths.get((f"{side}_hip", f"{side}_knee"), np.nan)
        L_shank = bone_lengths.get((f"{side}_knee", f"{side}_ankle"), np.nan)
        if not (np.isfinite(L_thigh) and np.isfinite(L_shank)):
            continue
        seen = (vis_t[idx] >= min_visibility) & np.isfinite(xy_t[idx]).all(axis=1)
        uv = np.where(seen[:, None], xy_t[idx], 0.0)
        w2d = np.where(seen, s.weight_2d, 0.0)
        starts = [x]
        if s.multi_start and prev is not None and prev[1][li] > 0:
            # second start: the hip moved along its own viewing ray (direction kept) to the
            # previous frame's refined hip depth; knee and ankle as they are
            zp, zh = prev[0][idx[0], 2], x[2]
            if np.isfinite(zp) and zh > 0.1 and abs(zp - zh) > s.band_m:
                xa = x.copy()
                xa[0:3] *= zp / zh
                starts.append(xa)
        best = (np.inf, 0, None)
        for x_start in starts:
            xr, used, cost = _leg_rounds(x_start, cur, li, idx, points, uv, w2d, L_thigh, L_shank,
                                         r_thigh, r_shank, r_fore, ci, s, r_pelvis)
            if used and cost < best[0]:
                best = (cost, used, xr)
        if not best[1] and s.thigh_alone and not used_out[li]:
            # the shank had too few points from every start: the thigh alone (costs of thigh-only
            # fits compared among themselves only)
            for x_start in starts:
                xr, used, cost = _leg_rounds(x_start, cur, li, idx, points, uv, w2d, L_thigh, L_shank,
                                             r_thigh, r_shank, r_fore, ci, s, r_pelvis, thigh_only=True)
                if used and cost < best[0]:
                    best = (cost, used, xr)
        if best[1]:
            cur[idx] = best[2].reshape(3, 3)
            used_out[li] = best[1]
        if (s.first_leg_again and pass_i == len(order) - 1 and li != 0 and all(legs_ok)
                and used_out[0] and _shank_owner_changed(cur, P, points, radii, s)):
            order.append(0)     # the first leg once more, now that this one is refined (RefineSettings)
    return cur, used_out


def _segments(cur, r_thigh, r_shank, r_fore, r_pelvis):
    """The limb segments competing for depth points (legs, forearms, pelvis) and their radii."""
    segs, radii = [], []
    for sd in ("left", "right"):
        h, kn, an = _LEG[sd]
        segs += [(cur[h], cur[kn]), (cur[kn], cur[an])]
        radii += [r_thigh, r_shank]
    for e, w in _FOREARMS:
        if np.isfinite(cur[[e, w]]).all():
            segs.append((cur[e], cur[w]))
            radii.append(r_fore)
    hips = cur[[_LEG["left"][0], _LEG["right"][0]]]
    if r_pelvis > 0 and np.isfinite(hips).all():
        segs.append((hips[0], hips[1]))          # competes for points, is never fitted
        radii.append(r_pelvis)
    return segs, radii


def _shank_owner_changed(cur, P, points, radii, s: RefineSettings) -> bool:
    """first_leg_again: do any of the left shank's depth points (at its refined axis) change owner
    between the right leg where the left leg's pass saw it (P, the first fit) and where it was
    refined (cur)? Only then can a second pass of the left leg differ. The shank, not the thigh:
    the inner thighs touch at the crotch in every stance, and those few points change owner with
    any refinement of the other leg (a second pass there re-fitted noise: the front drop jump's
    foot registration at contact, which excludes points by the legs' joints, moved by 6 deg)."""
    r_thigh, r_shank, r_fore, r_pelvis = radii
    big = replace(s, max_points=len(points) + 1)
    sel = []
    for right in (P, cur):
        Q = cur.copy()
        Q[_LEG["right"]] = right[_LEG["right"]]
        if not np.isfinite(Q[_LEG["left"] + _LEG["right"]]).all():
            return False
        segs, rad = _segments(Q, r_thigh, r_shank, r_fore, r_pelvis)
        sel.append(_select(points, segs, 1, rad, big))
    a, b = sel
    if len(a) != len(b):
        return True
    return bool(len(a) and not np.array_equal(a, b))


def _leg_rounds(x, cur0, li, idx, points, uv, w2d, L_thigh, L_shank, r_thigh, r_shank, r_fore, ci, s,
                r_pelvis=0.0, thigh_only=False):
    """The select-fit rounds of one leg from the start x (9,); the other joints from cur0 (J, 3).
    Returns (x, points used (0 = not refined), final cost). thigh_only (RefineSettings.thigh_alone):
    the shank's points are not used (it has too few), hip and knee are fitted to the thigh's points
    and the ankle follows the knee rigidly (the start's shank vector kept)."""
    used, cost = 0, np.inf
    if thigh_only:
        x = np.asarray(x, float).copy()
        shank0 = x[6:9] - x[3:6]
        w2d = np.asarray(w2d, float).copy()
        w2d[2] = 0.0          # the hidden ankle's landmark is a guess
    for _ in range(s.rounds):
        cur = cur0.copy()
        cur[idx] = x.reshape(3, 3)
        segs, radii = _segments(cur, r_thigh, r_shank, r_fore, r_pelvis)
        if not all(np.isfinite(np.concatenate(sg)).all() for sg in segs[:4]):
            segs, radii = segs[2 * li:2 * li + 2], radii[2 * li:2 * li + 2]
            kk = (0, 1)
        else:
            kk = (2 * li, 2 * li + 1)
        pt = _select(points, segs, kk[0], radii, s)
        ps = points[:0] if thigh_only else _select(points, segs, kk[1], radii, s)
        if len(pt) < s.min_points or (len(ps) < s.min_points and not thigh_only):
            return x, 0, np.inf
        x, cost = _refine_leg(x, pt, ps, uv, w2d, L_thigh, L_shank, r_thigh, r_shank, ci, s)
        x = x.ravel()
        if thigh_only:
            x[6:9] = x[3:6] + shank0
        used = len(pt) + len(ps)
    return x, used, cost


def _despike(out, joints, s: RefineSettings):
    """Per joint: frames farther than despike_tol_m from the running median (a monotone or
    linear trajectory is its own median, so ramps and kinks stay) are replaced by the linear
    interpolation of the good frames either side, in runs of at most despike_max_gap_frames."""
    T, h = len(out), s.despike_half_window
    for j in joints:
        p = out[:, j].copy()
        fin = np.isfinite(p).all(axis=1)
        med = np.full_like(p, np.nan)
        for t in range(T):
            w = p[max(0, t - h):t + h + 1]
            w = w[np.isfinite(w).all(axis=1)]
            if len(w) >= h + 1:
                med[t] = np.median(w, axis=0)
        dev = np.linalg.norm(p - med, axis=1)
        bad = fin & np.isfinite(dev) & (dev > s.despike_tol_m)
        good = fin & ~bad
        for t, e, a, b in _bridged_runs(bad, good, s.despike_max_gap_frames):
            f = (np.arange(t, e) - a) / (b - a)
            out[t:e, j] = (1 - f)[:, None] * p[a] + f[:, None] * p[b]


def _bridged_runs(bad, good, max_gap: int):
    """(t, e, a, b) for each run bad[t:e] of at most max_gap frames whose neighbours a = t - 1
    and b = e are both good: the runs that can be bridged by interpolating from a to b."""
    T = len(bad)
    t = 0
    while t < T:
        if not bad[t]:
            t += 1
            continue
        e = t
        while e < T and bad[e]:
            e += 1
        a, b = t - 1, e
        if a >= 0 and b < T and good[a] and good[b] and e - t <= max_gap:
            yield t, e, a, b
        t = e


def _oblique(out, n_used, s: RefineSettings) -> bool:
    """The hips' median depth difference over the refined frames exceeds far_leg_again_m."""
    if s.far_leg_again_m <= 0:
        return False
    v = out[:, _LEG["left"][0]] - out[:, _LEG["right"][0]]
    ok = np.isfinite(v).all(axis=1) & (n_used > 0).all(axis=1)
    return bool(ok.sum() >= 5 and abs(np.median(v[ok, 2])) > s.far_leg_again_m)


def _pelvis_outliers(out, n_used, s: RefineSettings):
    """Oblique views: the far hip (behind the near leg) is the least determined joint; in frames
    where the hip-hip distance jumps away from the trial's median, put it at the near hip + the
    hip-hip vector interpolated in time over the neighbouring good frames (in place)."""
    lh, rh = _LEG["left"][0], _LEG["right"][0]
    v = out[:, lh] - out[:, rh]
    ok = np.isfinite(v).all(axis=1) & (n_used > 0).all(axis=1)
    if ok.sum() < 5:
        return
    dz = np.median(v[ok, 2])
    if abs(dz) <= s.far_leg_again_m:
        return
    far, near, sign = (lh, rh, 1.0) if dz > 0 else (rh, lh, -1.0)
    w = np.linalg.norm(v, axis=1)
    W = np.median(w[ok])
    good = ok & (np.abs(w - W) <= s.pelvis_tol_m)
    bad = ok & ~good
    for t, e, a, b in _bridged_runs(bad, good, s.pelvis_max_gap_frames):
        for k in range(t, e):
            f = (k - a) / (b - a)
            out[k, far] = out[k, near] + sign * ((1 - f) * v[a] + f * v[b])


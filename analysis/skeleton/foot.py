"""Foot orientation from the foot's own depth points: a rigid template of the shoe's visible
surface, taken in the static standing trial, registered per frame to the depth image.

Why: dorsiflexion is the shank-foot angle minus its static value, so any foot-FIXED direction
measured the same way in the static trial and in the movement gives the same change. The heel
has no depth seen from the front and MediaPipe's heel pixel is a guess (it pitches the foot
5-7 deg at a squat bottom, docs/SKELETON.md); the shoe's front and top, however, are hundreds of
depth pixels that move rigidly with the foot.

Static trial (`build_foot_template`): per side, the foot frame of every frame from the fitted
joints (origin the ankle, x = heel->toe, z = the ankle's side of that line, perpendicular to x,
y = z x x); its median over the frames (the athlete stands still) is THE static foot frame.
The foot's depth points of every frame (see `_foot_points`) are put in that frame and thinned to
a voxel grid: the template, with the static heel and toe in the same frame.

Movement trial (`register_feet`): per frame and side, the foot's depth points are registered
rigidly to the template (point-to-plane ICP, open3d legacy API; template normals from the
static points), starting from the previous frame's result (or the fitted joints' foot frame
when there is none or it failed); the foot's pose then places heel and toe (the template's
heel and toe) - the foot axis is the static one, carried by the shoe's surface. The ankle is
left to the fit and the leg refinement (the shank-foot angle uses only the heel->toe direction
of the foot).

Depth noise (round 2 of issue 8): a D400 pixel's depth scatters ~2.4 cm RMS along the viewing
ray at 2.5 m (Intel's RMS formula, the simulator's model); one frame's registration then
scattered by 6.2 / 5.2 deg RMS of pitch (front / 45 deg, 8 noisy frames of a rendered landing
pose, tests/test_skeleton_foot.py; 2.8 / 2.1 with the smoothing). The foot's depth patch is smoothed
first (`smooth_px`: each pixel the mean of its 3x3 neighbours within `smooth_delta_m` of its own
depth - edge-preserving like the RealSense SDK's spatial filter), for the template and for every
frame alike. Around the force events (`dense_window_s`; the windows come from
analysis/skeleton_pipeline.py) every depth frame is registered - at the station's 90 fps depth,
3 per 30 fps color frame, with the fitted joints moved linearly to the depth frame's time - and
the color frame's foot rotation is the mean of those (chordal mean).

Point selection (camera frame): depth pixels in a box around the foot's joints, deprojected;
kept when above the plate top (lab z > `plate_margin_m`: the plate/floor under the foot is not
foot), within `reach_m` of the heel-toe segment, nearer to this foot's segment than to the other
foot's, and not on the shank: points within the shank's radius + `shank_margin_m` of the
knee->ankle segment (which includes the sphere around the ankle, where sock and shoe meet) are
dropped - they move with the shank.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.joints import JOINT_INDEX
from drivers.camera_model import d400_depth_rms_m, invert_pose, transform_points


@dataclass
class FootSettings:
    enabled: bool = True
    stride_px: int = 1               # depth pixels read around the foot
    reach_m: float = 0.08            # points within this of the heel-toe segment
    shank_margin_m: float = 0.01     # points within shank radius + this of the shank: not foot
    plate_margin_m: float = 0.008    # points below this lab height: plate / floor
    voxel_m: float = 0.004           # template thinning
    max_correspondence_m: tuple = (0.03, 0.015, 0.008)   # ICP stages, coarse to fine
    iterations: int = 30             # per stage
    min_points: int = 40             # fewer foot points (or template overlap): no registration
    min_fitness: float = 0.5         # ICP inlier fraction below this: registration rejected
    max_rotation_deg: float = 45.0   # a correction of the start beyond this: rejected (slip)
    good_fitness: float = 0.9        # the tracked start reaching this: the fitted-joints start is
                                     # not tried (time)
    smooth_px: int = 1               # edge-preserving smoothing radius (px) of the foot's depth
    smooth_delta_m: float = 0.05     # ... over neighbours within this depth (0 px = off)
    dense_window_s: float = 0.2      # around the force events (jumps: contact - this .. the end of
                                     # the landing phase; squats: the bottom +- this) EVERY depth
                                     # frame is registered (3 per color frame at 90 / 30 fps) and the
                                     # foot's rotation per color frame is their mean; 0 = off
    contact_at_last_depth_frame: bool = True   # a landing's dorsiflexion at initial contact is read
                                     # at the last densely registered depth frame before the contact
                                     # (0-11 ms before it at 90 fps; assumes the ankle barely moves in
                                     # that gap), whose shank is measured there too
                                     # (RefineSettings.at_depth_frames), instead of a line through the
                                     # last 4 (kinematics.value_at_last_sample); False = the line
    no_interpolation_across_contact: bool | None = None  # True: a densely registered depth frame
                                     # between a landing's contact and the colour frame on its other
                                     # side gets its start and point selection from the colour frames
                                     # on ITS side of the contact (before it: the last two carried on
                                     # in a line, the foot still in flight; after it: the first one),
                                     # not from the line across the contact, where the foot stops.
                                     # Measured on the virtual jumps (docs/SKELETON.md, session 9):
                                     # with half the D435's depth noise (a D455's) it removes a +2..3
                                     # deg bias of the contact value (24 legs: RMS 2.14 -> 1.24, over
                                     # 3 deg 4 -> 0); with the D435's noise it makes it worse (RMS
                                     # 1.80 -> 3.55, over 3 deg 1 -> 10). None (default): chosen
                                     # per trial by the camera's depth noise (landing_joints_rule)
    own_side_below_depth_rms_m: float = 0.020  # ... True where the camera's expected depth RMS
                                     # at the plate centre is below this: the geometric middle of
                                     # the two measured set-ups at 2.5 m (D435 27.6 mm: line; 95 mm
                                     # baseline 14.5 mm: own side); between them, 60 mm (23.0 mm)
                                     # was better with the line and 70 mm (19.7 mm) with the own
                                     # side, neither within 3 deg in every jump leg (SKELETON.md)


def landing_joints_rule(cam, s: FootSettings) -> tuple[bool, str]:
    """(no_interpolation_across_contact, why) for a trial with CameraSetup `cam`: the setting
    where it is given, else chosen by the camera's expected depth RMS at the plate centre
    (Intel's D400 formula with the trial's stereo baseline, depth focal length and the camera's
    range to the plate centre from the spatial calibration)."""
    if s.no_interpolation_across_contact is not None:
        return bool(s.no_interpolation_across_contact), "given in the analysis settings"
    b = getattr(cam, "stereo_baseline_m", None)
    if b is None:
        return False, ("the trial does not record the camera's stereo baseline (recorded before "
                       "2026-11-28, or a camera that does not report it): the D435's rule")
    z = float(np.linalg.norm(np.asarray(cam.T_lab_from_depth, float)[:3, 3]))
    rms = float(d400_depth_rms_m(z, cam.depth_intrinsics.fx, b))
    own = rms < s.own_side_below_depth_rms_m
    return own, (f"expected depth RMS at the plate centre {rms * 1000:.1f} mm (stereo baseline "
                 f"{b * 1000:.0f} mm, {z:.2f} m away) {'<' if own else '>='} "
                 f"{s.own_side_below_depth_rms_m * 1000:.0f} mm")


_IDX = {s: {n: JOINT_INDEX[f"{s}_{n}"] for n in ("knee", "ankle", "heel", "toe")} for s in ("left", "right")}


def foot_frame(ankle, heel, toe) -> np.ndarray:
    """4x4 pose of the foot frame (origin ankle, x heel->toe, z towards the ankle side,
    perpendicular to x) in the joints' frame; NaN-filled if degenerate."""
    x = toe - heel
    nx = np.linalg.norm(x)
    z = ankle - heel
    if not (np.isfinite(nx) and nx > 1e-6 and np.isfinite(z).all()):
        return np.full((4, 4), np.nan)
    x = x / nx
    z = z - (z @ x) * x
    nz = np.linalg.norm(z)
    if nz < 1e-6:
        return np.full((4, 4), np.nan)
    z = z / nz
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = x, np.cross(z, x), z, ankle
    return T


def _seg_dist(p, a, b):
    ab = b - a
    t = np.clip((p - a) @ ab / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def _foot_points(points_cam, P, side, r_shank, T_lab_from_color, s: FootSettings):
    """The foot's depth points (N, 3), camera frame, from candidate points around the foot."""
    if not len(points_cam):
        return points_cam
    i = _IDX[side]
    o = _IDX["right" if side == "left" else "left"]
    heel, toe = P[i["heel"]], P[i["toe"]]
    d_own = _seg_dist(points_cam, heel, toe)
    keep = d_own < s.reach_m
    pts, d_own = points_cam[keep], d_own[keep]
    keep = np.ones(len(pts), bool)
    if np.isfinite(P[[o["heel"], o["toe"]]]).all():
        keep &= d_own < _seg_dist(pts, P[o["heel"]], P[o["toe"]])
    R, c = T_lab_from_color[:3, :3], T_lab_from_color[:3, 3]
    keep &= pts @ R[2] + c[2] > s.plate_margin_m
    for sd in ("left", "right"):
        k, a = P[_IDX[sd]["knee"]], P[_IDX[sd]["ankle"]]
        if np.isfinite(k).all() and np.isfinite(a).all():
            keep &= _seg_dist(pts, k, a) > r_shank + s.shank_margin_m
    return pts[keep]


def _candidate_points(depth_frame, cam, P, s: FootSettings, sides=("left", "right")):
    """Depth points (camera frame) in the depth image's box around the given feet's joints."""
    idx = [_IDX[sd][n] for sd in sides for n in ("ankle", "heel", "toe")]
    pts = np.concatenate([P[idx], P[len(JOINT_INDEX):]])     # + any extra points appended to P
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts):
        return np.zeros((0, 3))
    di = cam.depth_intrinsics
    jd = transform_points(invert_pose(cam.T_color_from_depth), pts)
    ok = jd[:, 2] > 0.1
    if not ok.any():
        return np.zeros((0, 3))
    uv = di.project(jd[ok])
    depth = np.asarray(depth_frame)
    box = depth_window(uv, jd[ok, 2].min(), s.reach_m, di.fx, depth.shape)
    if box is None:
        return np.zeros((0, 3))
    u0, v0, u1, v1 = box
    sub = depth[v0:v1, u0:u1].astype(float) * cam.depth_scale_m
    if s.smooth_px > 0:
        sub = _smooth_depth(sub, s.smooth_px, s.smooth_delta_m)
    sub = sub[::s.stride_px, ::s.stride_px]
    vv, uu = np.mgrid[v0:v1:s.stride_px, u0:u1:s.stride_px]
    m = sub > 0
    p = di.deproject(np.stack([uu[m], vv[m]], axis=1).astype(float), sub[m])
    return transform_points(cam.T_color_from_depth, p)


def depth_window(uv, z_min_m: float, margin_m: float, fx: float, shape):
    """(u0, v0, u1, v1): the depth image's box around the projected points `uv` (px), padded by
    `margin_m` at the nearest point's depth and clipped to the image; None when it is empty."""
    pad = margin_m * fx / z_min_m
    H, W = shape
    u0, v0 = np.floor(uv.min(axis=0) - pad).astype(int)
    u1, v1 = np.ceil(uv.max(axis=0) + pad).astype(int)
    u0, v0, u1, v1 = max(u0, 0), max(v0, 0), min(u1, W), min(v1, H)
    if u1 <= u0 or v1 <= v0:
        return None
    return u0, v0, u1, v1


def _smooth_depth(z, r, delta):
    """Edge-preserving box smoothing of a depth patch (m, 0 = hole): each valid pixel becomes the
    mean of the valid pixels of its (2r+1)^2 neighbourhood within `delta` of its own depth (the
    D400's per-pixel noise, ~2 cm RMS at 2.5 m, is mostly independent between pixels; the
    RealSense SDK's spatial filter does the same kind of thing). Holes stay holes."""
    H, W = z.shape
    valid = z > 0
    zp = np.pad(z, r)
    vp = np.pad(valid, r)
    acc = np.zeros_like(z)
    n = np.zeros_like(z)
    for dy in range(2 * r + 1):
        for dx in range(2 * r + 1):
            q = zp[dy:dy + H, dx:dx + W]
            w = vp[dy:dy + H, dx:dx + W] & (np.abs(q - z) < delta)
            acc += np.where(w, q, 0.0)
            n += w
    return np.where(valid, acc / np.maximum(n, 1), 0.0)


def build_foot_template(joints_cam, depth_frames, depth_time_s, color_time_s, cam, r_shank,
                        s: FootSettings, frames=None) -> dict:
    """From the static trial's fitted joints (T, J, 3, color camera frame) and depth frames:
    {side: {'points_foot_m': (N, 3), 'heel_foot_m': (3,), 'toe_foot_m': (3,), 'n_frames': int}}
    (sides whose foot frame or points could not be found are left out)."""
    T = len(joints_cam)
    frames = np.arange(T) if frames is None else np.flatnonzero(frames)
    depth_time_s = np.asarray(depth_time_s, float)
    out = {}
    for side in ("left", "right"):
        i = _IDX[side]
        poses = [foot_frame(joints_cam[t, i["ankle"]], joints_cam[t, i["heel"]], joints_cam[t, i["toe"]])
                 for t in frames]
        poses = np.array([p for p in poses if np.isfinite(p).all()])
        if not len(poses):
            continue
        Tm = _median_pose(poses)
        Tinv = np.linalg.inv(Tm)
        acc = []
        for t in frames:
            k = int(np.argmin(np.abs(depth_time_s - color_time_s[t])))
            cand = _candidate_points(depth_frames[k], cam, joints_cam[t], s)
            pts = _foot_points(cand, joints_cam[t], side, r_shank, cam.T_lab_from_color, s)
            if len(pts):
                acc.append(transform_points(Tinv, pts))
        if not acc:
            continue
        pts = _voxel_mean(np.concatenate(acc), s.voxel_m)
        if len(pts) < s.min_points:
            continue
        ht = transform_points(Tinv, np.stack([np.median(joints_cam[frames, i["heel"]], axis=0),
                                              np.median(joints_cam[frames, i["toe"]], axis=0)]))
        # the plate top in the static foot frame: lab height of a foot-frame point p = n . p + d
        M = cam.T_lab_from_color @ Tm
        out[side] = {"points_foot_m": pts, "heel_foot_m": ht[0], "toe_foot_m": ht[1],
                     "plate_plane_foot": np.concatenate([M[2, :3], [M[2, 3]]]),
                     "n_frames": int(len(frames))}
    return out


def _median_pose(poses):
    """Element-wise median of 4x4 poses, rotation re-orthonormalised (SVD)."""
    M = np.median(poses, axis=0)
    U, _, Vt = np.linalg.svd(M[:3, :3])
    R = U @ Vt
    if np.linalg.det(R) < 0:
        U[:, -1] *= -1
        R = U @ Vt
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, M[:3, 3]
    return T


def _voxel_mean(points, voxel):
    key = np.floor(points / voxel).astype(np.int64)
    _, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    n = np.bincount(inv)
    return np.stack([np.bincount(inv, points[:, c]) / n for c in range(3)], axis=1)


def _o3d_cloud(points, normals_radius=None):
    import open3d as o3d
    pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.ascontiguousarray(points, float)))
    if normals_radius:
        pc.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=normals_radius, max_nn=30))
    return pc


def _rotation_angle(R):
    return float(np.arccos(np.clip((np.trace(R) - 1) / 2, -1.0, 1.0)))


def _mean_rotation(Rs):
    """Chordal L2 mean of rotation matrices (SVD projection of their sum)."""
    U, _, Vt = np.linalg.svd(np.sum(Rs, axis=0))
    R = U @ Vt
    if np.linalg.det(R) < 0:
        U[:, -1] *= -1
        R = U @ Vt
    return R


def _depth_jobs(T, depth_time_s, color_time_s, dense):
    """Per color frame t, the depth frames registered for it: the nearest one, or (where
    dense[t]) every depth frame whose nearest color frame is t."""
    k_near = np.array([int(np.argmin(np.abs(depth_time_s - tc))) for tc in color_time_s], dtype=int)
    jobs = [[int(k)] for k in k_near]
    if dense is not None and np.any(dense) and len(depth_time_s) > len(color_time_s):
        c_of_k = np.searchsorted(color_time_s, depth_time_s)
        c_of_k = np.clip(c_of_k, 1, max(T - 1, 1))
        left = color_time_s[c_of_k - 1]
        right = color_time_s[np.minimum(c_of_k, T - 1)]
        c_of_k = np.where(np.abs(depth_time_s - left) <= np.abs(depth_time_s - right), c_of_k - 1, c_of_k)
        for t in np.flatnonzero(dense):
            ks = np.flatnonzero(c_of_k == t)
            ks = ks[np.abs(depth_time_s[ks] - color_time_s[t]) < 1.0 / max(_rate(color_time_s), 1e-9)]
            if len(ks):
                jobs[t] = sorted(set(int(k) for k in ks) | {int(k_near[t])})
    return jobs


def _rate(times):
    return 1.0 / np.median(np.diff(times)) if len(times) > 1 else 30.0


def _joints_at(joints, color_time_s, t, tq, contacts_s=()):
    """Joints of color frame t moved linearly to time tq (between its neighbours). Where a
    contact lies between tq and colour frame t's neighbour towards it, only the colour frames on
    tq's side of the contact are used (FootSettings.no_interpolation_across_contact)."""
    T = len(joints)
    for c in contacts_s:
        i = int(np.searchsorted(color_time_s, c)) - 1       # the last colour frame before c
        if not 0 <= i < T - 1 or not color_time_s[i] <= tq <= color_time_s[i + 1]:
            continue
        if tq >= c:
            return joints[i + 1]
        if i < 1:
            return joints[i]
        v = (joints[i] - joints[i - 1]) / (color_time_s[i] - color_time_s[i - 1])
        P = joints[i] + (tq - color_time_s[i]) * v
        return np.where(np.isfinite(P), P, joints[i])
    if T < 2 or tq == color_time_s[t]:
        return joints[t]
    u = t + 1 if tq > color_time_s[t] else t - 1
    if u < 0 or u >= T:
        return joints[t]
    w = (tq - color_time_s[t]) / (color_time_s[u] - color_time_s[t])
    P = (1 - w) * joints[t] + w * joints[u]
    return np.where(np.isfinite(P), P, joints[t])


def register_feet(joints_cam, depth_frames, depth_time_s, color_time_s, cam, template: dict,
                  r_shank, s: FootSettings, dense=None, dense_out: dict | None = None, contacts_s=()):
    """Replace heel and toe (T, J, 3, color camera frame) by the registered template's. Returns
    (joints, (T, 2) ICP fitness per side (0 = not registered), (T, 2, 4, 4) foot poses).
    dense: optional (T,) bool - for those color frames every depth frame nearest to them (a
    90 fps depth stream gives 3 per 30 fps color frame) is registered, with the joints moved
    linearly to the depth frame's time, and the foot's rotation is their mean (the registration
    noise of one depth frame, several degrees at landings, is averaged down).
    dense_out: optional dict, filled with every densely registered depth frame's own result:
    'depth_index' (K,), 'heel_cam' / 'toe_cam' (K, 2, 3) (NaN where that foot failed) - the
    foot at the depth frame's time, for values at a landing's initial contact, where the foot
    turns ~1 deg per ms and the colour frames' mean blurs it.
    contacts_s: colour host times of landings' initial contacts (see
    FootSettings.no_interpolation_across_contact)."""
    import open3d as o3d
    reg = o3d.pipelines.registration
    out = np.array(joints_cam, dtype=float, copy=True)
    T = len(out)
    fitness = np.zeros((T, 2))
    poses = np.full((T, 2, 4, 4), np.nan)
    targets = {side: _o3d_cloud(tp["points_foot_m"], normals_radius=0.015) for side, tp in template.items()}
    depth_time_s = np.asarray(depth_time_s, float)
    color_time_s = np.asarray(color_time_s, float)
    prev = {side: None for side in template}
    prev_ankle = {side: None for side in template}
    prev_step = {side: None for side in template}
    jobs = _depth_jobs(T, depth_time_s, color_time_s, dense) if template else []
    for t in range(T):
        if not template:
            break
        results = {side: [] for side in template}
        for k in jobs[t]:
            P = (_joints_at(joints_cam, color_time_s, t, depth_time_s[k],
                            contacts_s if s.no_interpolation_across_contact else ())
                 if len(jobs[t]) > 1 else joints_cam[t])
            depth = np.asarray(depth_frames[k])
            per_frame = np.full((2, 2, 3), np.nan)
            for li, side in enumerate(("left", "right")):
                if side not in template:
                    continue
                r = _register_one(P, depth, cam, template[side], targets[side], side, r_shank, s, reg,
                                  prev, prev_ankle, prev_step)
                if r is not None:
                    results[side].append((r[0], r[1], P[_IDX[side]["ankle"]]))
                    per_frame[li] = transform_points(r[0], np.stack([template[side]["heel_foot_m"],
                                                                     template[side]["toe_foot_m"]]))
            if dense_out is not None and len(jobs[t]) > 1:
                dense_out.setdefault("depth_index", []).append(int(k))
                dense_out.setdefault("heel_cam", []).append(per_frame[:, 0])
                dense_out.setdefault("toe_cam", []).append(per_frame[:, 1])
        for li, side in enumerate(("left", "right")):
            if not results.get(side):
                continue
            i = _IDX[side]
            Tf = np.eye(4)
            Tf[:3, :3] = _mean_rotation([x[0][:3, :3] for x in results[side]])
            a_t = joints_cam[t, i["ankle"]]
            shift = [x[0][:3, 3] - (x[2] - a_t) if np.isfinite(a_t).all() else x[0][:3, 3]
                     for x in results[side]]
            Tf[:3, 3] = np.mean(shift, axis=0)
            ht = transform_points(Tf, np.stack([template[side]["heel_foot_m"], template[side]["toe_foot_m"]]))
            out[t, i["heel"]], out[t, i["toe"]] = ht[0], ht[1]
            fitness[t, li] = float(np.mean([x[1] for x in results[side]]))
            poses[t, li] = Tf
    return out, fitness, poses


def _register_one(P, depth, cam, tp, target, side, r_shank, s, reg, prev, prev_ankle, prev_step):
    """One depth frame, one foot: (foot pose, ICP fitness) or None; updates the tracking state
    (per side: the last pose, the ankle it was moved with, its last rotation step)."""
    i = _IDX[side]
    T_fit = foot_frame(P[i["ankle"]], P[i["heel"]], P[i["toe"]])
    # starts: the previous frame's foot turned on by its last rotation step (constant angular
    # velocity: just before a landing the foot turns ~10 deg per 90 fps frame, and ICP started
    # at the previous pose stopped short), the previous frame's foot moved as the fitted ankle
    # moved, and the fitted joints' own foot frame
    T_prev = T_pred = None
    if prev[side] is not None and prev_ankle[side] is not None and np.isfinite(P[i["ankle"]]).all():
        T_prev = prev[side].copy()
        T_prev[:3, 3] += P[i["ankle"]] - prev_ankle[side]
        step = prev_step[side]
        if step is not None and np.radians(2.0) < _rotation_angle(step) < np.radians(s.max_rotation_deg):
            T_pred = T_prev.copy()
            T_pred[:3, :3] = step @ T_prev[:3, :3]
    prev_ankle[side] = P[i["ankle"]].copy()
    starts = [x for x in (T_pred, T_prev, T_fit) if x is not None and np.isfinite(x).all()]
    if not starts:
        return None
    # select the foot's points around the starting foot (the template's heel and toe)
    T0 = starts[0]
    Pq = P.copy()
    ht = transform_points(T0, np.stack([tp["heel_foot_m"], tp["toe_foot_m"]]))
    Pq[i["heel"]], Pq[i["toe"]] = ht[0], ht[1]
    cand = _candidate_points(depth, cam, np.concatenate([P, Pq[[i["heel"], i["toe"]]]]), s, (side,))
    pts = _foot_points(cand, Pq, side, r_shank, cam.T_lab_from_color, s)
    if len(pts) < s.min_points:
        prev[side] = prev_step[side] = None
        return None
    best = None
    for T_start in starts:
        src = _o3d_cloud(transform_points(np.linalg.inv(T_start), pts))
        M = np.eye(4)
        for dmax in s.max_correspondence_m:
            r = reg.registration_icp(src, target, dmax, M,
                                     reg.TransformationEstimationPointToPlane(),
                                     reg.ICPConvergenceCriteria(max_iteration=s.iterations))
            M = r.transformation
        plane = tp.get("plate_plane_foot")
        if plane is not None:
            # the static template has no points within plate_margin_m of the plate (cut
            # there); cut the frame's points at the same foot-fixed plane and re-fit
            q = transform_points(M, np.asarray(src.points))
            above = q @ plane[:3] + plane[3] > s.plate_margin_m
            if s.min_points <= above.sum() < len(q):
                src = _o3d_cloud(np.asarray(src.points)[above])
                r = reg.registration_icp(src, target, s.max_correspondence_m[-1], M,
                                         reg.TransformationEstimationPointToPlane(),
                                         reg.ICPConvergenceCriteria(max_iteration=s.iterations))
                M = r.transformation
        ok = r.fitness >= s.min_fitness and _rotation_angle(M[:3, :3]) <= np.radians(s.max_rotation_deg)
        if ok and (best is None or r.inlier_rmse < best[1]):
            best = (T_start @ np.linalg.inv(M), r.inlier_rmse, r.fitness)
        if best is not None and T_start is T_prev and best[2] >= s.good_fitness:
            break
    if best is None:
        prev[side] = prev_step[side] = None
        return None
    prev_step[side] = best[0][:3, :3] @ prev[side][:3, :3].T if prev[side] is not None else None
    prev[side] = best[0]
    return best[0], best[2]


def template_to_json(template: dict) -> dict:
    return {side: {k: (np.asarray(v).tolist() if k != "n_frames" else v) for k, v in tp.items()}
            for side, tp in template.items()}


def template_from_json(d: dict | None) -> dict | None:
    if not d:
        return None
    return {side: {k: (np.asarray(v, float) if k != "n_frames" else v) for k, v in tp.items()}
            for side, tp in d.items()}

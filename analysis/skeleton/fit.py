"""Skeletal model: per-athlete bone lengths from the static trial, a per-frame robust fit with
those lengths held constant, zero-lag low-pass filtering, and the move into the lab frame and
onto the plate's time base.

Per frame the unknowns are the J joint centres (color camera frame). Residuals (metres):
  * 2D: the joint's reprojection minus the detected pixel, times depth / focal length, weighted
    by the landmark's visibility (the image fixes each joint's direction from the camera);
  * depth: the joint's z minus the lifted centre's z (valid or gap-filled lifts only);
  * bones: |a - b| - L_ab for every bone, with a large weight (lengths held constant);
  * neck = midpoint of the shoulders (as mapped from MediaPipe);
  * a weak pull to the previous frame's solution (which also warm-starts the solve);
  * pelvis heading: the hips' depth difference follows that of a reference pair (setting
    `heading_reference`: the ankles by default - feet planted, pelvis square to them in bilateral
    squats and landings; or the shoulders - no trunk twist), scaled by the width ratio. Deep in a
    squat the hips hide behind the thighs and have no depth; without this their two depths (hence
    the pelvis heading that FPPA's frontal plane is built on) drift apart.
scipy.optimize.least_squares, loss soft_l1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.signal import butter, filtfilt

from analysis.joints import JOINT_INDEX, JOINT_NAMES
from drivers.camera_model import transform_points

BONES = tuple((a, b) for a, b in (
    ("neck", "head"), ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip"),
    ("left_hip", "left_knee"), ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
    ("left_ankle", "left_heel"), ("right_ankle", "right_heel"),
    ("left_ankle", "left_toe"), ("right_ankle", "right_toe"),
    ("left_heel", "left_toe"), ("right_heel", "right_toe"),
))
_BONE_IDX = np.array([[JOINT_INDEX[a], JOINT_INDEX[b]] for a, b in BONES])
_NECK, _LS, _RS = JOINT_INDEX["neck"], JOINT_INDEX["left_shoulder"], JOINT_INDEX["right_shoulder"]
_LH, _RH = JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]
_HEADING_PAIRS = {"shoulders": (_LS, _RS), "ankles": (JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"])}
_FOOT_BONES = {("left_ankle", "left_heel"), ("right_ankle", "right_heel"),
               ("left_heel", "left_toe"), ("right_heel", "right_toe")}

# Fallback when the static trial cannot place the heel: foot proportions of Winter (2009,
# Fig. 4.1; Drillis & Contini): foot length 0.152 H, ankle 0.039 H above the floor, the ankle
# centre about a quarter of the foot length ahead of the heel. As ratios of ankle-toe length:
_FL, _AH, _BACK = 0.152, 0.039, 0.25
_AT = float(np.hypot((1 - _BACK) * _FL, _AH))
FOOT_FRACTIONS = {"heel_toe_over_ankle_toe": _FL / _AT,
                  "ankle_heel_over_ankle_toe": float(np.hypot(_BACK * _FL, _AH)) / _AT}

# Leg bone lengths as fractions of stature, Winter (2009, Fig. 4.1): hip-knee 0.245 H, knee-ankle
# 0.246 H, ankle centre to toe tip _AT H. A static trial's length this far off (as a fraction) is
# not the athlete's but a failed depth sample (e.g. the floor behind an ankle: a 0.60 m shank for
# a 1.75 m athlete on the virtual station at 2.25 m, docs/SKELETON.md session 10).
LEG_BONE_FRACTIONS = {"thigh": (("hip", "knee"), 0.245), "shank": (("knee", "ankle"), 0.246),
                      "foot": (("ankle", "toe"), _AT)}
LEG_BONE_TOLERANCE = 0.30


def check_leg_bones(lengths: dict, stature_m: float, tolerance: float = LEG_BONE_TOLERANCE):
    """Leg bone lengths measured in a trial (the static one, or a trial analysed without it)
    against the athlete's stature. A bone outside fraction * stature * (1 +- tolerance) takes the
    other leg's length where that one is inside (a foot takes the other foot's three bones); where
    neither is, that leg is unusable.
    Returns (lengths, notes: what was replaced or is wrong and why, unusable: sorted sides)."""
    out = dict(lengths)
    notes, unusable = [], set()
    for name, ((a, b), frac) in LEG_BONE_FRACTIONS.items():
        lo, hi = frac * stature_m * (1 - tolerance), frac * stature_m * (1 + tolerance)
        val = {side: lengths.get((f"{side}_{a}", f"{side}_{b}"), float("nan")) for side in ("left", "right")}
        good = {side: bool(np.isfinite(v) and lo <= v <= hi) for side, v in val.items()}
        for side, other in (("left", "right"), ("right", "left")):
            if good[side]:
                continue
            what = (f"the measured {side} {name} ({val[side]:.3f} m) is outside {lo:.2f}-{hi:.2f} m "
                    f"({frac:.3f} x stature {stature_m:.2f} m +-{tolerance:.0%})")
            if good[other]:
                bones = ([(a, b)] if name != "foot" else
                         [("ankle", "toe"), ("ankle", "heel"), ("heel", "toe")])
                for x, y in bones:
                    out[(f"{side}_{x}", f"{side}_{y}")] = lengths[(f"{other}_{x}", f"{other}_{y}")]
                notes.append(f"{what}: the {other}'s {val[other]:.3f} m used for both legs")
            else:
                unusable.add(side)
                notes.append(f"{what}, and so is the {other}'s: check the athlete's recorded height, "
                             "and re-record the static trial (the whole body in view, standing still "
                             "on the plate)")
    return out, notes, sorted(unusable)


@dataclass
class FitSettings:
    weight_2d: float = 1.0
    weight_depth: float = 0.5
    weight_bone: float = 10.0
    weight_previous: float = 0.05
    loss_scale_m: float = 0.02
    cutoff_hz: float = 12.0          # the pipeline sets it by trial kind (skeleton_pipeline.cutoff_for_kind)
    filter_order: int = 4            # zero-lag order (two passes of order/2)
    min_visibility: float = 0.5
    weight_heading: float = 1.0      # pelvis yaw follows the reference pair's yaw (see below)
    heading_reference: str = "ankles"   # "ankles" | "shoulders" | "none"
    reject_depth_m: float = 0.06     # depth residuals above this after a first solve are dropped
                                     # (self-occlusion: e.g. the hip behind the thigh in a squat)
    split_at_contact: bool = True    # landings: filter flight and landing apart at the force
                                     # plate's initial contact (lowpass_piecewise)


def estimate_bone_lengths(points_camera_m: np.ndarray, valid: np.ndarray) -> dict:
    """Median length of every bone over frames where both ends are valid lifted centres
    (the static trial). The heel has no depth, so foot bones come from FOOT_FRACTIONS of the
    measured ankle-toe length. Returns {(a, b): metres}; NaN for bones never seen."""
    out = {}
    for (a, b), (ia, ib) in zip(BONES, _BONE_IDX):
        ok = valid[:, ia] & valid[:, ib]
        d = np.linalg.norm(points_camera_m[ok, ia] - points_camera_m[ok, ib], axis=-1)
        out[(a, b)] = float(np.median(d)) if d.size else float("nan")
    for side in ("left", "right"):
        at = out[(f"{side}_ankle", f"{side}_toe")]
        if not np.isfinite(out[(f"{side}_ankle", f"{side}_heel")]):
            out[(f"{side}_ankle", f"{side}_heel")] = FOOT_FRACTIONS["ankle_heel_over_ankle_toe"] * at
        if not np.isfinite(out[(f"{side}_heel", f"{side}_toe")]):
            out[(f"{side}_heel", f"{side}_toe")] = FOOT_FRACTIONS["heel_toe_over_ankle_toe"] * at
    return out


def _residuals(x, uv, w2d, z_lift, wz, L, wL, prev, wprev, fx, fy, ppx, ppy, k_heading, w_heading, ref_pair):
    P = x.reshape(-1, 3)
    # (u - u_obs) * z / fx = X - z (u_obs - ppx) / fx: linear in the joint position
    r2d = np.concatenate([(P[:, 0] - P[:, 2] * (uv[:, 0] - ppx) / fx) * w2d,
                          (P[:, 1] - P[:, 2] * (uv[:, 1] - ppy) / fy) * w2d])
    rz = (P[:, 2] - z_lift) * wz
    d = np.linalg.norm(P[_BONE_IDX[:, 0]] - P[_BONE_IDX[:, 1]], axis=-1)
    rb = (d - L) * wL
    rn = (P[_NECK] - 0.5 * (P[_LS] + P[_RS])) * wL[0]
    rp = ((P - prev) * wprev).ravel()
    a, b = ref_pair
    rh = np.array([((P[_RH, 2] - P[_LH, 2]) - k_heading * (P[b, 2] - P[a, 2])) * w_heading])
    return np.concatenate([r2d, rz, rb, rn, rp, rh])


def _jacobian(x, uv, w2d, z_lift, wz, L, wL, prev, wprev, fx, fy, ppx, ppy, k_heading, w_heading,
              ref_pair):
    P = x.reshape(-1, 3)
    J = len(P)
    nb = len(_BONE_IDX)
    jac = np.zeros((2 * J + J + nb + 3 + 3 * J + 1, 3 * J))
    jac[-1, 3 * _RH + 2], jac[-1, 3 * _LH + 2] = w_heading, -w_heading
    jac[-1, 3 * ref_pair[1] + 2] += -k_heading * w_heading
    jac[-1, 3 * ref_pair[0] + 2] += k_heading * w_heading
    ar = np.arange(J)
    jac[ar, 3 * ar] = w2d
    jac[ar, 3 * ar + 2] = -w2d * (uv[:, 0] - ppx) / fx
    jac[J + ar, 3 * ar + 1] = w2d
    jac[J + ar, 3 * ar + 2] = -w2d * (uv[:, 1] - ppy) / fy
    jac[2 * J + ar, 3 * ar + 2] = wz
    d = P[_BONE_IDX[:, 0]] - P[_BONE_IDX[:, 1]]
    g = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9) * wL[:, None]
    rows = (3 * J + np.arange(nb))[:, None]
    c3 = np.arange(3)[None, :]
    jac[rows, 3 * _BONE_IDX[:, :1] + c3] = g
    jac[rows, 3 * _BONE_IDX[:, 1:] + c3] = -g
    r0 = 3 * J + nb
    jac[r0 + np.arange(3), 3 * _NECK + np.arange(3)] = wL[0]
    jac[r0 + np.arange(3), 3 * _LS + np.arange(3)] = -0.5 * wL[0]
    jac[r0 + np.arange(3), 3 * _RS + np.arange(3)] = -0.5 * wL[0]
    r0 += 3
    jac[r0 + np.arange(3 * J), np.arange(3 * J)] = wprev
    return jac


def fit_frames(*args, **kwargs):
    """See _fit_frames; runs with single-threaded BLAS (analysis/skeleton/blas_threads.py)."""
    from analysis.skeleton.blas_threads import single_thread_blas
    with single_thread_blas():
        return _fit_frames(*args, **kwargs)


def _fit_frames(xy_px: np.ndarray, vis: np.ndarray, centres_camera_m: np.ndarray,
               centre_ok: np.ndarray, bone_lengths: dict, intr, s: FitSettings,
               init_hint_camera_m: np.ndarray | None = None):
    """Fit every frame. xy_px (T, J, 2), vis (T, J), centres_camera_m (T, J, 3) lifted joint
    centres (NaN where none), centre_ok (T, J). Returns (T, J, 3) fitted joints, color camera
    frame (NaN for frames before the first usable one) and (T,) the RMS residual (m)."""
    T, J = vis.shape
    L = np.array([bone_lengths[b] for b in BONES])
    wL_base = np.where(np.isfinite(L), s.weight_bone, 0.0)
    L = np.nan_to_num(L)
    # the hips' depth difference follows the reference pair's, scaled by the width ratio
    ref_pair = _HEADING_PAIRS.get(s.heading_reference, (_LS, _RS))
    w_heading = s.weight_heading if s.heading_reference in _HEADING_PAIRS else 0.0
    k_heading = 0.0
    if w_heading > 0:
        hip_w = bone_lengths[("left_hip", "right_hip")]
        ref_w = np.nanmedian(np.linalg.norm(centres_camera_m[:, ref_pair[1]] - centres_camera_m[:, ref_pair[0]], axis=-1)) \
            if np.isfinite(centres_camera_m[:, list(ref_pair)]).all(axis=(1, 2)).any() else np.nan
        k_heading = hip_w / ref_w if np.isfinite(hip_w) and np.isfinite(ref_w) and ref_w > 0 else 0.0
    out = np.full((T, J, 3), np.nan)
    rms = np.full(T, np.nan)
    rejected = np.zeros((T, J), dtype=bool)
    prev = None
    for t in range(T):
        seen = (vis[t] >= s.min_visibility) & np.isfinite(xy_px[t]).all(axis=1)
        if seen.sum() < 6 or centre_ok[t].sum() < 4:
            continue
        uv = np.where(seen[:, None], xy_px[t], 0.0)
        w2d = np.where(seen, s.weight_2d * np.clip(vis[t], 0, 1), 0.0)
        z_lift = np.where(centre_ok[t], centres_camera_m[t, :, 2], 0.0)
        wz = np.where(centre_ok[t], s.weight_depth, 0.0)
        if prev is None:
            x0 = _initial_guess(xy_px[t], seen, centres_camera_m[t], centre_ok[t], intr)
            if init_hint_camera_m is not None:
                hint = init_hint_camera_m[t]
                use = ~centre_ok[t] & np.isfinite(hint).all(axis=1)
                x0[use] = hint[use]
            wprev = 0.0
        else:
            x0 = prev.copy()
            wprev = s.weight_previous
        prev_ref = x0.reshape(J, 3).copy()
        x = x0.ravel()

        def solve(x_start, wz_now):
            return least_squares(_residuals, x_start, jac=_jacobian, loss="soft_l1",
                                 f_scale=s.loss_scale_m,
                                 args=(uv, w2d, z_lift, wz_now, L, wL_base, prev_ref, wprev,
                                       intr.fx, intr.fy, intr.ppx, intr.ppy, k_heading, w_heading, ref_pair),
                                 x_scale=0.1, max_nfev=50 if prev is not None else 200)

        def far_from_depth(x_now, wz_now):
            return (wz_now > 0) & (np.abs(x_now.reshape(J, 3)[:, 2] - z_lift) > s.reject_depth_m)

        for attempt in range(2):
            res = solve(x, wz)
            x = res.x
            bad = far_from_depth(x, wz)
            if not bad.any():
                break
            if attempt == 0:
                # A joint this far from its lifted depth is either self-occluded (the hip behind
                # the thigh deep in a squat: the lifted depth is the thigh's surface) or the fit
                # sits in a wrong local minimum it was warm-started in (a foot turned heel-first,
                # its toe 15-20 cm behind the toe's measured depth: issue 8, drop jumps that start
                # on the box). Start those joints at their lifted centres (a foot's heel at its
                # flat-foot hint) and keep whichever solution explains all the data better.
                x_alt = x.reshape(J, 3).copy()
                x_alt[bad] = centres_camera_m[t][bad]
                if init_hint_camera_m is not None:
                    for side in ("left", "right"):
                        h = JOINT_INDEX[f"{side}_heel"]
                        if bad[[JOINT_INDEX[f"{side}_ankle"], JOINT_INDEX[f"{side}_toe"]]].any() \
                                and np.isfinite(init_hint_camera_m[t, h]).all():
                            x_alt[h] = init_hint_camera_m[t, h]
                res_alt = solve(x_alt.ravel(), wz)
                if res_alt.cost < res.cost:
                    res, x = res_alt, res_alt.x
                    bad = far_from_depth(x, wz)
                    if not bad.any():
                        break
            wz = np.where(bad, 0.0, wz)
            rejected[t] |= bad
        P = res.x.reshape(J, 3)
        out[t] = P
        rms[t] = float(np.sqrt(np.mean(res.fun ** 2)))
        prev = P
    return out, rms, rejected


def _initial_guess(xy, seen, centres, ok, intr):
    """Deproject every seen joint at its lifted depth (or the body's median depth)."""
    zmed = np.nanmedian(np.where(ok, centres[:, 2], np.nan)) if ok.any() else 2.5
    z = np.where(ok, centres[:, 2], zmed)
    uv = np.where(seen[:, None], xy, np.array([intr.ppx, intr.ppy]))
    return intr.deproject(uv, z)


def lowpass_zero_lag(x: np.ndarray, rate_hz: float, cutoff_hz: float, order: int = 4):
    """Zero-lag Butterworth along axis 0 (filtfilt of a Butterworth of order/2: the two passes
    make the stated order). NaN runs are left NaN; each finite run is filtered on its own
    (runs too short to pad are left as they are)."""
    x = np.asarray(x, dtype=float)
    out = x.copy()
    wn = min(cutoff_hz / (0.5 * rate_hz), 0.99)
    b, a = butter(max(order // 2, 1), wn)
    flat = out.reshape(len(x), -1)
    padlen = 3 * max(len(a), len(b))
    for c in range(flat.shape[1]):
        col = flat[:, c]
        ok = np.isfinite(col)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(int), [0]])))
        for s0, s1 in zip(edges[::2], edges[1::2]):
            if s1 - s0 > padlen:
                col[s0:s1] = filtfilt(b, a, col[s0:s1])
    return out


def lowpass_piecewise(x: np.ndarray, time_s: np.ndarray, rate_hz: float, cutoff_hz: float,
                      order: int = 4, breaks_s=()) -> np.ndarray:
    """lowpass_zero_lag on each stretch between the break times (each break starts a new
    stretch): a landing's initial contact kinks the ankle's and knee's curves (the heel drops
    within ~20 ms), and a filter run across the kink rounds it - the virtual drop jump's
    dorsiflexion, sampled at 90 fps and filtered at 12 Hz, read -5.6 deg at the contact instead
    of -12; at the colour frames' 30 fps a 12 Hz filter is nearly transparent (the frames next to
    a V move by < 1 deg). Filtering flight and landing apart keeps the approach to the contact
    intact (the practice for impacts: kinematics filtered apart either side of touchdown)."""
    time_s = np.asarray(time_s, float)
    cuts = sorted(int(np.searchsorted(time_s, b)) for b in breaks_s if np.isfinite(b))
    cuts = [c for c in cuts if 0 < c < len(time_s)]
    out = np.array(x, dtype=float, copy=True)
    for a, b in zip([0] + cuts, cuts + [len(time_s)]):
        if b > a:
            out[a:b] = lowpass_zero_lag(x[a:b], rate_hz, cutoff_hz, order)
    return out


def to_lab(joints_color_m: np.ndarray, T_lab_from_color: np.ndarray) -> np.ndarray:
    return transform_points(T_lab_from_color, joints_color_m)

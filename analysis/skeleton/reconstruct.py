"""The skeleton chain on in-memory streams (no trial file): 2D pose on each color frame ->
depth of the nearest depth frame aligned to color -> lifted joint centres -> gap filling ->
skeletal fit with constant bone lengths -> zero-lag filter -> lab frame.
analysis/skeleton_pipeline.py wraps this for trials.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from analysis.joints import JOINT_INDEX
from analysis.pose.estimator import PoseEstimator
from analysis.skeleton.align import align_depth_to_color
from analysis.skeleton.fit import (FitSettings, check_leg_bones, estimate_bone_lengths, fit_frames,
                                   lowpass_piecewise, to_lab)
from analysis.skeleton.lift import (LiftSettings, fill_short_gaps, heel_on_toe_level,
                                    sample_surface_depths, surface_offsets_m, surface_to_centre)
from analysis.skeleton.mapping import landmarks_to_joints
from analysis.skeleton.refine import (RefineSettings, refine_legs, refine_legs_at_depth_frames,
                                      segment_radius_m)
from analysis.skeleton.foot import FootSettings, build_foot_template, register_feet
from analysis.skeleton.residual_analysis import leg_residual_analysis
from drivers.camera_model import Intrinsics, invert_pose


@dataclass(frozen=True)
class CameraSetup:
    depth_intrinsics: Intrinsics
    color_intrinsics: Intrinsics
    T_color_from_depth: np.ndarray
    depth_scale_m: float
    T_lab_from_depth: np.ndarray
    stereo_baseline_m: Optional[float] = None    # the camera's, where the trial records it

    @property
    def T_lab_from_color(self) -> np.ndarray:
        return self.T_lab_from_depth @ invert_pose(self.T_color_from_depth)


@dataclass
class Landmarks:
    """2D pose over time: xy_px (T, 33, 2), visibility (T, 33), world_mediapipe_m (T, 33, 3)."""
    time_s: np.ndarray
    xy_px: np.ndarray
    visibility: np.ndarray
    world_mediapipe_m: np.ndarray


def estimate_2d(estimator: PoseEstimator, color_frames, color_time_s) -> Landmarks:
    from analysis.pose.estimator import run_estimator
    r = run_estimator(estimator, color_frames, color_time_s)
    return Landmarks(np.asarray(color_time_s, float), r["xy_px"], r["visibility"],
                     r["world_mediapipe_m"])


def _color_box(xy, W, H, margin=30):
    ok = np.isfinite(xy).all(axis=1)
    if not ok.any():
        return None
    u0, v0 = np.floor(xy[ok].min(axis=0)) - margin
    u1, v1 = np.ceil(xy[ok].max(axis=0)) + margin
    return int(max(v0, 0)), int(min(v1, H)), int(max(u0, 0)), int(min(u1, W))


def _joint_boxes(xy, W, H, r):
    """Small color boxes around every joint: the only places the lifting reads depth."""
    boxes = []
    for u, v in xy[np.isfinite(xy).all(axis=1)]:
        u, v = int(round(u)), int(round(v))
        b = (max(v - r, 0), min(v + r + 1, H), max(u - r, 0), min(u + r + 1, W))
        if b[0] < b[1] and b[2] < b[3]:
            boxes.append(b)
    return boxes


def lift_sequence(lm: Landmarks, depth_frames, depth_time_s, cam: CameraSetup,
                  lift: LiftSettings, timings: Optional[dict] = None):
    """Per color frame: joints 2D (T, J, 2), visibility (T, J), lifted centres (T, J, 3) color
    camera frame, reason codes (T, J)."""
    timings = timings if timings is not None else {}
    xy, vis = landmarks_to_joints(lm.xy_px, lm.visibility)
    T, J = vis.shape
    ci = cam.color_intrinsics
    offsets = surface_offsets_m(lift.stature_m)
    z_surface = np.full((T, J), np.nan)
    reason = np.ones((T, J), dtype=np.int8)
    depth_time_s = np.asarray(depth_time_s, float)
    for t in range(T):
        k = int(np.argmin(np.abs(depth_time_s - lm.time_s[t])))
        boxes = _joint_boxes(xy[t], ci.width, ci.height, lift.window_radius_px + 2)
        if not boxes:
            continue
        t0 = time.perf_counter()
        d = align_depth_to_color(depth_frames[k], cam.depth_scale_m, cam.depth_intrinsics, ci,
                                 cam.T_color_from_depth, color_boxes=boxes)
        t1 = time.perf_counter()
        z_surface[t], reason[t] = sample_surface_depths(d, xy[t], vis[t], lift, ci.fx)
        t2 = time.perf_counter()
        timings["align_s"] = timings.get("align_s", 0.0) + t1 - t0
        timings["depth_sample_s"] = timings.get("depth_sample_s", 0.0) + t2 - t1
    centres = surface_to_centre(xy, z_surface, ci, offsets)
    return xy, vis, centres, reason


@dataclass
class SkeletonSettings:
    lift: LiftSettings = field(default_factory=LiftSettings)
    fit: FitSettings = field(default_factory=FitSettings)
    refine: RefineSettings = field(default_factory=RefineSettings)
    foot: FootSettings = field(default_factory=FootSettings)
    time_offset_s: float = 0.0       # plate time = color host time + offset (time sync)


def reconstruct(*args, **kwargs) -> dict:
    """See _reconstruct; runs with single-threaded OpenBLAS (tiny matrices: threads only cost,
    see analysis/skeleton/blas_threads.py)."""
    from analysis.skeleton.blas_threads import single_thread_blas
    with single_thread_blas():
        return _reconstruct(*args, **kwargs)


def _reconstruct(lm: Landmarks, depth_frames, depth_time_s, cam: CameraSetup,
                s: SkeletonSettings, bone_lengths: Optional[dict] = None,
                timings: Optional[dict] = None, foot_template: Optional[dict] = None,
                foot_template_frames: Optional[np.ndarray] = None,
                dense_windows_s: Optional[list] = None, filter_breaks_s=()) -> dict:
    """Returns dict: time_s (T,) on the plate's time base, joints_lab_m (T, J, 3) fitted +
    filtered, joints_camera_m (T, J, 3) fitted unfiltered (color camera frame), lifted_camera_m,
    valid_3d (T, J) joint had a measured (not filled) depth, filled (T, J), reason (T, J),
    visibility (T, J), bone_lengths, fit_rms_m (T,), foot_template (the given one, or built from
    this trial's `foot_template_frames` - all frames if None - when the foot registration is on
    and none was given), foot_fitness (T, 2), foot_dense (T,) the colour frames whose foot was
    registered in every depth frame near them.
    foot_template: analysis/skeleton/foot.py's template from the static trial.
    dense_windows_s: [(t0, t1)] color host times where the foot is registered in every depth
    frame (foot.register_feet's `dense`).
    filter_breaks_s: color host times (landings' initial contacts) the low-pass filter does not
    cross (fit.lowpass_piecewise)."""
    timings = timings if timings is not None else {}
    xy, vis, centres, reason = lift_sequence(lm, depth_frames, depth_time_s, cam, s.lift, timings)
    valid = np.isfinite(centres).all(axis=-1)
    t0 = time.perf_counter()
    filled_pts, filled = fill_short_gaps(centres, valid, s.lift.max_gap_frames)
    # heels have no depth: place them at the toes' height (flat foot) for the static bone
    # lengths and as the fit's starting point
    heel_hint = np.full_like(centres, np.nan)
    for side in ("left", "right"):
        h, to = JOINT_INDEX[f"{side}_heel"], JOINT_INDEX[f"{side}_toe"]
        heel_hint[:, h] = heel_on_toe_level(xy[:, h], filled_pts[:, to], cam.color_intrinsics,
                                            cam.T_lab_from_color)
    bone_check = {"notes": [], "unusable_sides": []}
    if bone_lengths is None:
        pts = np.where(np.isfinite(centres), centres, heel_hint)
        bone_lengths = estimate_bone_lengths(pts, np.isfinite(pts).all(axis=-1))
        bone_lengths, notes, unusable = check_leg_bones(bone_lengths, s.lift.stature_m)
        bone_check = {"notes": notes, "unusable_sides": unusable}
    ok = np.isfinite(filled_pts).all(axis=-1)
    joints_cam, rms, rejected = fit_frames(xy, vis, filled_pts, ok, bone_lengths, cam.color_intrinsics, s.fit,
                                 init_hint_camera_m=heel_hint)
    t1 = time.perf_counter()
    timings["fit_s"] = timings.get("fit_s", 0.0) + t1 - t0
    refine_points = np.zeros((len(joints_cam), 2), dtype=int)
    if s.refine.enabled:
        joints_cam, refine_points = refine_legs(joints_cam, xy, vis, depth_frames, depth_time_s, lm.time_s,
                                                cam, bone_lengths, s.lift.stature_m, s.refine,
                                                s.fit.min_visibility)
        t2 = time.perf_counter()
        timings["refine_s"] = timings.get("refine_s", 0.0) + t2 - t1
        t1 = t2
    foot_fitness = np.zeros((len(joints_cam), 2))
    dense = np.zeros(len(joints_cam), bool)
    foot_poses = np.full((len(joints_cam), 2, 4, 4), np.nan)
    dense_feet: dict = {}
    if s.foot.enabled:
        r_shank = segment_radius_m("shank", s.lift.stature_m, s.refine.mass_kg)
        if foot_template is None:
            foot_template = build_foot_template(joints_cam, depth_frames, depth_time_s, lm.time_s, cam,
                                                r_shank, s.foot, foot_template_frames)
        for a, b in (dense_windows_s or []):
            dense |= (lm.time_s >= a) & (lm.time_s <= b)
        joints_cam, foot_fitness, foot_poses = register_feet(joints_cam, depth_frames, depth_time_s, lm.time_s,
                                                    cam, foot_template, r_shank, s.foot, dense=dense,
                                                    dense_out=dense_feet, contacts_s=filter_breaks_s or ())
        t2 = time.perf_counter()
        timings["foot_s"] = timings.get("foot_s", 0.0) + t2 - t1
        t1 = t2
    if s.refine.enabled and s.refine.at_depth_frames and dense_feet.get("depth_index"):
        # the legs measured at the densely registered depth frames whose joints would otherwise
        # be interpolated across a landing's contact (see refine_legs_at_depth_frames)
        k_all = np.asarray(dense_feet["depth_index"], int)
        across = _across_contacts(np.asarray(depth_time_s, float)[k_all], lm.time_s, filter_breaks_s)
        if across.any():
            J = np.full((len(k_all),) + joints_cam.shape[1:], np.nan)
            used = np.zeros((len(k_all), 2), dtype=int)
            J[across], used[across] = refine_legs_at_depth_frames(
                joints_cam, xy, vis, depth_frames, depth_time_s, lm.time_s, k_all[across], cam,
                bone_lengths, s.lift.stature_m, s.refine, s.fit.min_visibility)
            dense_feet["joints_cam"], dense_feet["legs_refined"] = J, used
        t2 = time.perf_counter()
        timings["refine_s"] = timings.get("refine_s", 0.0) + t2 - t1
        t1 = t2
    rate = 1.0 / np.median(np.diff(lm.time_s)) if len(lm.time_s) > 1 else 30.0
    filt = lowpass_piecewise(joints_cam, lm.time_s, rate, s.fit.cutoff_hz, s.fit.filter_order,
                             filter_breaks_s if s.fit.split_at_contact else ())
    joints_lab = to_lab(filt, cam.T_lab_from_color)
    residual = leg_residual_analysis(joints_cam, rate)     # next to the cut-off, in the result
    feet_at_depth = _feet_at_depth_frames(dense_feet, depth_time_s, lm.time_s, joints_lab, cam, s)
    timings["filter_s"] = timings.get("filter_s", 0.0) + time.perf_counter() - t1
    return {
        "time_s": lm.time_s + s.time_offset_s,
        "joints_lab_m": joints_lab,
        "joints_camera_m": joints_cam,
        "lifted_camera_m": centres,
        "valid_3d": valid,
        "filled": filled,
        "reason": reason,
        "visibility": vis,
        "bone_lengths": bone_lengths,
        "bone_length_check": bone_check,       # the leg bones against the stature (check_leg_bones)
        "fit_rms_m": rms,
        "depth_rejected": rejected,
        "refine_points": refine_points,
        "foot_template": foot_template,
        "foot_fitness": foot_fitness,
        "foot_dense": dense,
        "foot_pose_lab": np.einsum("ij,tsjk->tsik", cam.T_lab_from_color, foot_poses),
        "feet_at_depth_frames": feet_at_depth,
        "residual_analysis_hz": residual,
    }


def _across_contacts(t_depth, t_color, contacts) -> np.ndarray:
    """(K,) bool: the depth times inside a colour-frame interval [t_i, t_i+1] that holds a
    contact - there the colour frames' joints, interpolated, would cross the landing's kink."""
    t_depth, t_color = np.asarray(t_depth, float), np.asarray(t_color, float)
    out = np.zeros(len(t_depth), bool)
    for c in contacts or ():
        i = int(np.searchsorted(t_color, c)) - 1
        if 0 <= i < len(t_color) - 1:
            out |= (t_depth >= t_color[i]) & (t_depth <= t_color[i + 1])
    return out


def _feet_at_depth_frames(dense_feet: dict, depth_time_s, color_time_s, joints_lab, cam, s) -> dict | None:
    """The densely registered depth frames as joints of their own (lab frame, plate time base):
    every joint moved linearly in time from the filtered colour-rate joints, heel and toe from
    that depth frame's own foot registration, and (RefineSettings.at_depth_frames) each leg's
    hip, knee and ankle from its refinement to that depth frame where it succeeded. None when
    no frame was registered densely."""
    if not dense_feet.get("depth_index"):
        return None
    k = np.asarray(dense_feet["depth_index"], int)
    td = np.asarray(depth_time_s, float)[k]
    tc = np.asarray(color_time_s, float)
    J = np.empty((len(k),) + joints_lab.shape[1:])
    flat = joints_lab.reshape(len(tc), -1)
    for c in range(flat.shape[1]):
        J.reshape(len(k), -1)[:, c] = np.interp(td, tc, flat[:, c], left=np.nan, right=np.nan)
    if "joints_cam" in dense_feet:
        # legs refined to the depth frame's own points (refine_legs_at_depth_frames), unfiltered
        meas = to_lab(np.asarray(dense_feet["joints_cam"], float), cam.T_lab_from_color)
        for li, side in enumerate(("left", "right")):
            ok = np.asarray(dense_feet["legs_refined"])[:, li] > 0
            for n in ("hip", "knee", "ankle"):
                J[ok, JOINT_INDEX[f"{side}_{n}"]] = meas[ok, JOINT_INDEX[f"{side}_{n}"]]
    heel = to_lab(np.asarray(dense_feet["heel_cam"], float), cam.T_lab_from_color)
    toe = to_lab(np.asarray(dense_feet["toe_cam"], float), cam.T_lab_from_color)
    for li, side in enumerate(("left", "right")):
        J[:, JOINT_INDEX[f"{side}_heel"]] = heel[:, li]
        J[:, JOINT_INDEX[f"{side}_toe"]] = toe[:, li]
    return {"time_s": td + s.time_offset_s, "joints_lab_m": J}

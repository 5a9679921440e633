"""Quality gates for the skeleton: a rep whose leg was not tracked well enough gets a verdict
with the reason instead of numbers that look fine and are not.

Per rep and leg, over the rep's phase (reason codes from analysis/skeleton/lift.py):
  * out of view: the leg's joints were outside the image or not detected in more than
    `max_out_of_view` of the phase's frames;
  * depth missing: holes / background at the leg's joints in more than `max_depth_missing`;
  * occlusion at the key event: at initial contact (squats: the bottom) or at peak force, a leg
    joint had no valid depth in the nearest frame (occluded by the other leg, or no depth) and
    was not gap-filled;
  * tracking quality (fraction of phase frames with valid 3D landmarks) below `min_tracking`;
  * the foot (when the foot registration ran): registered to the static trial's shoe template in
    fewer than `min_foot_registered` of the phase's frames, or in no frame at a key event -
    dorsiflexion then rests on MediaPipe's heel pixel, which pitched the foot 5-7 deg;
  * an ankle dorsiflexion outside `dorsiflexion_range_deg` in the phase: no ankle does that, the
    foot was not tracked (issue 8: a foot fitted heel-first read -59 deg with every other gate
    passed).
Any of these -> verdict 'not_tracked' for that leg with the reasons; its numbers become None.
The free (lifted) leg of a single-leg squat gets the verdict 'free_leg' (`free_leg_verdict`): the
station's kinematics are values under load.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.joints import joint

LEG_JOINTS = ("hip", "knee", "ankle", "toe")
REASON_NAMES = {1: "not detected", 2: "outside the image", 3: "no depth (holes or background)",
                4: "occluded by the other leg", 5: "depth not used"}


@dataclass
class QualitySettings:
    min_tracking: float = 0.8
    max_out_of_view: float = 0.2
    max_depth_missing: float = 0.2
    event_window_s: float = 0.034     # frames within this of an event count for it
    min_foot_registered: float = 0.5
    dorsiflexion_range_deg: tuple = (-65.0, 60.0)   # beyond: not an ankle (plantarflexion in a
                                                    # jump's flight reaches about -45)


def leg_verdict(side: str, time_s: np.ndarray, reason: np.ndarray, valid_3d: np.ndarray,
                filled: np.ndarray, phase_mask: np.ndarray, event_times: dict,
                tracking_quality: float, s: QualitySettings, dorsiflexion_rad=None,
                foot_registered=None) -> dict:
    """dorsiflexion_rad: (T,) the leg's curve; foot_registered: (T,) bool, None when the foot
    registration did not run."""
    idx = [joint(side, n) for n in LEG_JOINTS]
    reasons = []
    if not phase_mask.any():
        return {"verdict": "not_tracked", "reasons": ["no video frames in the rep's phase"]}
    r = reason[phase_mask][:, idx]
    out_view = np.isin(r, (1, 2)).any(axis=1).mean()
    if out_view > s.max_out_of_view:
        reasons.append(f"{side} leg out of view or not detected in {100 * out_view:.0f}% of frames")
    no_depth = (r == 3).any(axis=1).mean()
    if no_depth > s.max_depth_missing:
        reasons.append(f"depth missing at the {side} leg in {100 * no_depth:.0f}% of frames")
    # the frames near each key event that happened in this rep
    event_frames = {name: np.abs(time_s - t) <= s.event_window_s for name, t in event_times.items()
                    if t is not None and np.isfinite(t)}
    for name, near in event_frames.items():
        if not near.any():
            reasons.append(f"no video frame at {name.replace('_', ' ')}")
            continue
        ok = (valid_3d[near][:, idx] | filled[near][:, idx]).all(axis=1)
        if not ok.any():
            codes = sorted({int(c) for c in reason[near][:, idx].ravel() if c})
            why = ", ".join(REASON_NAMES.get(c, str(c)) for c in codes) or "no valid depth"
            reasons.append(f"{side} leg not tracked at {name.replace('_', ' ')} ({why})")
    if foot_registered is not None:
        reg = np.asarray(foot_registered, bool)
        frac = float(reg[phase_mask].mean())
        if frac < s.min_foot_registered:
            reasons.append(f"{side} foot registered to the static trial's shoe in only {100 * frac:.0f}% of "
                           f"the rep's frames (needs {100 * s.min_foot_registered:.0f}%): its dorsiflexion "
                           f"is not trustworthy")
        else:
            for name, near in event_frames.items():
                if near.any() and not reg[near].any():
                    reasons.append(f"{side} foot not registered at {name.replace('_', ' ')}")
    if dorsiflexion_rad is not None:
        df = np.degrees(np.asarray(dorsiflexion_rad, float)[phase_mask])
        lo, hi = s.dorsiflexion_range_deg
        out = np.isfinite(df) & ((df < lo) | (df > hi))
        if out.any():
            worst = df[out][np.argmax(np.abs(df[out]))]
            reasons.append(f"{side} ankle dorsiflexion reads {worst:.0f} deg in {100 * out.mean():.0f}% of the "
                           f"rep's frames, outside {lo:.0f}..{hi:.0f} deg: the foot was not tracked")
    if tracking_quality < s.min_tracking:
        reasons.append(f"{side} leg tracked in only {100 * tracking_quality:.0f}% of the rep's frames "
                       f"(needs {100 * s.min_tracking:.0f}%)")
    return {"verdict": "not_tracked" if reasons else "ok", "reasons": reasons}


def free_leg_verdict(side: str, source: str) -> dict:
    return {"verdict": "free_leg",
            "reasons": [f"{side} leg is the free (lifted) leg of this single-leg squat ({source}): "
                        f"no values under load"]}

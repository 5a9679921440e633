"""Quality gates for the skeleton: a rep whose leg was not tracked well enough gets a verdict
with the reason instead of numbers that look fine and are not.

Per rep and leg, over the rep's phase (reason codes from analysis/skeleton/lift.py):
  * out of view: the leg's joints were outside the image or not detected in more than
    `max_out_of_view` of the phase's frames;
  * depth missing: holes / background at the leg's joints in more than `max_depth_missing`;
  * occlusion at the key event: at initial contact (squats: the bottom) or at peak force, a leg
    joint had no valid depth in the nearest frame (occluded by the other leg, or no depth) and
    was not gap-filled;
  * tracking quality (fraction of phase frames with valid 3D landmarks) below `min_tracking`.
Any of these -> verdict 'not_tracked' for that leg with the reasons; its numbers become None.
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


def leg_verdict(side: str, time_s: np.ndarray, reason: np.ndarray, valid_3d: np.ndarray,
                filled: np.ndarray, phase_mask: np.ndarray, event_times: dict,
                tracking_quality: float, s: QualitySettings) -> dict:
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
    for name, t in event_times.items():
        if t is None or not np.isfinite(t):
            continue
        near = np.abs(time_s - t) <= s.event_window_s
        if not near.any():
            reasons.append(f"no video frame at {name.replace('_', ' ')}")
            continue
        ok = (valid_3d[near][:, idx] | filled[near][:, idx]).all(axis=1)
        if not ok.any():
            codes = sorted({int(c) for c in reason[near][:, idx].ravel() if c})
            why = ", ".join(REASON_NAMES.get(c, str(c)) for c in codes) or "no valid depth"
            reasons.append(f"{side} leg not tracked at {name.replace('_', ' ')} ({why})")
    if tracking_quality < s.min_tracking:
        reasons.append(f"{side} leg tracked in only {100 * tracking_quality:.0f}% of the rep's frames "
                       f"(needs {100 * s.min_tracking:.0f}%)")
    return {"verdict": "not_tracked" if reasons else "ok", "reasons": reasons}

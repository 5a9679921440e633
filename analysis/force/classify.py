"""What a force trial holds: countermovement jump, squat jump, drop jump, landing, squats or
quiet standing, decided from the events (an override always wins: analyze_force(kind=...)).

Rules, per jump (a contact that ends in a takeoff followed by a landing on the plate):
- a quiet stretch before takeoff (a movement onset exists) and a countermovement deeper than
  settings.cmj_min_depth_m (COM displacement below the standing height) -> "cmj", else "sj";
- no quiet stretch, the contact begins with a landing (from a box, or from a previous flight),
  and lasts <= settings.max_drop_contact_s -> "drop_jump";
- otherwise "jump" (flight metrics only).
Without jumps: a first contact that begins with an impact (>= settings.impact_peak_bw x BW
within settings.impact_window_s; a step onto the plate rises slowly) -> "landing"; else squat
reps found -> "squats"; else "quiet".
The trial's kind is the most frequent rep kind (the first one on a tie).
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from analysis.force.events import Contact
from analysis.force.settings import ForceSettings

KINDS = ("cmj", "sj", "drop_jump", "landing", "squats", "quiet")
JUMP_KINDS = ("cmj", "sj", "drop_jump")


def starts_with_impact(fz: np.ndarray, rate_hz: float, contact: Contact, body_weight_n: float,
                       settings: ForceSettings) -> bool:
    if contact.begins == "trial_start":
        return False
    n = int(settings.impact_window_s * rate_hz)
    head = np.asarray(fz[contact.start:min(contact.start + n, contact.stop)], dtype=float)
    return bool(len(head)) and float(head.max()) >= settings.impact_peak_bw * body_weight_n


def jump_kind(contact: Contact, has_onset: bool, depth_m: float | None,
              settings: ForceSettings) -> str:
    if has_onset:
        return "cmj" if (depth_m or 0.0) >= settings.cmj_min_depth_m else "sj"
    duration = contact.stop_s - contact.start_s
    if contact.begins in ("landing", "from_off_plate") and duration <= settings.max_drop_contact_s:
        return "drop_jump"
    return "jump"


def trial_kind(rep_kinds: list[str]) -> str:
    if not rep_kinds:
        return "quiet"
    counts = Counter(rep_kinds)
    best = max(counts.values())
    return next(k for k in rep_kinds if counts[k] == best)

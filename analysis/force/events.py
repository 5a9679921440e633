"""Force events: contacts, takeoff, landing (on the UNFILTERED force) and movement onset.

Takeoff / landing (STATION.md): Fz crosses a small threshold (10-30 N) down / up, detected on
raw force because a low-pass filter smears the steps and moves them (on F02_CTRL1 the flight
time is 0.527-0.529 s raw but 0.459-0.522 s after a 26.64 Hz Butterworth). The crossing time is
interpolated between the two samples that straddle the threshold.

Movement onset (Owen et al. 2014, J Strength Cond Res 28(6):1552-8): the first sample where Fz
leaves body weight +- 5 SD of the quiet window, stepped back 30 ms. It is searched backwards
from takeoff as the end of the last quiet stretch (in band for onset_quiet_hold_s), so that the
crossings of BW inside the movement are never taken for it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.force.settings import ForceSettings
from analysis.force.signal_tools import crossing_time, runs


@dataclass
class Contact:
    """One loaded stretch of the plate: samples [start, stop)."""
    start: int
    stop: int
    start_s: float      # interpolated threshold crossing (or the trial edge)
    stop_s: float
    begins: str         # "trial_start" | "landing" (after a flight on the plate) | "from_off_plate"
    ends: str           # "trial_end" | "takeoff" | "off_plate"


def find_contacts(fz: np.ndarray, rate_hz: float, settings: ForceSettings) -> list[Contact]:
    """Split the raw total Fz into contacts separated by flights or by time off the plate."""
    thr = settings.contact_threshold_n
    loaded = np.asarray(fz) > thr
    # a loaded blip too short to be a contact (noise, a touch) is not one
    for a, b in runs(loaded):
        if b - a < settings.min_contact_s * rate_hz:
            loaded[a:b] = False
    # an unloaded gap too short to be a flight is noise inside a contact
    for a, b in runs(~loaded):
        if a > 0 and b < len(loaded) and b - a < settings.min_flight_s * rate_hz:
            loaded[a:b] = True
    spans = runs(loaded)
    contacts: list[Contact] = []
    n = len(loaded)
    max_gap = settings.max_flight_s * rate_hz
    for k, (a, b) in enumerate(spans):
        if a == 0:
            begins = "trial_start"
        else:
            prev_stop = spans[k - 1][1] if k > 0 else 0
            is_flight = k > 0 and (a - prev_stop) <= max_gap
            begins = "landing" if is_flight else "from_off_plate"
        if b == n:
            ends = "trial_end"
        else:
            next_start = spans[k + 1][0] if k + 1 < len(spans) else n
            ends = "takeoff" if (k + 1 < len(spans) and next_start - b <= max_gap) else "off_plate"
        start_s = 0.0 if a == 0 else crossing_time(fz, a, thr, rate_hz)
        stop_s = (n - 1) / rate_hz if b == n else crossing_time(fz, b, thr, rate_hz)
        contacts.append(Contact(a, b, start_s, stop_s, begins, ends))
    return contacts


def find_onset(fz: np.ndarray, rate_hz: float, body_weight_n: float, sd_n: float, lo: int,
               hi: int, settings: ForceSettings) -> int | None:
    """Movement onset in fz[lo:hi] (hi = takeoff): the end of the last quiet stretch before hi,
    stepped back settings.onset_step_back_s. None when there is no quiet stretch (e.g. the
    contact of a drop jump, which starts moving at landing)."""
    band = max(settings.onset_sd_factor * sd_n, settings.onset_min_band_n)
    inside = np.abs(np.asarray(fz[lo:hi], dtype=float) - body_weight_n) <= band
    hold = max(int(settings.onset_quiet_hold_s * rate_hz), 1)
    quiet = [(a, b) for a, b in runs(inside) if b - a >= hold and b < hi - lo]
    if not quiet:
        return None
    a, b = quiet[-1]
    step = int(round(settings.onset_step_back_s * rate_hz))
    return lo + max(b - step, a)


def cmj_phase_starts(velocity: np.ndarray, displacement: np.ndarray) -> tuple[int, int]:
    """Start of braking (peak negative COM velocity) and of propulsion (lowest COM position),
    as indices into the arrays (which start at onset). McMahon et al. 2018, Strength Cond J
    40(4):96-106; JumpMetrics uses the same two definitions."""
    braking = int(np.argmin(velocity))
    propulsion = braking + int(np.argmin(displacement[braking:]))
    return braking, propulsion

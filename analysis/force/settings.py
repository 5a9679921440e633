"""Settings of the force analysis: every threshold, window and filter cut-off in one place.

They are stored beside the results (`ForceSettings.to_dict()`), so a result can always be
recomputed from the raw data + calibration + these settings (STATION.md, "Keep raw data raw").
All values in SI units (N, s, m, Hz).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class ForceSettings:
    # --- body weight (quiet.py) ---
    # STATION.md: mean Fz over a quiet window >= 1 s (JumpMetrics uses 0.25-0.5 s).
    quiet_window_s: float = 1.0
    # "quietest": the lowest-SD loaded window anywhere in the trial (before the jump, or after
    # landing when the athlete starts on a box). "before_takeoff": the window starting
    # quiet_lead_s before the first takeoff (JumpMetrics: the first weighing_time seconds of the
    # 2 s cropped before takeoff).
    quiet_placement: str = "quietest"
    quiet_lead_s: float = 2.0
    min_body_weight_n: float = 150.0        # a window lighter than this is not an athlete standing
    # --- takeoff / landing on the UNFILTERED force (events.py) ---
    contact_threshold_n: float = 20.0       # STATION.md: 10-30 N; JumpMetrics lands at 20 N
    min_flight_s: float = 0.08              # shorter unloaded gaps are noise, not flights
    max_flight_s: float = 1.2               # longer ones are the athlete off the plate
    min_contact_s: float = 0.03             # shorter loaded blips inside a flight are ignored
    # --- movement onset (events.py): Owen et al. 2014, 5 SD then stepped back 30 ms ---
    onset_sd_factor: float = 5.0
    onset_min_band_n: float = 0.0           # VALD ForceDecks uses a fixed 20 N band
    onset_quiet_hold_s: float = 0.25        # the quiet stretch that precedes the onset
    onset_step_back_s: float = 0.030
    # --- filter for peaks, mean forces and RFD (never for event times) ---
    lowpass_hz: float | None = 50.0         # zero-lag Butterworth; None = raw. JumpMetrics: 26.64 / 50
    lowpass_order: int = 4                  # filtfilt doubles the effective order
    # --- classification (classify.py) ---
    cmj_min_depth_m: float = 0.03           # a countermovement deeper than this -> CMJ, else SJ
    impact_peak_bw: float = 1.5             # first contact reaching this x BW within impact_window_s
    impact_window_s: float = 0.15           #   is a landing from a box, not a step onto the plate
    max_drop_contact_s: float = 1.0         # drop-jump ground contact longer than this -> landing
    # --- landing (landing_metrics.py) ---
    landing_window_s: float = 0.5           # fallback end of the landing phase
    stabilization_band_bw: float = 0.05     # STATION.md: Fz stays within +-5 % BW
    stabilization_hold_s: float = 1.0       # ... for this long
    # --- squats (squat_reps.py) ---
    squat_lowpass_hz: float = 5.0
    squat_band_bw: float = 0.015            # force excursion that marks a rep (fraction of BW;
                                            # a slow single-leg squat stays within +-3.2 % BW)
    squat_min_rep_s: float = 0.6
    squat_min_depth_m: float = 0.04         # a rep's COM descent at least this (sway, a stomp: < 1 cm)
    stomp_slope_bw_s: float = 10.0          # Fz rising faster than this (BW/s, 50 Hz low-pass): a
                                            # stomp (time-sync event), not a squat; reps after it
    stomp_peak_bw: float = 1.5              # ... and peaking above this (x BW) within 0.1 s
    stomp_settle_s: float = 1.0             # reps are searched from this long after a stomp

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ForceSettings":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown force settings: {sorted(unknown)}")
        return cls(**d)

    @classmethod
    def jumpmetrics(cls, weighing_s: float = 0.25, lowpass_hz: float = 26.64) -> "ForceSettings":
        """Settings that reproduce JumpMetrics' choices where ours are configurable
        (shared/data/README.md: weighing window 0.25 s (CMJ) or 0.5 s (SJ) starting 2 s before
        takeoff, 4th-order low-pass at 26.64 Hz or 50 Hz). Takeoff/landing stay on raw force."""
        return cls(quiet_window_s=weighing_s, quiet_placement="before_takeoff", quiet_lead_s=2.0,
                   lowpass_hz=lowpass_hz)

"""Entry point of the force analysis: analyze_force(fz, rate, settings, kind=None, cop=None).

Pipeline: total Fz (sum of plates) -> contacts, takeoffs and landings on the raw force
(events.py) -> body weight from a quiet window (quiet.py) -> per jump: onset, phases and
takeoff metrics (jump_metrics.py), landing metrics (landing_metrics.py), left/right asymmetry
with two plates (asymmetry.py) -> kind of trial (classify.py) or squat reps (squat_reps.py) ->
COP sway with one plate (cop.py). Times are seconds from the first sample given.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.json_ready import json_ready
from analysis.constants import G
from analysis.force import classify
from analysis.force.asymmetry import jump_asymmetry
from analysis.force.cop import cop_sway
from analysis.force.events import Contact, find_contacts, find_onset
from analysis.force.jump_metrics import (flight_metrics, reactive_metrics, rsi_modified,
                                         takeoff_metrics)
from analysis.force.landing_metrics import landing_metrics
from analysis.force.quiet import NoQuietWindow, quietest_window, window_before
from analysis.force.settings import ForceSettings
from analysis.force.signal_tools import lowpass
from analysis.force.squat_reps import find_squat_reps

# Keys every jump rep carries (None where a metric does not apply), issue 4 item 7.
JUMP_REP_KEYS = (
    "flight_time_s", "jump_height_flight_time_m", "jump_height_impulse_m", "takeoff_velocity_m_s",
    "contact_time_s", "rsi", "rsi_modified", "peak_force_n", "peak_landing_force_n",
    "peak_landing_force_bw", "loading_rate_bw_s", "time_to_stabilization_s",
    "countermovement_depth_m", "onset_s", "takeoff_s", "landing_s",
)


class ForceAnalysisError(ValueError):
    """The force data cannot be analysed (one-line reason)."""


@dataclass
class ForceResult:
    kind: str                       # what was analysed (the override, or what was detected)
    kind_detected: str              # what the classifier found
    body_weight_n: float
    body_mass_kg: float
    quiet_window_s: tuple[float, float]
    quiet_sd_n: float
    rate_hz: float
    n_plates: int
    reps: list[dict]
    settings: dict
    cop: dict | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return json_ready({
            "kind": self.kind, "kind_detected": self.kind_detected,
            "body_weight_n": self.body_weight_n, "body_mass_kg": self.body_mass_kg,
            "quiet_window_s": list(self.quiet_window_s), "quiet_sd_n": self.quiet_sd_n,
            "rate_hz": self.rate_hz, "n_plates": self.n_plates, "reps": self.reps,
            "cop": self.cop, "settings": self.settings, "warnings": self.warnings,
        })



def analyze_force(fz_n, rate_hz: float, settings: ForceSettings | None = None,
                  kind: str | None = None, cop=None) -> ForceResult:
    """Analyse vertical force: fz_n (T,) for one plate or (T, n_plates), newtons; rate in Hz.
    kind overrides the detected kind (one of classify.KINDS). cop: (T, 2) m, one plate only."""
    settings = settings or ForceSettings()
    if kind is not None and kind not in classify.KINDS:
        raise ForceAnalysisError(f"unknown kind {kind!r}; use one of {', '.join(classify.KINDS)}")
    if not rate_hz or rate_hz <= 0:
        raise ForceAnalysisError("the sampling rate must be positive")
    f = np.asarray(fz_n, dtype=float)
    plates = f if f.ndim == 2 else None
    total = f.sum(axis=1) if f.ndim == 2 else f
    if total.ndim != 1 or len(total) < int(0.5 * rate_hz):
        raise ForceAnalysisError("need at least 0.5 s of vertical force, time on the first axis")
    if not np.all(np.isfinite(total)):
        raise ForceAnalysisError("the force contains NaN or infinite samples")
    total_f = lowpass(total, rate_hz, settings.lowpass_hz, settings.lowpass_order)
    plates_f = (lowpass(plates, rate_hz, settings.lowpass_hz, settings.lowpass_order)
                if plates is not None else None)
    contacts = find_contacts(total, rate_hz, settings)
    if not contacts:
        raise ForceAnalysisError("nobody on the plate: the force never exceeds "
                                 f"{settings.contact_threshold_n:g} N")
    flights = [(c, contacts[i + 1]) for i, c in enumerate(contacts[:-1]) if c.ends == "takeoff"]
    try:
        if settings.quiet_placement == "before_takeoff" and flights:
            quiet = window_before(total, rate_hz, flights[0][0].stop, settings)
        else:
            quiet = quietest_window(total, rate_hz, settings)
    except NoQuietWindow as exc:
        raise ForceAnalysisError(str(exc)) from None
    bw, sd = quiet.body_weight_n, quiet.sd_n
    warnings: list[str] = []

    # what the trial holds, by itself (classify.py) ...
    auto_reps = [_jump_rep(n, c, c2, total, total_f, plates_f, rate_hz, bw, sd, settings, None,
                           warnings)
                 for n, (c, c2) in enumerate(flights, start=1)]
    impact = [c for c in contacts if c.begins in ("from_off_plate", "landing")
              and classify.starts_with_impact(total, rate_hz, c, bw, settings)]
    longest = max(contacts, key=lambda c: c.stop - c.start)
    squats = None
    if auto_reps:
        detected = classify.trial_kind([r["kind"] for r in auto_reps])
    elif impact:
        detected = "landing"
    else:
        squats = find_squat_reps(total, rate_hz, bw, settings, longest.start, longest.stop)
        detected = "squats" if squats else "quiet"
    # ... and what is analysed: the override when there is one
    final = kind or detected
    if kind is None or (kind in classify.JUMP_KINDS and not flights):
        reps = auto_reps if flights else []
        if kind is None and detected == "landing":
            reps = [_landing_rep(n, c, total, total_f, rate_hz, bw, settings)
                    for n, c in enumerate(impact, 1)]
        elif kind is None and detected == "squats":
            reps = squats
    elif kind in classify.JUMP_KINDS:
        reps = [_jump_rep(n, c, c2, total, total_f, plates_f, rate_hz, bw, sd, settings, kind,
                          warnings)
                for n, (c, c2) in enumerate(flights, start=1)]
    elif kind == "landing":
        landings = impact or [c for c in contacts if c.begins != "trial_start"]
        reps = [_landing_rep(n, c, total, total_f, rate_hz, bw, settings)
                for n, c in enumerate(landings, 1)]
    elif kind == "squats":
        reps = squats if squats is not None else find_squat_reps(
            total, rate_hz, bw, settings, longest.start, longest.stop)
    else:
        reps = []
    if kind in classify.JUMP_KINDS and not flights:
        warnings.append(f"kind {kind!r} asked but no takeoff and landing were found on the plate")
    cop_out = None
    if cop is not None:
        if plates is not None and plates.shape[1] > 1:
            warnings.append("centre of pressure ignored: sway is defined for one plate")
        else:
            cop_out = cop_sway(cop, rate_hz, quiet.start, quiet.stop)
    return ForceResult(
        kind=final, kind_detected=detected, body_weight_n=bw, body_mass_kg=bw / G,
        quiet_window_s=(quiet.start / rate_hz, quiet.stop / rate_hz), quiet_sd_n=sd,
        rate_hz=float(rate_hz), n_plates=1 if plates is None else plates.shape[1],
        reps=[json_ready(r) for r in reps], settings=settings.to_dict(), cop=cop_out,
        warnings=warnings)


def _jump_rep(n: int, c: Contact, c2: Contact, total, total_f, plates_f, rate_hz, bw, sd,
              settings: ForceSettings, kind: str | None, warnings: list[str]) -> dict:
    takeoff = c.stop
    rep: dict = {k: None for k in JUMP_REP_KEYS}
    rep["rep"] = n
    rep["takeoff_s"] = c.stop_s
    rep["landing_s"] = c2.start_s
    flight = flight_metrics(c.stop_s, c2.start_s)
    rep.update(flight)
    onset = find_onset(total, rate_hz, bw, sd, c.start, takeoff, settings)
    if kind == "drop_jump":
        onset = None
    tk = None
    if onset is not None:
        onset_s = onset / rate_hz
        tk = takeoff_metrics(total, total_f, rate_hz, bw, onset, takeoff, onset_s, c.stop_s,
                             countermovement=(kind != "sj"))
        this_kind = kind or classify.jump_kind(c, True, tk["countermovement_depth_m"], settings)
        if this_kind == "sj" and kind is None:
            tk = takeoff_metrics(total, total_f, rate_hz, bw, onset, takeoff, onset_s, c.stop_s,
                                 countermovement=False)
        rep["onset_s"] = onset_s
        rep.update(tk)
        rep["rsi_modified"] = rsi_modified(flight, tk["time_to_takeoff_s"])
    else:
        this_kind = kind or classify.jump_kind(c, False, None, settings)
        if kind in ("cmj", "sj"):
            warnings.append(f"rep {n}: no quiet standing before takeoff, so no onset and no "
                            "impulse metrics")
        seg_f = total_f[c.start:takeoff + 1]
        rep["peak_force_n"] = float(seg_f.max())
    rep["kind"] = this_kind
    if this_kind == "drop_jump":
        rep.update(reactive_metrics(c.start_s, c.stop_s, flight))
        head = total_f[c.start:min(c.start + int(settings.landing_window_s * rate_hz), takeoff)]
        rep["initial_landing_peak_force_n"] = float(head.max())
        rep["initial_landing_peak_force_bw"] = float(head.max() / bw)
    lm = landing_metrics(total, total_f, rate_hz, bw, c2.start, c2.start_s, c2.stop,
                         flight["flight_time_s"], settings)
    rep.update(lm)
    if plates_f is not None and plates_f.shape[1] == 2:
        prop = None
        if tk is not None:
            prop = int(round(tk["propulsion_start_s"] * rate_hz))
        landing_end = c2.start + max(int(round(lm["landing_phase_time_s"] * rate_hz)), 2)
        rep.update(jump_asymmetry(plates_f, rate_hz, bw, onset if onset is not None else c.start,
                                  prop, takeoff, c2.start, landing_end))
    return rep


def _landing_rep(n: int, c: Contact, total, total_f, rate_hz, bw, settings) -> dict:
    rep = {"kind": "landing", "rep": n, "landing_s": c.start_s}
    rep.update(landing_metrics(total, total_f, rate_hz, bw, c.start, c.start_s, c.stop, None,
                               settings))
    return rep

"""Takeoff metrics of one jump (CMJ, SJ, drop jump) and its flight.

Definitions (STATION.md; cited per metric):
- takeoff velocity: impulse-momentum, a = (Fz - BW)/m integrated from onset (v = 0) to takeoff
  (Linthorne 2001, Am J Phys 69:1198); jump height from it h = v^2 / (2 g).
- flight time: takeoff -> landing on raw force; height from flight time h = g t^2 / 8
  (Bosco et al. 1983). The two heights differ by centimetres on the same jump; both reported.
- CMJ phases: unweighting (onset -> peak negative velocity), braking (-> lowest COM position),
  propulsion (-> takeoff) (McMahon et al. 2018, Strength Cond J 40(4):96-106).
- RSI-modified = jump height (flight time) / time to takeoff (Ebben & Petushek 2010, JSCR 24:1983).
- RSI (drop jump) = jump height (flight time) / ground contact time (Flanagan & Comyns 2008).
- RFD: mean slope of force between two events (N/s), as JumpMetrics' "slope between events".
Peaks, mean forces and RFD use the low-passed force (settings.lowpass_hz); impulses and COM
velocity use the raw force (a zero-lag low-pass keeps the area but smears the takeoff edge).
"""
from __future__ import annotations

import math

import numpy as np

from analysis.constants import G
from analysis.force.com_kinematics import integrate_com, net_impulse
from analysis.force.events import cmj_phase_starts


def flight_metrics(takeoff_s: float, landing_s: float | None) -> dict:
    if landing_s is None:
        return {"flight_time_s": None, "jump_height_flight_time_m": None}
    t = landing_s - takeoff_s
    return {"flight_time_s": t, "jump_height_flight_time_m": G * t * t / 8.0}


def takeoff_metrics(fz_raw: np.ndarray, fz_f: np.ndarray, rate_hz: float, body_weight_n: float,
                    onset: int, takeoff: int, onset_s: float, takeoff_s: float,
                    countermovement: bool) -> dict:
    """Metrics of the movement from onset (sample index, v = 0 there) to takeoff (first unloaded
    sample). countermovement=True computes the CMJ phases; else (SJ) propulsion starts at onset."""
    seg = np.asarray(fz_raw[onset:takeoff + 1], dtype=float)
    seg_f = np.asarray(fz_f[onset:takeoff + 1], dtype=float)
    v, d = integrate_com(seg, rate_hz, body_weight_n)
    v_to = float(v[-1])
    out = {
        "takeoff_velocity_m_s": v_to,
        "jump_height_impulse_m": v_to * v_to / (2 * G) if v_to > 0 else 0.0,
        "time_to_takeoff_s": takeoff_s - onset_s,
        "net_impulse_n_s": net_impulse(seg, rate_hz, body_weight_n),
        "countermovement_depth_m": float(max(-d.min(), 0.0)),
    }
    n = len(seg)
    if countermovement:
        brake, prop = cmj_phase_starts(v, d)
    else:
        brake, prop = None, 0
    k_peak = int(np.argmax(seg_f))
    out["peak_force_n"] = float(seg_f[k_peak])
    out["peak_force_s"] = onset_s + k_peak / rate_hz
    out["peak_propulsive_force_n"] = float(seg_f[prop:].max())
    out["mean_propulsive_force_n"] = float(seg_f[prop:n - 1].mean()) if n - 1 > prop else None
    power = seg * v
    out["peak_power_w"] = float(power.max())
    out["mean_propulsive_power_w"] = float(power[prop:].mean())
    out["propulsion_start_s"] = onset_s + prop / rate_hz
    out["propulsion_time_s"] = takeoff_s - out["propulsion_start_s"]
    out["propulsive_net_impulse_n_s"] = net_impulse(seg[prop:], rate_hz, body_weight_n)
    if brake is not None:
        out["braking_start_s"] = onset_s + brake / rate_hz
        out["unweighting_time_s"] = brake / rate_hz
        out["braking_time_s"] = (prop - brake) / rate_hz
        out["mean_braking_force_n"] = float(seg_f[brake:prop].mean()) if prop > brake else None
        out["braking_net_impulse_n_s"] = net_impulse(seg[brake:prop + 1], rate_hz, body_weight_n)
        out["rfd_braking_n_s"] = (float((seg_f[prop] - seg_f[brake]) / ((prop - brake) / rate_hz))
                                  if prop > brake else None)
        out["rfd_braking_to_peak_n_s"] = (
            float((seg_f[k_peak] - seg_f[brake]) / ((k_peak - brake) / rate_hz))
            if k_peak > brake else None)
    if k_peak > prop:
        out["rfd_propulsive_to_peak_n_s"] = float(
            (seg_f[k_peak] - seg_f[prop]) / ((k_peak - prop) / rate_hz))
    return out


def reactive_metrics(contact_start_s: float, takeoff_s: float, flight: dict) -> dict:
    """Drop jump: ground contact time and RSI (Flanagan & Comyns 2008)."""
    ct = takeoff_s - contact_start_s
    h = flight.get("jump_height_flight_time_m")
    return {"contact_time_s": ct, "rsi": (h / ct) if (h is not None and ct > 0) else None}


def rsi_modified(flight: dict, time_to_takeoff_s: float | None) -> float | None:
    h = flight.get("jump_height_flight_time_m")
    if h is None or not time_to_takeoff_s or math.isnan(time_to_takeoff_s):
        return None
    return h / time_to_takeoff_s

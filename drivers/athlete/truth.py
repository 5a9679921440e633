"""Ground truth of a simulated trial, ready for TrialWriter.write_truth(arrays, attrs).

    arrays, attrs = truth_of(motion)
    arrays["kinematics"]: time_s, joints_lab (T,J,3), com_lab, and angles by analysis.angles
        (knee_flexion_<side>_rad, ankle_dorsiflexion_<side>_rad, shank_inclination_<side>_rad,
        knee_fppa_<side>_rad, knee_abduction_3d_<side>_rad, hip_flexion_<side>_rad,
        trunk_lean_rad, knee_to_ankle_separation_ratio), sampled at KINEMATICS_RATE_HZ
    arrays["force"]: time_s, fz_n, foot_fz_n (T,2), foot_cop_lab (T,2,2), com_z_m, com_velocity_z_m_s
        at the simulator's internal rate
    arrays["events"]: one array of times (s, from the start of the motion) per event name:
        movement_onset (start of the countermovement / push-off / squat rep / box step-off),
        bottom (deepest point of a squat rep, a countermovement or the drop landing's braking),
        takeoff, landing (initial contact after a jump's flight), contact (drop jump: first
        contact with the plate after leaving the box), peak_landing_force
    arrays["metrics"]: per-jump / per-rep arrays (one value per jump or rep)
    attrs: kind, traits (dict), body (dict), body_weight_n, mass_kg, static ankle angles, notes.

Metric definitions follow STATION.md: jump height from takeoff velocity h = v^2/(2g) and from
flight time h = g t^2/8 (both given, named); drop-jump contact time = first contact -> takeoff;
RSI = flight-time jump height / contact time; RSI-modified = jump height (takeoff velocity) /
time to takeoff (movement onset -> takeoff); peak landing force in N and x BW.
Times are seconds from the start of the motion (add the trial's start epoch for host time).
"""
from __future__ import annotations

import numpy as np

from analysis import angles
from analysis.constants import G
from analysis.joints import SIDES

KINEMATICS_RATE_HZ = 500.0


def angle_curves(joints_lab: np.ndarray, static_angle_rad: dict) -> dict:
    """All truth angles (rad) and ratios for joints (T,J,3), by analysis.angles. Frontal-plane
    measures use the trial's constant frontal plane from the stance (angles.stance_right_axis),
    as the analysis does (analysis/kinematics.leg_curves)."""
    axis = angles.stance_right_axis(joints_lab)
    out = {}
    for s in SIDES:
        out[f"knee_flexion_{s}_rad"] = angles.knee_flexion(joints_lab, s)
        out[f"ankle_dorsiflexion_{s}_rad"] = angles.ankle_dorsiflexion(joints_lab, s, static_angle_rad[s])
        out[f"shank_inclination_{s}_rad"] = angles.shank_inclination(joints_lab, s)
        out[f"knee_fppa_{s}_rad"] = angles.knee_fppa(joints_lab, s, axis)
        out[f"knee_abduction_3d_{s}_rad"] = angles.knee_abduction_3d(joints_lab, s)
        out[f"medial_knee_displacement_{s}_m"] = angles.medial_knee_displacement(joints_lab, s, axis)
        out[f"hip_flexion_{s}_rad"] = angles.hip_flexion(joints_lab, s)
    out["trunk_lean_rad"] = angles.trunk_lean(joints_lab)
    out["knee_to_ankle_separation_ratio"] = angles.knee_to_ankle_separation_ratio(joints_lab, axis)
    return out


def jump_metrics(motion) -> dict:
    """Per-jump metrics from the simulation's exact design (not from sampled data)."""
    ev = motion.events
    mass = motion.body.mass_kg
    bw = mass * G
    takeoffs = ev.get("takeoff", [])
    landings = ev.get("landing", [])
    out = {k: [] for k in ("takeoff_velocity_m_s", "jump_height_takeoff_velocity_m",
                           "jump_height_flight_time_m", "flight_time_s", "time_to_takeoff_s",
                           "rsi_modified", "peak_landing_force_n", "peak_landing_force_bw",
                           "contact_time_s", "rsi")}
    t = motion.t_s
    for i, (t_to, t_ld) in enumerate(zip(takeoffs, landings)):
        v0 = _design_velocity(motion, t_to)
        tf = t_ld - t_to
        h_v = v0 ** 2 / (2 * G)
        h_t = G * tf ** 2 / 8
        onset = ev["movement_onset"][i]
        out["takeoff_velocity_m_s"].append(v0)
        out["jump_height_takeoff_velocity_m"].append(h_v)
        out["jump_height_flight_time_m"].append(h_t)
        out["flight_time_s"].append(tf)
        out["time_to_takeoff_s"].append(t_to - onset)
        out["rsi_modified"].append(h_v / (t_to - onset))
        after = (t >= t_ld) & (t <= t_ld + 0.4)
        peak = float(motion.fz_n[after].max())
        out["peak_landing_force_n"].append(peak)
        out["peak_landing_force_bw"].append(peak / bw)
        if motion.kind == "dj":
            ct = t_to - ev["contact"][i]
            out["contact_time_s"].append(ct)
            out["rsi"].append(h_t / ct)
    if motion.kind == "dj" and ev.get("contact"):
        # impact of the drop landing: from first contact to the bottom of the braking phase
        t_c = ev["contact"][0]
        m = (t >= t_c) & (t <= ev["bottom"][0])
        out["drop_landing_peak_force_n"] = [float(motion.fz_n[m].max())]
        out["drop_landing_peak_force_bw"] = [float(motion.fz_n[m].max()) / bw]
        m = (t >= t_c) & (t <= takeoffs[0])
        out["contact_peak_force_n"] = [float(motion.fz_n[m].max())]
    return {k: np.asarray(v, dtype=float) for k, v in out.items() if len(v)}


def _design_velocity(motion, t_s: float) -> float:
    """Designed COM vertical velocity at an exact time (takeoff is not on the sample grid)."""
    for piece in motion.info["pieces"]:
        if piece.t0 <= t_s <= piece.t1 and piece.kind != "flight":
            return float(piece.evaluate(np.array([t_s]))[1][0])
    raise ValueError("no contact phase ends at that time")


def rep_metrics(motion, arrays_kin) -> dict:
    """Per-rep values at the bottom of each squat rep (peak knee flexion)."""
    bottoms = motion.events.get("bottom", [])
    if motion.kind not in ("squat", "single-leg-squat") or not bottoms:
        return {}
    t = arrays_kin["time_s"]
    idx = [int(np.argmin(np.abs(t - b))) for b in bottoms]
    out = {"bottom_time_s": np.asarray(bottoms)}
    for key in ("knee_flexion", "ankle_dorsiflexion", "knee_fppa", "shank_inclination"):
        for s in SIDES:
            out[f"bottom_{key}_{s}_rad"] = arrays_kin[f"{key}_{s}_rad"][idx]
    return out


def truth_of(motion) -> tuple[dict, dict]:
    """(arrays, attrs) for TrialWriter.write_truth."""
    step = max(1, int(round(motion.fs_hz / KINEMATICS_RATE_HZ)))
    t_k = motion.t_s[::step]
    joints = motion.joints_lab[::step]
    kin = {"time_s": t_k, "joints_lab": joints, "com_lab": motion.com_lab[::step]}
    kin.update(angle_curves(joints, motion.info["static_ankle_angle_rad"]))
    force = {"time_s": motion.t_s, "fz_n": motion.fz_n, "foot_fz_n": motion.foot_fz_n,
             "foot_cop_lab": motion.foot_cop_lab, "com_z_m": motion.com_design_lab[:, 2],
             "com_velocity_z_m_s": motion.com_velocity_z}
    events = {k: np.asarray(v, dtype=float) for k, v in motion.events.items() if len(v)}
    metrics = jump_metrics(motion)
    metrics.update(rep_metrics(motion, kin))
    arrays = {"kinematics": kin, "force": force, "events": events, "metrics": metrics}
    attrs = {
        "kind": motion.kind,
        "traits": motion.traits.to_dict(),
        "body": motion.body.describe(),
        "mass_kg": motion.body.mass_kg,
        "body_weight_n": motion.body.mass_kg * G,
        "static_ankle_angle_left_rad": motion.info["static_ankle_angle_rad"]["left"],
        "static_ankle_angle_right_rad": motion.info["static_ankle_angle_rad"]["right"],
        "internal_rate_hz": motion.fs_hz,
        "kinematics_rate_hz": motion.fs_hz / step,
        "support": motion.support,
        "phases": [[name, t0, t1] for name, t0, t1 in motion.phases],
        "box": motion.box or {},
        "plates": [p.to_dict() for p in motion.plates],
        "time_origin": "seconds from the start of the motion; host time = start epoch + time_s",
        "angle_definitions": "analysis/angles.py",
        "frontal_right_axis_lab": [float(v) for v in angles.stance_right_axis(joints)],
        "metric_definitions": "drivers/athlete/truth.py docstring (STATION.md)",
    }
    return arrays, attrs

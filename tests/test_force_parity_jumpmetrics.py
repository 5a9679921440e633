"""Parity with JumpMetrics (Hirsch & Howarth) on its own test recordings.

1. On JumpMetrics' events (analysis.force.jumpmetrics_parity: filtered-force takeoff/landing,
   its weighing window and integration start), our metric code reproduces every value of
   *_expected.csv whose definition we share, within 1 %.
2. With our own events (takeoff/landing on raw force, body weight from the quietest 1 s, onset
   5 SD - 30 ms), the values differ on purpose; they are pinned here and explained with numbers
   in docs/FORCE_ANALYSIS.md.
"""
from __future__ import annotations

import csv

import numpy as np
import pytest

from analysis.constants import G
from analysis.force import ForceSettings, analyze_force
from analysis.force.jump_metrics import takeoff_metrics
from analysis.force.jumpmetrics_parity import jumpmetrics_events
from analysis.force.landing_metrics import landing_metrics


def _load(shared_data, name):
    d = np.loadtxt(shared_data / "force" / "jumpmetrics" / name, delimiter=",", skiprows=1,
                   usecols=(2, 8))        # FZ1, FZ2 of the 12 columns
    return d.sum(axis=1), d


def _expected(shared_data, name) -> dict:
    with open(shared_data / "force" / "jumpmetrics" / name) as fh:
        row = next(csv.DictReader(fh))
    return {k: float(v) for k, v in row.items() if k != "PID"}


def _ours_on_their_events(fz, rate, jump_type, weighing_s, lowpass_hz) -> dict:
    e = jumpmetrics_events(fz, rate, jump_type, weighing_s, lowpass_hz)
    last = e.takeoff - 1               # JumpMetrics' window ends one sample before takeoff
    tk = takeoff_metrics(e.filtered, e.filtered, rate, e.body_weight_n, e.window_start, last,
                         e.window_start / rate, last / rate, jump_type == "countermovement")
    flight = (e.landing - e.takeoff) / rate
    lm = landing_metrics(e.filtered, e.filtered, rate, e.body_weight_n, e.landing, e.landing / rate,
                         len(fz), flight, ForceSettings(),
                         impact_velocity_m_s=tk["takeoff_velocity_m_s"])
    window = e.filtered[e.window_start:e.takeoff]
    prop = int(round(tk["propulsion_start_s"] * rate))
    if jump_type != "countermovement":
        prop = e.movement_start
    out = {
        "takeoff_velocity": tk["takeoff_velocity_m_s"],
        "jump_height_takeoff_velocity": tk["jump_height_impulse_m"],
        "total_net_vertical_impulse": tk["net_impulse_n_s"],
        "peak_force": tk["peak_force_n"],
        "maximum_force": float(window.max()),
        "propulsive_time": (e.takeoff - prop) / rate,
        "flight_time": flight,
        "jump_height_flight_time": G * flight ** 2 / 8,
        "max_landing_force": lm["peak_landing_force_n"],
        "average_landing_force": lm["mean_landing_force_n"],
        "landing_time": lm["landing_phase_time_s"],
        "landing_displacement": lm["landing_displacement_m"],
    }
    if jump_type == "countermovement":
        out.update({
            "unweighting_time": tk["braking_start_s"] - e.movement_start / rate,
            "braking_time": tk["braking_time_s"],
            "lowering_displacement": -tk["countermovement_depth_m"],
            "average_force_of_braking_phase": tk["mean_braking_force_n"],
            "average_force_of_propulsive_phase": tk["mean_propulsive_force_n"],
            "braking_net_vertical_impulse": tk["braking_net_impulse_n_s"],
            "propulsive_net_vertical_impulse": tk["propulsive_net_impulse_n_s"],
            "braking_propulsive_rfd_slope_between_events": tk["rfd_braking_n_s"],
            "braking_peakforce_rfd_slope_between_events": tk["rfd_braking_to_peak_n_s"],
            "propulsive_peakforce_rfd_slope_between_events": tk["rfd_propulsive_to_peak_n_s"],
        })
    else:
        seg = e.filtered[prop:e.takeoff - 1]
        out["average_force_of_propulsive_phase"] = float(seg.mean())
    return out


CMJ_PARITY_KEYS = 22
SJ_PARITY_KEYS = 13


def test_cmj_f02_metrics_match_jumpmetrics_on_its_events(shared_data):
    fz, _ = _load(shared_data, "F02_CTRL1.txt")
    exp = _expected(shared_data, "F02_CTRL1_expected.csv")
    ours = _ours_on_their_events(fz, 2000.0, "countermovement", 0.25, 26.64)
    assert len(ours) == CMJ_PARITY_KEYS
    for key, value in ours.items():
        assert value == pytest.approx(exp[key], rel=0.01), key


def test_sj_fhoc_metrics_match_jumpmetrics_on_its_events(shared_data):
    # The expected values are reproduced with the 26.64 Hz low-pass (at 50 Hz, as the data
    # README says, the takeoff velocity would be 2.126 m/s instead of 2.0395 m/s).
    fz, _ = _load(shared_data, "FHOC_P30_SQT300007.txt")
    exp = _expected(shared_data, "FHOC_P30_expected.csv")
    ours = _ours_on_their_events(fz, 1000.0, "squat", 0.5, 26.64)
    assert len(ours) == SJ_PARITY_KEYS
    for key, value in ours.items():
        assert value == pytest.approx(exp[key], rel=0.01), key


def test_cmj_f02_our_definitions_pinned(shared_data):
    """Our events on raw force. Flight time 0.5288 s (raw, 20 N) vs JumpMetrics' 0.5095 s:
    its filtered force rings below zero after takeoff, so |F| < 10 N is reached 13 ms late
    (8.8235 s vs 8.8103 s), and the landing 20 N crossing comes 6 ms early. The late takeoff
    also costs its takeoff velocity g x 13 ms = 0.13 m/s (2.373 vs our 2.50 m/s)."""
    _, plates = _load(shared_data, "F02_CTRL1.txt")
    r = analyze_force(plates, 2000.0, ForceSettings.jumpmetrics(0.25, 26.64))
    (rep,) = r.reps
    assert r.kind == "cmj"
    assert 0.527 <= rep["flight_time_s"] <= 0.529                  # STATION.md
    assert rep["takeoff_s"] == pytest.approx(8.8103, abs=0.0005)
    assert rep["takeoff_velocity_m_s"] == pytest.approx(2.490, abs=0.01)
    assert rep["jump_height_impulse_m"] == pytest.approx(0.316, abs=0.003)
    assert rep["jump_height_flight_time_m"] == pytest.approx(0.3429, abs=0.001)
    assert rep["peak_force_n"] == pytest.approx(1927.85, rel=0.001)
    assert rep["peak_landing_force_n"] == pytest.approx(2745.19, rel=0.001)
    assert rep["braking_time_s"] == pytest.approx(0.185, abs=0.002)
    assert rep["countermovement_depth_m"] == pytest.approx(0.1785, abs=0.002)
    # onset 5 SD - 30 ms leaves the quiet stance 0.17 s before JumpMetrics' 175 ms rule
    assert rep["unweighting_time_s"] == pytest.approx(0.823, abs=0.005)
    # the two plates carry the jump nearly evenly (symmetry index within +-3 %)
    assert abs(rep["asymmetry_peak_propulsive_force_pct"]) < 3.0
    # station defaults (1 s quietest window, 50 Hz) change peaks and velocity only a little
    d = analyze_force(plates, 2000.0).reps[0]
    assert d["flight_time_s"] == rep["flight_time_s"]
    assert d["takeoff_velocity_m_s"] == pytest.approx(2.504, abs=0.01)


def test_sj_fhoc_our_definitions_pinned(shared_data):
    _, plates = _load(shared_data, "FHOC_P30_SQT300007.txt")
    r = analyze_force(plates, 1000.0)
    (rep,) = r.reps
    assert r.kind == "sj"
    assert rep["flight_time_s"] == pytest.approx(0.4421, abs=0.001)     # JumpMetrics: 0.427
    assert rep["countermovement_depth_m"] < 0.03
    assert rep["peak_force_n"] == pytest.approx(1360.3, rel=0.002)
    # integrating from the onset of the push (not 2 s earlier through a drifting squat hold)
    assert rep["takeoff_velocity_m_s"] == pytest.approx(2.247, abs=0.02)

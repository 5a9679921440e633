"""Force analysis on constructed force profiles whose truth is known by construction:
a drop jump from a box (zero force before the first landing, body weight only from the quiet
standing after the jump), squats (reps found = reps made), quiet standing, kind override."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.constants import G
from analysis.force import ForceAnalysisError, ForceSettings, analyze_force

RATE = 1000.0
MASS = 70.0
BW = MASS * G


def _noise(n, sd=1.5, seed=0):
    return np.random.default_rng(seed).normal(0.0, sd, n)


def drop_jump_profile(box_h=0.30, contact_s=0.25, v_takeoff=2.2, land_s=0.30):
    """Athlete on a box (plate unloaded), drops box_h, contacts for contact_s with a half-sine
    force that turns the impact velocity into v_takeoff, flies, lands (half-sine above BW that
    stops the fall), then stands still for 3 s. Returns force, and the truth dict."""
    dt = 1 / RATE
    v_in = np.sqrt(2 * G * box_h)
    pre = np.zeros(int(1.0 * RATE))
    t = np.arange(int(contact_s * RATE)) * dt
    # impulse of the contact: m (v_takeoff + v_in) + m g contact_s = 2 A contact_s / pi
    amp = (MASS * (v_takeoff + v_in) + MASS * G * contact_s) * np.pi / (2 * contact_s)
    contact = amp * np.sin(np.pi * (t + dt / 2) / contact_s)
    flight_s = 2 * v_takeoff / G
    flight = np.zeros(int(round(flight_s * RATE)))
    tl = np.arange(int(land_s * RATE)) * dt
    landing = BW + MASS * v_takeoff * np.pi / (2 * land_s) * np.sin(np.pi * (tl + dt / 2) / land_s)
    stand = np.full(int(3.0 * RATE), BW)
    f = np.concatenate([pre, contact, flight, landing, stand])
    loaded = f > 0
    f = f + np.where(loaded, _noise(len(f)), 0.0)
    truth = {"contact_start_s": len(pre) / RATE, "contact_time_s": len(contact) / RATE,
             "takeoff_s": (len(pre) + len(contact)) / RATE,
             "flight_time_s": len(flight) / RATE, "v_takeoff": v_takeoff,
             "landing_s": (len(pre) + len(contact) + len(flight)) / RATE}
    return f, truth


def squats_profile(n_reps=5, depth=0.35, period_s=2.0, pause_s=0.8):
    """Quiet standing, n_reps squats of the given depth (COM z = -depth (1 - cos)/2), pauses,
    quiet standing. Force = m (g + z'')."""
    w = 2 * np.pi / period_s
    t = np.arange(int(period_s * RATE)) / RATE
    acc = -depth / 2 * w * w * np.cos(w * t)
    parts = [np.zeros(int(2.0 * RATE))]
    for _ in range(n_reps):
        parts += [acc, np.zeros(int(pause_s * RATE))]
    parts.append(np.zeros(int(2.0 * RATE)))
    a = np.concatenate(parts)
    f = MASS * (G + a)
    return f + _noise(len(f), seed=1)


def test_drop_jump_from_box_events_and_metrics():
    f, truth = drop_jump_profile()
    r = analyze_force(f, RATE, ForceSettings())
    assert r.kind == "drop_jump"
    # body weight from the quiet standing AFTER the jump (the start is on the box: zero force)
    assert r.quiet_window_s[0] > truth["landing_s"]
    assert r.body_weight_n == pytest.approx(BW, rel=0.002)
    (rep,) = r.reps
    assert rep["contact_time_s"] == pytest.approx(truth["contact_time_s"], abs=0.002)
    assert rep["flight_time_s"] == pytest.approx(truth["flight_time_s"], abs=0.002)
    h_true = truth["v_takeoff"] ** 2 / (2 * G)
    assert rep["jump_height_flight_time_m"] == pytest.approx(h_true, abs=0.005)
    assert rep["rsi"] == pytest.approx(rep["jump_height_flight_time_m"] / rep["contact_time_s"])
    assert rep["onset_s"] is None and rep["jump_height_impulse_m"] is None
    # the landing after the flight: peak of the half-sine BW + A, reached at land_s / 2
    peak = BW + MASS * truth["v_takeoff"] * np.pi / (2 * 0.30)
    assert rep["peak_landing_force_n"] == pytest.approx(peak, rel=0.01)
    assert rep["peak_landing_force_bw"] == pytest.approx(peak / BW, rel=0.01)
    assert rep["time_to_stabilization_s"] is not None
    assert 0.15 < rep["time_to_stabilization_s"] < 0.35


@pytest.mark.parametrize("n_reps,pause_s", [(5, 0.8), (3, 0.0)])
def test_squats_reps_found_equal_reps_made(n_reps, pause_s):
    f = squats_profile(n_reps=n_reps, pause_s=pause_s)
    r = analyze_force(f, RATE, ForceSettings())
    assert r.kind == "squats"
    assert len(r.reps) == n_reps
    for k, rep in enumerate(r.reps):
        bottom_true = 2.0 + k * (2.0 + pause_s) + 1.0
        assert rep["bottom_s"] == pytest.approx(bottom_true, abs=0.1)
        assert rep["countermovement_depth_m"] == pytest.approx(0.35, abs=0.05)


def test_quiet_standing_has_no_reps_and_overrides_apply():
    f = MASS * G + _noise(int(5 * RATE), seed=3)
    r = analyze_force(f, RATE, ForceSettings())
    assert r.kind == "quiet" and r.reps == []
    assert r.body_weight_n == pytest.approx(BW, rel=0.001)
    # an override is obeyed and reported beside what was detected
    f2, _ = drop_jump_profile()
    r2 = analyze_force(f2, RATE, ForceSettings(), kind="landing")
    assert r2.kind == "landing" and r2.kind_detected == "drop_jump"
    assert [rep["kind"] for rep in r2.reps] == ["landing"] * len(r2.reps)
    with pytest.raises(ForceAnalysisError, match="unknown kind"):
        analyze_force(f2, RATE, kind="hop")


def test_landing_only_from_a_box():
    f, truth = drop_jump_profile()
    # keep the drop landing, replace takeoff + flight + landing with standing still
    k = int(truth["contact_start_s"] * RATE)
    t = np.arange(int(0.3 * RATE)) / RATE
    impact = BW + 1800.0 * np.sin(np.pi * t / 0.3)
    g = np.concatenate([np.zeros(k), impact, np.full(int(3 * RATE), BW)])
    g = g + np.where(g > 0, _noise(len(g), seed=4), 0.0)
    r = analyze_force(g, RATE)
    assert r.kind == "landing"
    (rep,) = r.reps
    assert rep["landing_s"] == pytest.approx(truth["contact_start_s"], abs=0.002)
    assert rep["peak_landing_force_n"] == pytest.approx(BW + 1800.0, rel=0.01)


def test_empty_plate_is_a_clear_error():
    with pytest.raises(ForceAnalysisError, match="nobody on the plate"):
        analyze_force(_noise(3000), RATE)


@pytest.mark.parametrize("kind", ["squat", "single-leg-squat"])
def test_squat_reps_after_a_sync_stomp_and_shallow_single_leg_squats(kind):
    """The virtual athlete's squats (drivers/athlete), opened by a time-sync stomp (a foot struck
    onto the plate, ~2.5 BW): the stomp is no rep and does not cut the first one; a single-leg
    squat's small force excursion (about +-3 % BW) still gives its reps."""
    from drivers.athlete.motion import simulate_motion
    from drivers.athlete.traits import Traits
    for sync_event in (None, "stomp"):
        m = simulate_motion(kind, Traits(), seed=3, reps=3, sync_event=sync_event)
        t = np.arange(0.0, m.duration_s, 1.0 / RATE)
        r = analyze_force(m.fz_at(t), RATE, ForceSettings(), kind="squats")
        assert len(r.reps) == 3, (kind, sync_event, r.reps)
        for rep, bottom in zip(r.reps, m.events["bottom"]):
            assert rep["bottom_s"] == pytest.approx(bottom, abs=0.1)
        if sync_event:
            assert r.reps[0]["start_s"] > m.events["stomp_contact"][0]

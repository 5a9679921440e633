"""The other real recordings in shared/data/force import (data/importers.py) and analyse without
error, with plausible values; BFR007's events are compared with its hand labels."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from analysis.force import analyze_force
from data.importers import import_force_file

ACL_LEFT_RIGHT = "ground_force2_vy,ground_force1_vy"      # plate 2 = left foot, Y vertical


def _analyse(path, cols, rate=None, **kw):
    imp = import_force_file(path, cols, rate)
    return imp, analyze_force(imp.fz_n, imp.rate_hz, **kw)


@pytest.mark.parametrize("name,kind", [("Dual-CMJ-Fz.txt", "cmj"), ("Dual-SJ-Fz.txt", "sj")])
def test_gidiel_dual_plate_jumps(shared_data, name, kind):
    imp, r = _analyse(shared_data / "force" / "gidiel" / name, "FP1,FP2", 1000.0)
    assert imp.fz_n.shape == (5000, 2)
    assert r.kind == kind and len(r.reps) == 1
    assert r.body_weight_n == pytest.approx(663.0, abs=5.0)      # README: ~663 N
    rep = r.reps[0]
    assert 0.40 < rep["flight_time_s"] < 0.60
    # flight-time and impulse heights of the same jump agree within a few centimetres
    assert abs(rep["jump_height_flight_time_m"] - rep["jump_height_impulse_m"]) < 0.03
    assert abs(rep["asymmetry_peak_propulsive_force_pct"]) < 15.0


@pytest.mark.parametrize("name", ["BFR003_squat_jump.csv", "BFR007_squat_jump.csv"])
def test_acl_opensim_three_jumps_with_asymmetry(shared_data, name):
    imp, r = _analyse(shared_data / "force" / "acl_squat_jump" / name, ACL_LEFT_RIGHT)
    assert imp.source_format == "opensim"
    assert imp.rate_hz == pytest.approx(1000.0)                 # from the time column
    assert len(r.reps) == 3
    assert 300.0 < r.body_weight_n < 1200.0
    for rep in r.reps:
        assert 0.2 < rep["flight_time_s"] < 0.4
        assert np.isfinite(rep["asymmetry_peak_landing_force_pct"])
        assert np.isfinite(rep["asymmetry_peak_propulsive_force_pct"])
    # jumps 2 and 3 start from quiet standing: full impulse metrics and a countermovement
    for rep in r.reps[1:]:
        assert rep["kind"] == "cmj" and rep["countermovement_depth_m"] > 0.1
        assert abs(rep["jump_height_flight_time_m"] - rep["jump_height_impulse_m"]) < 0.03


def test_bfr007_events_against_hand_labels(shared_data):
    folder = shared_data / "force" / "acl_squat_jump"
    imp, r = _analyse(folder / "BFR007_squat_jump.csv", ACL_LEFT_RIGHT)
    with open(folder / "BFR007_index.csv") as fh:
        rows = {row[0]: [int(v) for v in row[1:]] for row in csv.reader(fh) if row[0]}
    rate = imp.rate_hz
    total = imp.fz_n.sum(axis=1)
    takeoff_labels = rows["Concentric Phase"][1::2]       # end of the concentric phase
    landing_labels = rows["Landing Phase"][0::2]          # start of the landing phase
    onset_labels = rows["Eccentric Phase"][0::2]
    for rep, to, ld, on in zip(r.reps, takeoff_labels, landing_labels, onset_labels):
        # the labels sit inside the zero-force flight our raw-force events bound:
        # ours take off 8-15 ms before the labelled takeoff and land 17-21 ms after the label
        assert total[to] < 20.0 and total[ld] < 20.0
        assert 0.005 < to / rate - rep["takeoff_s"] < 0.020
        assert 0.015 < rep["landing_s"] - ld / rate < 0.025
        if rep["onset_s"] is not None:
            # our onset (Fz leaves BW +- 5 SD, -30 ms) precedes the labelled eccentric start,
            # where Fz is already 8-14 % below body weight
            assert 0.2 < on / rate - rep["onset_s"] < 0.3
            assert total[on] < 0.95 * r.body_weight_n
    # jump 1 starts moving in the first samples: no quiet stance, so no onset (not guessed)
    assert r.reps[0]["onset_s"] is None


@pytest.mark.parametrize("name", ["jump1.txt", "jump2.txt"])
def test_bmc_single_plate_450hz(shared_data, name):
    imp, r = _analyse(shared_data / "force" / "bmc" / name, "GRF[N]")
    assert imp.rate_hz == pytest.approx(450.0)                  # from the Time[s] column
    assert r.kind == "cmj" and len(r.reps) == 1
    assert 600.0 < r.body_weight_n < 850.0
    rep = r.reps[0]
    assert 0.5 < rep["flight_time_s"] < 0.65
    assert rep["time_to_takeoff_s"] > rep["propulsion_time_s"] > 0.1

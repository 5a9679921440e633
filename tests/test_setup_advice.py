"""calibration.setup_advice: the camera's distance and the one-frame bound of a landing foot's
pitch, told at calibration. Its table is the bench's figures (bench_foot_registration --bound):
one row is recomputed here with the bench's own function."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from calibration.setup_advice import (FOOT_PITCH_BOUND_D435_DEG, distance_advice,
                                      foot_pitch_bound_deg, plate_distance_m)
from drivers.camera_model import standard_camera_pose

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_foot_registration.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_foot_registration", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_table_row_at_3_m_is_the_bench_bound():
    """The 3.0 m row, recomputed over the bench's 8 landing feet (RMS of the whole visible foot's
    bound), within 2 %: a changed renderer noise model or camera must change the table too."""
    b = _bench()
    whole = [row[1] for view in ("front", "45") for pitch in (-15.0, -30.0)
             for row in b.pitch_bounds(view, pitch, False, 30, distance_m=3.0)]
    assert np.sqrt(np.mean(np.square(whole))) == pytest.approx(dict(FOOT_PITCH_BOUND_D435_DEG)[3.0], rel=0.02)


def test_bound_interpolates_the_table_and_grows_with_distance():
    for d, b in FOOT_PITCH_BOUND_D435_DEG:
        assert foot_pitch_bound_deg(d) == pytest.approx(b)
    ds = np.linspace(1.5, 3.5, 21)
    bs = [foot_pitch_bound_deg(d) for d in ds]
    assert np.all(np.diff(bs) > 0)
    assert 0.87 < foot_pitch_bound_deg(2.25) < 1.52


def test_advice_warns_only_beyond_the_reference_distance():
    near = distance_advice(standard_camera_pose("front", distance_m=2.5))
    assert near["plate_distance_m"] == pytest.approx(2.5, abs=1e-9)
    assert near["warning"] is None and "+-1.5 deg" in near["line"]
    far = distance_advice(standard_camera_pose("45", distance_m=3.0))
    assert far["foot_pitch_bound_deg"] == pytest.approx(2.56)
    assert "move it closer" in far["warning"] and "calibrate again" in far["warning"]
    assert plate_distance_m(standard_camera_pose("45", distance_m=2.2)) == pytest.approx(2.2)


def test_a_camera_outside_the_measured_distances_gets_no_bound():
    """Overhead (0 m horizontally) or a wrong calibration far away: no bound is made up (the
    power law would give 0 deg at 0 m), the technician is told to check the set-up."""
    overhead = np.eye(4)
    overhead[:3, 3] = (0.0, 0.0, 2.5)
    for T in (overhead, standard_camera_pose("front", distance_m=8.0)):
        adv = distance_advice(T)
        assert adv["foot_pitch_bound_deg"] is None and "none is stated" in adv["line"]
        assert "check the camera's place and its calibration" in adv["warning"]
    assert np.isnan(foot_pitch_bound_deg(0.0))

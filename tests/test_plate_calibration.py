"""Plate calibration: zero, gains from known masses, COP check, persistence, warnings, wizard."""
import argparse
import datetime as dt
import json

import numpy as np
import pytest

from analysis.constants import G
from calibration import plate as cp
from calibration import plate_wizard
from drivers.plate_geometry import PlateGeometry, split_load_to_cells
from station.errors import UserError

GEOM = PlateGeometry()
TRUE_GAIN = np.array([201.0, 195.5, 208.0, 190.0])        # counts/N
TRUE_ZERO = np.array([12000.0, -3000.0, 45000.0, -20000.0])


def _placement(mass, pos, rng, twist=0.0, noise=5.0):
    cells = split_load_to_cells(np.array([mass * G]), np.array([pos]), GEOM)[0]
    # a statically indeterminate "twist" share (a fraction of the load, set by the cells'
    # stiffness) must not matter: it changes no equilibrium
    cells = cells + twist * mass * G * np.array([1, -1, 1, -1])
    counts = TRUE_ZERO + cells * TRUE_GAIN + rng.normal(0, noise, 4)
    return cp.Placement(mass, pos, counts)


def _plan(rng, twist=0.0):
    pos = [(0, 0), (0.14, 0.1), (-0.14, 0.1), (-0.14, -0.1), (0.14, -0.1)]
    pl = [_placement(20.0, p, rng, twist) for p in pos]
    pl += [_placement(40.0, (0, 0), rng, twist), _placement(60.0, (0, 0), rng, twist)]
    return pl


def _calibrate(rng, twist=0.0):
    unloaded = TRUE_ZERO + rng.normal(0, 5.0, (2000, 4))
    zero, sd = cp.zero_from_window(unloaded)
    plates = [dict(GEOM.to_dict(), channels=[0, 1, 2, 3])]
    return cp.calibrate(zero, _plan(rng, twist), device_serial="SN-1", plates_desc=plates,
                        zero_sd_counts=sd)


@pytest.mark.parametrize("twist", [0.0, 0.04])
def test_recovers_known_gains_and_offsets(twist):
    cal = _calibrate(np.random.default_rng(0), twist)
    assert np.allclose(cal.newtons_per_count, 1 / TRUE_GAIN, rtol=1e-3)
    assert np.allclose(cal.zero_counts, TRUE_ZERO, atol=1.0)
    r = cal.report
    assert r["fz_residual_rms_n"] < 0.5
    assert r["linearity_fz_pct_fs"] < 0.1
    assert all(v is not None and v < 0.1 for v in r["linearity_channel_pct_fs"])
    assert r["cop_error_max_m"] < 1e-3
    assert np.allclose(r["noise_n"], 5.0 / TRUE_GAIN, rtol=0.1)


def test_nonlinear_channel_shows_in_linearity():
    rng = np.random.default_rng(1)
    cal = _calibrate(rng)
    pl = _plan(rng)
    for p in pl:                          # channel 2 saturates softly: reads 3 % low at 60 kg
        d = p.counts_mean[2] - TRUE_ZERO[2]
        p.counts_mean[2] = TRUE_ZERO[2] + d * (1 - 0.03 * (p.mass_kg / 60.0) ** 2)
    k, report = cp.fit_gains(cal.zero_counts, pl, cal.plate_geometries())
    assert report["linearity_channel_pct_fs"][2] > 0.5
    assert report["linearity_channel_pct_fs"][0] < 0.1


def test_centre_only_placements_cannot_determine_the_gains():
    rng = np.random.default_rng(2)
    pl = [_placement(m, (0, 0), rng) for m in (20, 40)]
    with pytest.raises(ValueError, match="off both axes"):
        cp.fit_gains(TRUE_ZERO, pl, [(GEOM, [0, 1, 2, 3])])


def test_cop_check_passes_with_the_right_calibration_and_fails_with_a_wrong_one():
    rng = np.random.default_rng(3)
    cal = _calibrate(rng)
    checks = [_placement(30.0, (0.1, -0.05), rng), _placement(30.0, (-0.2, 0.12), rng)]
    res = cp.cop_check(cal, checks, max_cop_error_m=0.005)
    assert res["passed"] and max(c["cop_error_m"] for c in res["checks"]) < 0.002
    cal.newtons_per_count = cal.newtons_per_count * np.array([1.1, 1, 1, 1])   # one gain 10 % off
    bad = cp.cop_check(cal, checks, max_cop_error_m=0.005)
    assert not bad["passed"]


def test_save_load_latest_and_warnings(tmp_path, monkeypatch):
    monkeypatch.setenv("STATION_HOME", str(tmp_path))
    cal = _calibrate(np.random.default_rng(4))
    path = cal.save()
    assert path.parent == tmp_path / "calibration" and "SN-1" in path.name
    back = cp.PlateCalibration.load(path)
    assert np.array_equal(back.newtons_per_count, cal.newtons_per_count)
    assert json.loads(path.read_text())["device_serial"] == "SN-1"
    assert cp.latest_calibration("SN-1").path == str(path)
    assert cp.latest_calibration("other") is None
    now = dt.datetime.fromisoformat(cal.date_utc)
    assert back.check(now=now + dt.timedelta(days=10)) == []
    old = back.check(now=now + dt.timedelta(days=45), max_age_days=30)
    assert len(old) == 1 and "45 days old" in old[0]
    drifted = back.zero_counts + np.array([0, 0, 8.0 * TRUE_GAIN[2], 0])     # 8 N on channel 2
    w = back.check(now=now, zero_counts_now=drifted, max_zero_drift_n=5.0)
    assert len(w) == 1 and "channel 2" in w[0] and "+8.0 N" in w[0]
    counts = TRUE_ZERO + np.array([[100.0, 0, 0, 0]]) * TRUE_GAIN
    assert np.allclose(back.to_newtons(counts), [[100.0, 0, 0, 0]], atol=0.2)


def test_unreadable_calibration_is_a_user_error(tmp_path):
    p = tmp_path / "plate_x.json"
    p.write_text("{not json")
    with pytest.raises(UserError, match="cannot read plate calibration"):
        cp.PlateCalibration.load(p)


def _wizard_args(*argv):
    parser = argparse.ArgumentParser()
    plate_wizard.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.slow
def test_wizard_simulate_calibrates_a_virtual_plate(tmp_path, capsys):
    args = _wizard_args("--simulate", "--seconds", "0.2", "--settle", "0.05", "--masses", "20,40",
                        "--out", str(tmp_path), "--json")
    assert plate_wizard.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert max(abs(e) for e in out["report"]["simulated_truth"]["gain_error_pct"]) < 0.5
    assert np.allclose(out["zero_counts"], out["report"]["simulated_truth"]["zero_counts"], atol=5)
    assert out["report"]["cop_check"]["passed"]
    assert len(list(tmp_path.glob("plate_*.json"))) == 1


def test_wizard_needs_a_port_or_simulate():
    with pytest.raises(UserError, match="--port"):
        plate_wizard.run(_wizard_args())
    with pytest.raises(UserError, match="--masses"):
        plate_wizard.run(_wizard_args("--simulate", "--masses", "heavy"))

"""`station import` (text, OpenSim, C3D) -> trial file -> `station analyze` (table, --json,
results written into the trial, raw data untouched); raw ADC counts + the plate calibration in
the trial become newtons in one place (analysis/force/trial_force.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from calibration.plate import PlateCalibration
from data.trial import TrialWriter, open_trial
from drivers.plate_geometry import PlateGeometry, split_load_to_cells
from station.cli import main

from test_force_synthetic import BW, RATE, drop_jump_profile

ISSUE_KEYS = ("flight_time_s", "jump_height_flight_time_m", "jump_height_impulse_m",
              "takeoff_velocity_m_s", "contact_time_s", "rsi", "rsi_modified", "peak_force_n",
              "peak_landing_force_n", "peak_landing_force_bw", "loading_rate_bw_s",
              "time_to_stabilization_s", "countermovement_depth_m", "onset_s", "takeoff_s",
              "landing_s")


def test_import_headerless_text_then_analyze_json_and_results(shared_data, tmp_path, capsys):
    src = shared_data / "force" / "jumpmetrics" / "F02_CTRL1.txt"
    out = tmp_path / "f02.h5"
    assert main(["import", str(src), "--fz", "3,9", "--rate", "2000", "--out", str(out)]) == 0
    assert main(["analyze", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert res["kind"] == "cmj" and len(res["reps"]) == 1
    assert set(ISSUE_KEYS) <= set(res["reps"][0])
    assert 0.527 <= res["reps"][0]["flight_time_s"] <= 0.529
    with open_trial(out) as t:
        stored = t.result("force")
        raw = t.stream("force").read()
        assert stored.attrs["kind"] == "cmj"
        assert stored.attrs["settings"]["contact_threshold_n"] == 20.0
        assert stored.arrays["reps"]["flight_time_s"][0] == pytest.approx(res["reps"][0]["flight_time_s"])
    cols = np.loadtxt(src, delimiter=",", skiprows=1, usecols=(2, 8))
    np.testing.assert_array_equal(raw, cols)            # raw data as imported, untouched
    # a second analysis with other settings replaces the results, never the raw data
    assert main(["analyze", str(out), "--threshold", "10", "--lowpass", "0"]) == 0
    table = capsys.readouterr().out
    assert "cmj" in table and "body weight" in table
    with open_trial(out) as t:
        assert t.result("force").attrs["settings"]["contact_threshold_n"] == 10.0
        np.testing.assert_array_equal(t.stream("force").read(), raw)


def test_import_sums_columns_and_reads_rate_from_time(shared_data, tmp_path, capsys):
    src = shared_data / "force" / "gidiel" / "Dual-CMJ-Fz.txt"
    out = tmp_path / "sum.h5"
    assert main(["import", str(src), "--fz", "FP1+fp2", "--rate", "1000", "--out", str(out)]) == 0
    with open_trial(out) as t:
        data = t.stream("force").read()
    both = np.loadtxt(src, skiprows=1)
    assert data.shape == (5000, 1)
    np.testing.assert_allclose(data[:, 0], both.sum(axis=1))
    bmc = shared_data / "force" / "bmc" / "jump1.txt"
    assert main(["import", str(bmc), "--fz", "2", "--out", str(tmp_path / "b.h5")]) == 0
    assert "450 Hz" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["--fz", "FZ9", "--rate", "1000"], "no column 'FZ9'; columns: FP1, FP2"),
    (["--fz", "FP1"], "no time column; give the sampling rate with --rate HZ"),
    (["--fz", "7", "--rate", "1000"], "column 7 does not exist"),
])
def test_import_errors_are_one_line(shared_data, tmp_path, capsys, argv, message):
    src = shared_data / "force" / "gidiel" / "Dual-SJ-Fz.txt"
    code = main(["import", str(src), *argv, "--out", str(tmp_path / "x.h5")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "x.h5").exists()


def test_rate_disagreeing_with_time_column_is_refused(shared_data, tmp_path, capsys):
    src = shared_data / "force" / "bmc" / "jump2.txt"
    assert main(["import", str(src), "--fz", "GRF[N]", "--rate", "1000",
                 "--out", str(tmp_path / "x.h5")]) == 2
    assert "disagrees with the time column (450 Hz)" in capsys.readouterr().err


def test_import_c3d_analog_channels(tmp_path, capsys):
    ezc3d = pytest.importorskip("ezc3d")
    f, truth = drop_jump_profile()
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [100]
    c["parameters"]["POINT"]["LABELS"]["value"] = ("m1",)
    n_points = len(f) // 10
    pts = np.zeros((4, 1, n_points))
    pts[3] = 1
    c["data"]["points"] = pts
    c["parameters"]["ANALOG"]["RATE"]["value"] = [RATE]
    c["parameters"]["ANALOG"]["LABELS"]["value"] = ("Fz1", "Fz2")
    c["data"]["analogs"] = np.stack([0.4 * f, 0.6 * f])[None, :, :n_points * 10]
    path = tmp_path / "drop.c3d"
    c.write(str(path))
    out = tmp_path / "drop.h5"
    assert main(["import", str(path), "--fz", "Fz1,Fz2", "--out", str(out)]) == 0
    assert main(["analyze", str(out), "--json", "--no-write"]) == 0
    res = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert res["kind"] == "drop_jump" and res["n_plates"] == 2
    assert res["reps"][0]["contact_time_s"] == pytest.approx(truth["contact_time_s"], abs=0.002)
    with open_trial(out) as t:
        assert "force" not in t.results()                 # --no-write


def test_raw_counts_with_calibration_become_newtons(tmp_path, capsys):
    """A captured trial: 4 cells in ADC counts + the plate calibration in /calibration/plate1."""
    f, truth = drop_jump_profile()
    geom = PlateGeometry()
    cop = np.column_stack([0.02 + 0.005 * np.sin(np.arange(len(f)) / 300.0), np.full(len(f), -0.03)])
    cells_n = split_load_to_cells(f, cop, geom)
    zero = np.array([1000.0, -500.0, 200.0, 0.0])
    gain = np.array([0.05, 0.051, 0.049, 0.0502])                      # N per count
    counts = np.round(cells_n / gain + zero).astype(np.int32)
    cal = PlateCalibration(device_serial="T1", channels=4, zero_counts=zero, newtons_per_count=gain)
    path = tmp_path / "captured.h5"
    with TrialWriter(path, metadata={"athlete_id": "A1", "trial_kind": "drop_jump"}) as w:
        w.add_device("plate1", kind="force_plate", description={"model": "test"})
        s = w.create_stream("plate1", kind="force", device="plate1", sample_shape=(4,),
                            dtype="int32", unit="count", nominal_rate_hz=RATE,
                            columns=["cell0", "cell1", "cell2", "cell3"])
        k = np.arange(len(f))
        s.append(counts, sequence=k, time_device_s=k / RATE, time_host_s=1.7e9 + k / RATE)
        w.add_calibration("plate1", cal.to_dict())
    assert main(["analyze", str(path), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["kind"] == "drop_jump"
    assert res["body_weight_n"] == pytest.approx(BW, rel=0.002)
    assert res["reps"][0]["flight_time_s"] == pytest.approx(truth["flight_time_s"], abs=0.002)
    # one plate: COP sway over the quiet window, in the plate frame
    assert res["cop"]["cop_range_y_m"] < 1e-3
    assert res["cop"]["cop_range_x_m"] == pytest.approx(0.01, abs=0.002)


def test_analyze_missing_trial_is_a_clear_error(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.h5")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("station analyze: error:") and err.count("\n") == 1


def test_cli_kind_choices_are_the_analysis_kinds():
    from analysis.force.classify import KINDS
    from station.commands import analyze, import_cmd
    assert analyze.KINDS == KINDS and import_cmd.KINDS == KINDS

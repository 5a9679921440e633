"""`station export`: CSV tables round-trip their numbers exactly (units in the headers); a C3D file
reopens with ezc3d with the joint labels, rates, units and force platforms; a trial without a
skeleton exports force platforms only."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.force.trial_force import force_from_trial
from analysis.joints import JOINT_NAMES
from data.export_csv import read_table
from data.trial import open_trial
from station.cli import main

from test_report_html import sims  # noqa: F401  (the session-wide cache of simulated trials)


@pytest.fixture(scope="module")
def cam_trial(tmp_path_factory, sims):  # noqa: F811
    """A simulated CMJ on two plates with color frames and /results/skeleton."""
    return sims(tmp_path_factory.mktemp("exp") / "cmj.h5", "cmj", valgus_left_deg=16.0,
                valgus_right_deg=5.0)


def test_csv_round_trips_metrics_and_time_series(cam_trial, tmp_path, capsys):
    out = tmp_path / "csv"
    assert main(["export", str(cam_trial), "--format", "csv", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["cmj_force.csv", "cmj_kinematics.csv", "cmj_metrics.csv"]
    head = (out / "cmj_metrics.csv").read_text().splitlines()[0]
    assert "jump_height_flight_time_m [m]" in head and "peak_force_n [N]" in head
    assert "rfd_braking_n_s [N/s]" in head and "left_fppa_max_deg [deg]" in head
    cols, rows = read_table(out / "cmj_metrics.csv")
    with open_trial(cam_trial) as t:
        force = t.result("force").attrs
        kin = t.result("skeleton").attrs["reps"]
        tf = force_from_trial(t)
        sk = t.result("skeleton").arrays
    assert len(rows) == len(force["reps"]) == 1
    row = dict(zip(cols, rows[0]))
    rep = force["reps"][0]
    numeric = {k: v for k, v in rep.items() if isinstance(v, float)}
    assert len(numeric) > 20
    for k, v in numeric.items():
        assert row[k] == v, k                              # exact: repr round-trips float64
    assert row["body_weight_n"] == force["body_weight_n"]
    assert row["left_fppa_max_deg"] == kin[0]["left"]["fppa_max_deg"]
    assert row["right_knee_flexion_max_deg"] == kin[0]["right"]["knee_flexion_max_deg"]
    fcols, frows = read_table(out / "cmj_force.csv")
    assert fcols == ["time_s", "fz_plate1_n", "fz_plate2_n", "fz_total_n"]
    f = np.array(frows, dtype=float)
    np.testing.assert_array_equal(f[:, 1:3], tf.fz_n)
    np.testing.assert_array_equal(f[:, 0], tf.time_s - tf.time_s[0])
    kcols, krows = read_table(out / "cmj_kinematics.csv")
    k = np.array(krows, dtype=float)
    np.testing.assert_array_equal(k[:, kcols.index("left_fppa_deg")], np.degrees(sk["curve_left_fppa"]))
    np.testing.assert_array_equal(k[:, kcols.index("right_knee_z_lab_m")],
                                  sk["joints_lab_m"][:, JOINT_NAMES.index("right_knee"), 2])


def test_c3d_reopens_with_labels_rates_units_and_platforms(cam_trial, tmp_path, capsys):
    import ezc3d
    out = tmp_path / "cmj.c3d"
    assert main(["export", str(cam_trial), "--format", "c3d", "--out", str(out)]) == 0
    c = ezc3d.c3d(str(out), extract_forceplat_data=True)
    P = c["parameters"]
    assert P["POINT"]["LABELS"]["value"] == list(JOINT_NAMES)
    assert P["POINT"]["UNITS"]["value"] == ["mm"]
    assert P["ANALOG"]["RATE"]["value"][0] == pytest.approx(1000.0)
    assert P["POINT"]["RATE"]["value"][0] == pytest.approx(1000.0 / 33, rel=1e-6)   # 30 fps camera
    assert P["ANALOG"]["LABELS"]["value"] == ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1",
                                             "Fx2", "Fy2", "Fz2", "Mx2", "My2", "Mz2"]
    assert P["ANALOG"]["UNITS"]["value"] == ["N", "N", "N", "Nmm", "Nmm", "Nmm"] * 2
    assert list(P["FORCE_PLATFORM"]["TYPE"]["value"]) == [2, 2]
    assert P["FORCE_PLATFORM"]["USED"]["value"][0] == 2
    with open_trial(cam_trial) as t:
        tf = force_from_trial(t)
        sk = t.result("skeleton").arrays
    pf = c["data"]["platform"]
    n = pf[0]["force"].shape[1]
    for k in range(2):
        assert pf[k]["unit_force"] == "N" and pf[k]["unit_position"] == "mm"
        np.testing.assert_allclose(pf[k]["force"][2], tf.fz_n[:n, k], rtol=1e-5, atol=1e-3)
    # plate2 lies 0.42 m to the right of plate1 (two-plate set-up): its corners say so
    np.testing.assert_allclose(pf[1]["corners"][0].mean() - pf[0]["corners"][0].mean(), 420.0)
    # loaded plates: the centre of pressure lies on the plate, under the feet
    loaded = pf[0]["force"][2] > 200
    cop_x = pf[0]["center_of_pressure"][0][loaded]
    assert np.all(np.abs(cop_x) <= 200.0)
    # points: the joints in mm at the C3D frame times (first frame = first joint sample)
    pts = c["data"]["points"]
    np.testing.assert_allclose(pts[:3, :, 0], 1000.0 * sk["joints_lab_m"][0].T, atol=1e-2)


def test_c3d_without_skeleton_has_force_platforms_only(tmp_path, capsys, sims):  # noqa: F811
    import ezc3d
    trial = sims(tmp_path / "dj.h5", "dj", color=False, skeleton=False, seed=3, plates=1)
    out = tmp_path / "dj.c3d"
    assert main(["export", str(trial), "--format", "c3d", "--out", str(out)]) == 0
    c = ezc3d.c3d(str(out), extract_forceplat_data=True)
    assert c["parameters"]["POINT"]["USED"]["value"][0] == 0
    assert c["parameters"]["POINT"]["RATE"]["value"][0] == pytest.approx(100.0)
    assert len(c["data"]["platform"]) == 1
    with open_trial(trial) as t:
        tf = force_from_trial(t)
        bw = t.result("force").attrs["body_weight_n"]
    fz = c["data"]["platform"][0]["force"][2]
    np.testing.assert_allclose(fz, tf.fz_n[:len(fz)], rtol=1e-5, atol=1e-3)
    assert fz.max() > 2 * bw
    # exporting again onto the same file is refused, on one line
    assert main(["export", str(trial), "--format", "c3d", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err

"""Batch re-analysis (`station analyze FOLDER... --workers N | --dask ADDRESS --table OUT.csv`):
real recordings imported as trials plus broken files; the broken ones are skipped and named, the
rest analysed exactly as one at a time; a local Dask cluster gives identical results."""
from __future__ import annotations

import json
import shutil

import pytest

from data.export_csv import read_table
from station.cli import main

IMPORTS = (  # (file under shared/data/force, --fz, --rate)
    ("gidiel/Dual-CMJ-Fz.txt", "FP1,FP2", "1000"),
    ("gidiel/Dual-SJ-Fz.txt", "FP1,FP2", "1000"),
    ("bmc/jump1.txt", "2", None),
    ("bmc/jump2.txt", "2", None),
)


def import_trials(shared_data, folder) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for rel, fz, rate in IMPORTS:
        dst = folder / (rel.replace("/", "_").rsplit(".", 1)[0] + ".h5")
        args = ["import", str(shared_data / "force" / rel), "--fz", fz, "--out", str(dst)]
        if rate:
            args += ["--rate", rate]
        assert main(args) == 0
        out.append(dst)
    return out


@pytest.fixture(scope="module")
def batch_folder(shared_data, tmp_path_factory):
    """4 good trials in two folders, a truncated trial and a file that is not HDF5."""
    root = tmp_path_factory.mktemp("batch")
    good = import_trials(shared_data, root / "a")
    (root / "b").mkdir()
    shutil.move(str(good[3]), str(root / "b" / good[3].name))
    data = good[0].read_bytes()
    (root / "a" / "truncated.h5").write_bytes(data[: len(data) // 2])
    (root / "b" / "notes.h5").write_text("not a trial\n")
    return root


def test_folder_with_broken_files_finishes_the_rest_and_names_them(batch_folder, tmp_path, capsys):
    table = tmp_path / "all.csv"
    rc = main(["analyze", str(batch_folder / "a"), str(batch_folder / "b"), "--workers", "2",
               "--no-write", "--json", "--table", str(table)])
    cap = capsys.readouterr()
    assert rc == 1
    results = json.loads(cap.out)
    assert sorted(r["trial"].rsplit("/", 1)[1] for r in results) == [
        "bmc_jump1.h5", "bmc_jump2.h5", "gidiel_Dual-CMJ-Fz.h5", "gidiel_Dual-SJ-Fz.h5"]
    skipped = [line for line in cap.err.splitlines() if line.startswith("station analyze: skipped")]
    assert len(skipped) == 2
    assert any("truncated.h5" in s and "truncated" in s.split("truncated.h5", 1)[1] for s in skipped)
    assert any("notes.h5" in s and "not an HDF5 file" in s for s in skipped)
    assert "4 of 6 trial(s) analysed, 2 skipped" in cap.err
    assert "analyze [" in cap.err and "6/6 trials" in cap.err           # the progress bar
    # the combined table: one row per rep, units in the headers, the same numbers as one by one
    cols, rows = read_table(table)
    head = table.read_text().splitlines()[0]
    assert "jump_height_flight_time_m [m]" in head and "body_weight_n [N]" in head
    assert len(rows) == sum(len(r["reps"]) for r in results) >= 4
    for r in results:
        assert main(["analyze", r["trial"], "--json", "--no-write"]) == 0
        alone = json.loads(capsys.readouterr().out)
        assert alone == r
        mine = [dict(zip(cols, row)) for row in rows if row[0] == r["trial"]]
        assert [m["flight_time_s"] for m in mine] == [rep["flight_time_s"] for rep in r["reps"]]
        assert mine[0]["body_weight_n"] == r["body_weight_n"]


def test_single_trial_keeps_its_error(batch_folder, capsys):
    assert main(["analyze", str(batch_folder / "b" / "notes.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert "not an HDF5 file" in err and "\n" not in err


def test_batch_option_errors(batch_folder, tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nothing_here")]) == 2
    assert "no such file" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["analyze", str(empty)]) == 2
    assert "no trial files" in capsys.readouterr().err
    assert main(["analyze", str(batch_folder / "a"), "--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err


@pytest.mark.slow
def test_dask_local_cluster_gives_identical_results(batch_folder, tmp_path, capsys):
    from distributed import LocalCluster
    pool_table, dask_table = tmp_path / "pool.csv", tmp_path / "dask.csv"
    args = ["analyze", str(batch_folder), "--no-write", "--json", "--lowpass", "30"]
    assert main(args + ["--workers", "2", "--table", str(pool_table)]) == 1
    pool_out = capsys.readouterr().out
    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None,
                      silence_logs=40) as cluster:
        assert main(args + ["--dask", cluster.scheduler_address, "--table", str(dask_table)]) == 1
    cap = capsys.readouterr()
    assert "truncated.h5" in cap.err and "notes.h5" in cap.err
    assert json.loads(cap.out) == json.loads(pool_out)
    assert all(r["settings"]["lowpass_hz"] == 30.0 for r in json.loads(pool_out))
    assert dask_table.read_bytes() == pool_table.read_bytes()


def _camera_trial_without_intrinsics(path, shared_data):
    """A real CMJ (gidiel, N per plate) beside tiny color + depth streams whose camera
    description lacks intrinsics: the skeleton pipeline must refuse it with its reason."""
    import numpy as np
    from data.trial import TrialWriter
    src = shared_data / "force" / "gidiel" / "Dual-CMJ-Fz.txt"
    fz = np.loadtxt(src, skiprows=1)
    with TrialWriter(path, metadata={"athlete_id": "G01", "trial_kind": "cmj"}) as w:
        w.add_device("plates", kind="force_plate", description={})
        w.add_device("camera", kind="camera", description={"model": "no intrinsics"})
        f = w.create_stream("force", kind="force", device="plates", sample_shape=(2,), unit="N",
                            nominal_rate_hz=1000.0, columns=["fz_plate1", "fz_plate2"],
                            attrs={"content": "fz_per_plate"})
        c = w.create_stream("color", kind="color", device="camera", sample_shape=(8, 8, 3),
                            dtype="uint8", unit="rgb8", frame="camera_color", nominal_rate_hz=30.0)
        d = w.create_stream("depth", kind="depth", device="camera", sample_shape=(8, 8),
                            dtype="uint16", unit="mm", frame="camera_depth", nominal_rate_hz=30.0)
        t = np.arange(len(fz)) / 1000.0
        f.append(fz, sequence=np.arange(len(fz)), time_device_s=t, time_host_s=t)
        for i in range(3):
            c.append(np.zeros((1, 8, 8, 3), np.uint8), sequence=[i], time_device_s=[i / 30], time_host_s=[i / 30])
            d.append(np.zeros((1, 8, 8), np.uint16), sequence=[i], time_device_s=[i / 30], time_host_s=[i / 30])
    return path


def test_kinematics_hook_runs_on_camera_trials_and_says_why_not(shared_data, tmp_path, capsys):
    trial = _camera_trial_without_intrinsics(tmp_path / "cam.h5", shared_data)
    assert main(["analyze", str(trial), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "cmj" and "kinematics" not in out
    assert [w for w in out["warnings"] if w.startswith("kinematics skipped: ")], out["warnings"]
    assert main(["analyze", str(trial), "--json", "--no-skeleton"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert not [w for w in out["warnings"] if "kinematics" in w]

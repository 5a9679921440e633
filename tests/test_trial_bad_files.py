"""Files that are not valid trials: open_trial raises TrialError with a one-line reason, and
`station inspect` exits non-zero with that one line and no traceback."""
from __future__ import annotations

import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from data.trial import TrialError, open_trial, validate_trial
from station.cli import main

REPO = Path(__file__).resolve().parents[1]


def _random_bytes(tmp_path, trial):
    p = tmp_path / "random.h5"
    p.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return p


def _other_hdf5(tmp_path, trial):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f["signal"] = np.arange(100.0)
        f.attrs["format"] = "someone-else"
    return p


def _truncated(tmp_path, trial):
    p = tmp_path / "truncated.h5"
    data = trial.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return p


def _missing(tmp_path, trial):
    return tmp_path / "no_such_trial.h5"


def _empty(tmp_path, trial):
    p = tmp_path / "empty.h5"
    p.write_bytes(b"")
    return p


def _wrong_version(tmp_path, trial):
    with h5py.File(trial, "r+") as f:
        f.attrs["schema_version"] = np.int64(99)
    return trial


def _directory(tmp_path, trial):
    return tmp_path


BAD = {
    "random bytes": (_random_bytes, "not an HDF5 file"),
    "HDF5 of another kind": (_other_hdf5, "HDF5 file of another kind"),
    "truncated trial": (_truncated, "truncated"),
    "missing path": (_missing, "no such file"),
    "empty file": (_empty, "empty file"),
    "wrong schema version": (_wrong_version, "schema version 99"),
    "directory": (_directory, "is a directory"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_file_gives_one_clear_line(case, tmp_path, small_trial_file, capsys):
    make, reason = BAD[case]
    path = make(tmp_path, small_trial_file)
    with pytest.raises(TrialError, match=reason) as info:
        open_trial(path)
    assert "\n" not in str(info.value)
    assert validate_trial(path) == [str(info.value)]
    code = main(["inspect", str(path)])
    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and reason in err and err.startswith("station inspect: error: ")


@pytest.mark.parametrize("case", ["random bytes", "truncated trial"])
def test_console_script_exits_nonzero_without_traceback(case, tmp_path, small_trial_file):
    make, reason = BAD[case]
    path = make(tmp_path, small_trial_file)
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "station"), "inspect", str(path), "--json"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and reason in proc.stderr


def test_inspect_prints_summary_of_a_good_trial(small_trial_file, capsys):
    assert main(["inspect", str(small_trial_file)]) == 0
    out = capsys.readouterr().out
    assert "status  complete" in out
    assert "plate1" in out and "depth" in out and "schema  valid" in out
    assert main(["inspect", str(small_trial_file), "--json"]) == 0
    import json
    summary = json.loads(capsys.readouterr().out)
    streams = {s["name"]: s for s in summary["streams"]}
    assert streams["plate1"]["samples"] == 200 and streams["depth"]["samples"] == 6
    assert streams["plate1"]["duration_s"] == pytest.approx(0.199)
    assert streams["plate1"]["achieved_rate_hz"] == pytest.approx(1000.0)
    assert streams["depth"]["unit"] == "mm" and streams["depth"]["frame"] == "camera_depth"
    assert summary["problems"] == []

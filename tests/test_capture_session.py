"""A simulated session through the real chain: virtual plate on a pty -> plate driver ->
recorder -> trial files -> force analysis -> verdicts -> session.json. Plate only (the camera
path is in test_capture_sync.py)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from data.trial import open_trial
from station.session import load_session

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


def _station(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "station.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_simulated_jumps_session_gives_expected_trials_and_verdicts(tmp_path):
    r = _station("capture", "--protocol", "jumps", "--athlete", "S01", "--data", str(tmp_path),
                 "--simulate", "--no-camera", "--steps", "weigh,cmj,dj", "--trials", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    folder = next((tmp_path / "S01").iterdir())
    data = load_session(folder)
    assert [(t["step"], t["attempt"], t["status"]) for t in data["trials"]] == \
        [("weigh", 1, "complete"), ("cmj", 1, "complete"), ("dj", 1, "complete")]
    assert all(t["verdict"]["ok"] for t in data["trials"]), data["trials"]
    # the weighing set the athlete's mass (virtual athlete: 75 kg)
    assert data["athlete"]["mass_kg"] == pytest.approx(75.0, abs=0.5)
    # the session-start calibration checks are in the session file (the simulated plate's
    # calibration is fresh and its zero has not drifted: a check with no warnings)
    plate_checks = data["start_checks"]["plate"]
    assert plate_checks and all(v["warnings"] == [] for k, v in plate_checks.items() if k != "notes")
    cmj = data["trials"][1]["key_numbers"]
    assert cmj["jump_height_impulse_m"] == pytest.approx(0.30, abs=0.02)
    q = cmj["quality"]["plate1"]
    assert q["dropped"] == 0 and q["crc_errors"] == 0
    assert q["achieved_rate_hz"] == pytest.approx(1000.0, rel=0.002)
    # each trial file: complete, raw counts + calibration + host times, results written back
    for t in data["trials"]:
        with open_trial(folder / t["file"]) as trial:
            assert trial.metadata["step"] == t["step"]
            st = trial.stream("plate1")
            assert st.unit == "count" and len(st.time_host_s) > 1000
            assert np.all(np.diff(st.sequence) == 1)
            assert "plate1" in trial.calibrations() and "force" in trial.results()
    assert "cmj" in r.stdout and "session file" in r.stdout


def test_protocol_mistake_is_reported_with_line_and_field(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: mine\nsteps:\n  - id: cmj\n    kind: cmj\n    instruction: Jump.\n"
                   "    trials: three\n")
    r = _station("capture", "--protocol", str(bad), "--athlete", "S01", "--data", str(tmp_path),
                 "--simulate", "--no-camera", timeout=60)
    assert r.returncode != 0
    assert "mine.yaml line 6" in r.stderr and "field 'trials'" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "S01").exists()


def test_no_force_plate_found_says_what_to_do(tmp_path):
    import os
    env = dict(os.environ, STATION_RUNTIME_DIR=str(tmp_path / "none"))
    r = subprocess.run([sys.executable, "-m", "station.cli", "capture", "--protocol", "jumps",
                        "--athlete", "S01", "--data", str(tmp_path)], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "no force plate found: plug it in or use --simulate" in r.stderr


def test_unknown_step_is_a_clear_error(tmp_path):
    r = _station("capture", "--protocol", "jumps", "--athlete", "S01", "--data", str(tmp_path),
                 "--simulate", "--no-camera", "--steps", "cmj,backflip", timeout=60)
    assert r.returncode != 0 and "backflip not in protocol jumps" in r.stderr

"""docs/READING_TRIALS.md: its example script, run with plain Python on a trial with raw ADC
counts + calibration and stored force results, prints the numbers the station's reader gives."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.force.trial_force import force_from_trial
from data.trial import TrialWriter, open_trial
from station.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "READING_TRIALS.md"


def _example_script() -> str:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1, "READING_TRIALS.md should hold exactly one python example"
    return blocks[0]


def test_reading_example_runs_on_a_counts_trial(shared_data, tmp_path, capsys):
    # a real CMJ (gidiel, two plates, N) turned into raw counts of one 4-cell plate + calibration
    fz = np.loadtxt(shared_data / "force" / "gidiel" / "Dual-CMJ-Fz.txt", skiprows=1).sum(axis=1)
    zero = np.array([1000.0, -500.0, 250.0, 0.0])
    gain = np.array([0.02, 0.025, 0.018, 0.021])
    share = np.array([0.3, 0.2, 0.25, 0.25])
    counts = np.rint(fz[:, None] * share / gain + zero).astype(np.int32)
    path = tmp_path / "counts.h5"
    n = len(fz)
    with TrialWriter(path, metadata={"athlete_id": "G01", "trial_kind": "cmj"}) as w:
        w.add_device("plate1", kind="force_plate", description={"model": "test"})
        s = w.create_stream("plate1", kind="force", device="plate1", sample_shape=(4,), dtype="int32",
                            unit="count", nominal_rate_hz=1000.0, columns=["c0", "c1", "c2", "c3"])
        w.add_calibration("plate1", {"method": "test"}, arrays={"zero_counts": zero,
                                                               "newtons_per_count": gain})
        t = 1.7e9 + np.arange(n) / 1000.0
        s.append(counts, sequence=np.arange(n), time_device_s=t, time_host_s=t)
    assert main(["analyze", str(path)]) == 0
    capsys.readouterr()
    script = tmp_path / "read_trial.py"
    script.write_text(_example_script(), encoding="utf-8")
    # plain Python, run outside the project folder: nothing of the station is imported
    run = subprocess.run([sys.executable, "-I", str(script), str(path)], capture_output=True,
                         text=True, cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    values = dict(re.findall(r"^(fz_total_\w+_N|body_weight_N) (\S+)$", out, flags=re.M))
    with open_trial(path) as t:
        ref = force_from_trial(t).fz_n
        bw = t.result("force").attrs["body_weight_n"]
        reps = t.result("force").attrs["reps"]
    assert float(values["fz_total_mean_N"]) == pytest.approx(ref.mean(), abs=1e-5)
    assert float(values["fz_total_max_N"]) == pytest.approx(ref.max(), abs=1e-5)
    assert float(values["body_weight_N"]) == pytest.approx(bw, abs=1e-5)
    assert "stream plate1 kind force unit count samples 5000 rate_hz 1000.000" in out
    assert f"rep 1 cmj flight_time_s {reps[0]['flight_time_s']}" in out

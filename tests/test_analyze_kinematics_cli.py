"""`station analyze --json` gives, per rep, `left` and `right` angle objects from the camera,
using the session's static trial as the zero of the dorsiflexion."""
import json
import subprocess
import sys

import pytest

REQUIRED = ("dorsiflexion_at_contact_deg", "dorsiflexion_max_deg", "fppa_at_contact_deg",
            "fppa_max_deg", "knee_flexion_max_deg", "tracking_quality")


def _station(*args):
    return subprocess.run([sys.executable, "-m", "station.cli", *args], capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_analyze_json_has_left_and_right_per_rep(tmp_path):
    static, cmj = tmp_path / "01_static.h5", tmp_path / "02_cmj.h5"
    assert _station("simulate", "--kind", "static", "--seed", "2", "--duration", "1.5",
                    "--out", str(static)).returncode == 0
    assert _station("simulate", "--kind", "cmj", "--seed", "2", "--out", str(cmj)).returncode == 0
    run = _station("analyze", str(cmj), "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out["kind"] == "cmj" and len(out["reps"]) == 1
    rep = out["reps"][0]
    for side in ("left", "right"):
        leg = rep[side]
        for key in REQUIRED:
            assert key in leg, (side, key)
        assert leg["tracking_quality"] > 0.9
        assert 60 < leg["knee_flexion_max_deg"] < 140        # a CMJ landing bends the knee deeply
    assert out["kinematics"]["static_reference"]["source"] == "static trial"

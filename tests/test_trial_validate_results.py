"""The validator names exactly what is wrong; write_results replaces only /results/<name>."""
from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest

from data.trial import TrialError, open_trial, validate_trial, write_results


def test_valid_trial_has_no_problems(small_trial_file):
    assert validate_trial(small_trial_file) == []


def test_validator_catches_missing_required_dataset(small_trial_file):
    with h5py.File(small_trial_file, "r+") as f:
        del f["raw/plate1/time_host_s"]
    assert validate_trial(small_trial_file) == ["/raw/plate1/time_host_s missing"]


def test_validator_catches_wrong_unit(small_trial_file):
    with h5py.File(small_trial_file, "r+") as f:
        f["raw/depth"].attrs["unit"] = "m"
    assert validate_trial(small_trial_file) == [
        "/raw/depth: unit attr is 'm', schema requires 'mm' for kind depth"]


def test_validator_catches_other_breakage(small_trial_file):
    with h5py.File(small_trial_file, "r+") as f:
        del f["metadata"].attrs["athlete_id"]
        f["raw/plate1"].attrs["device"] = "plate9"
        f.attrs["status"] = "aborted"
        seq = f["raw/plate1/sequence"]
        seq[5] = 2
    problems = validate_trial(small_trial_file)
    assert problems == [
        "/: status is 'aborted' but status_reason is empty",
        "/metadata: attr athlete_id missing",
        "/raw/plate1: device attr 'plate9' has no /devices/plate9",
        "/raw/plate1/sequence: not strictly increasing at sample 5",
    ]


def _raw_digest(path):
    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            h.update(name.encode())
            for k in sorted(obj.attrs):
                h.update(f"{k}={obj.attrs[k]!r}".encode())
            if isinstance(obj, h5py.Dataset):
                h.update(obj[()].tobytes())
        f["raw"].visititems(visit)
    return h.hexdigest()


def test_write_results_replaces_only_its_group(small_trial_file):
    raw_before = _raw_digest(small_trial_file)
    write_results(small_trial_file, "force", arrays={"fz_n": np.arange(5.0), "events": {"takeoff_s": [1.0]}},
                  attrs={"jump_height_m": 0.31}, settings={"threshold_n": 20})
    write_results(small_trial_file, "pose", arrays={"joints_camera_m": np.zeros((3, 2, 3))})
    write_results(small_trial_file, "force", arrays={"peak_n": np.array([1234.5])},
                  attrs={"jump_height_m": 0.29}, settings={"threshold_n": 10})
    assert _raw_digest(small_trial_file) == raw_before
    with open_trial(small_trial_file) as t:
        res = t.results()
        assert list(res) == ["pose", "force"]
        force = res["force"]
        assert list(force.arrays) == ["peak_n"]                 # old arrays are gone
        assert force.attrs["jump_height_m"] == 0.29
        assert force.attrs["settings"] == {"threshold_n": 10}
        assert force.attrs["software_version"] and force.attrs["created_utc"].endswith("+00:00")
        assert res["pose"].arrays["joints_camera_m"].shape == (3, 2, 3)
        assert t.status == "complete"
    assert validate_trial(small_trial_file) == []


def test_write_results_refuses_non_trials(tmp_path):
    with pytest.raises(TrialError, match="no such file"):
        write_results(tmp_path / "nope.h5", "force", arrays={})
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    with pytest.raises(TrialError, match="another kind"):
        write_results(other, "force", arrays={})


def test_results_sync_is_accepted_and_checked(small_trial_file):
    """The time sync measured after capture goes to /results/sync (calibrations cannot be added
    once a trial streams): documented in SCHEMA.md, accepted and checked by the validator."""
    write_results(small_trial_file, "sync",
                  attrs={"offset_s": 0.041, "uncertainty_s": float("nan"),
                         "method": "passive_com_acceleration", "offset_applied_s": 0.040,
                         "correlation": 0.93, "windows": 3, "ok": True},
                  settings={"cutoff_hz": 4.0})
    assert validate_trial(small_trial_file) == []
    with open_trial(small_trial_file) as t:
        sync = t.result("sync").attrs
        assert (sync["offset_s"], sync["method"], sync["ok"]) == (0.041, "passive_com_acceleration", True)
    write_results(small_trial_file, "sync", attrs={"offset_s": "41 ms", "method": "stomp",
                                                    "windows": 2.5})
    assert validate_trial(small_trial_file) == [
        "/results/sync: attr offset_s must be a number, not '41 ms'",
        "/results/sync: attr uncertainty_s missing",
        "/results/sync: attr windows must be an integer, not 2.5",
    ]


def test_schema_doc_lists_every_sync_attribute():
    from pathlib import Path
    from data import schema
    doc = (Path(__file__).resolve().parents[1] / "data" / "SCHEMA.md").read_text()
    section = doc.split("### `/results/sync`", 1)[1].split("\n## ", 1)[0]
    for name, (_typ, required) in schema.RESULT_SPECS["sync"].items():
        row = next((ln for ln in section.splitlines() if ln.startswith(f"| `{name}` |")), None)
        assert row is not None, f"SCHEMA.md does not document /results/sync attr {name}"
        assert ("| yes |" in row) == required, row

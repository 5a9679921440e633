"""Shared pytest fixtures. Keep each fixture small and documented; add new ones below."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real data (../shared/data beside the repository), read in place."""
    path = REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared data folder {path} is absent (real recordings live there)")
    return path


@pytest.fixture
def tmp_trial_path(tmp_path) -> Path:
    """A path for a new trial file that does not exist yet."""
    return tmp_path / "trial.h5"


@pytest.fixture
def small_trial_file(tmp_path) -> Path:
    """A complete, valid trial written by the real TrialWriter: plate1 (1 kHz, 4 int32 cells,
    0.2 s, cell i of sample k = 1000*i + k) and depth (90 fps, 6 frames 48x64 uint16, frame k
    filled with 2000 + k)."""
    import numpy as np
    from data.trial import TrialWriter

    path = tmp_path / "small_trial.h5"
    t0 = 1.7e9
    with TrialWriter(path, metadata={"athlete_id": "T01", "protocol": "test", "step": "cmj",
                                     "trial_kind": "cmj", "settings": {"source": "conftest"}}) as w:
        w.add_device("plate1", kind="force_plate", description={"model": "test plate"},
                     arrays={"cell_positions_plate_m": np.array([[0.26, 0.16], [-0.26, 0.16],
                                                                 [-0.26, -0.16], [0.26, -0.16]])})
        w.add_device("camera", kind="depth_camera", description={"depth_scale_m": 0.001})
        plate = w.create_stream("plate1", kind="force", device="plate1", sample_shape=(4,),
                                dtype="int32", unit="count", frame=None, nominal_rate_hz=1000.0,
                                columns=["cell0", "cell1", "cell2", "cell3"])
        depth = w.create_stream("depth", kind="depth", device="camera", sample_shape=(48, 64),
                                dtype="uint16", unit="mm", frame="camera_depth",
                                nominal_rate_hz=90.0)
        k = np.arange(200)
        plate.append(1000 * np.arange(4)[None, :] + k[:, None], sequence=k,
                     time_device_s=k / 1000.0, time_host_s=t0 + k / 1000.0)
        for i in range(6):
            depth.append(np.full((48, 64), 2000 + i, dtype=np.uint16), sequence=i,
                         time_device_s=i / 90.0, time_host_s=t0 + i / 90.0)
    return path


# Test distribution over the workers of `pytest -n 2 --dist loadfile` (run.sh): each file is one
# unit (its module fixtures are built once, on one worker), and the files that stream the
# virtual devices in real time (the plate on a pty, the RealSense software device, the simulated
# station) are one unit together: one worker runs them one after another, so no two real-time
# captures share the CPU, while the other worker takes the analysis tests - at a lower CPU
# priority (ANALYSIS_NICE), as the station itself captures with nothing else running: at equal
# priority, on a 2-core machine also busy with other work, a full-protocol capture lost one CMJ
# movement window to late host time stamps (its sync uncertainty NaN, the test failed).
REAL_TIME_FILES = {
    "test_camera_check.py", "test_camera_errors.py", "test_camera_recording.py",
    "test_camera_virtual.py", "test_capture_faults.py", "test_capture_full_protocol.py",
    "test_capture_session.py", "test_capture_sync.py", "test_capture_tracked.py",
    "test_event_sync.py", "test_plate_calibration.py", "test_plate_driver.py",
    "test_plate_end_to_end.py", "test_plate_virtual_cmd.py", "test_recorder_camera.py",
    "test_recorder_plate_restart.py",
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class FileOrRealTime(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "real-time captures" if path.rsplit("/", 1)[-1] in REAL_TIME_FILES else path

    return FileOrRealTime(config, log)


ANALYSIS_NICE = 10


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Under xdist and as root (CI): real-time tests at nice 0, the others at ANALYSIS_NICE (set
    before the test's fixtures start their threads, which inherit it; Linux nice is per thread).
    Without root a worker could not return to 0, so nothing is changed."""
    if not hasattr(item.config, "workerinput") or os.geteuid() != 0:
        return
    os.setpriority(os.PRIO_PROCESS, 0, 0 if item.path.name in REAL_TIME_FILES else ANALYSIS_NICE)

"""Shared pytest fixtures. Keep each fixture small and documented; add new ones below."""
from __future__ import annotations

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

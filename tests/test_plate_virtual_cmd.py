"""`station virtual-plate` runs a plate a driver can use, and exits after --seconds."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from drivers.force_plate import ForcePlate
from station.commands import virtual_plate as cmd
from station.errors import UserError


@pytest.mark.slow
def test_virtual_plate_command_serves_a_driver(tmp_path):
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "STATION_RUNTIME_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "station.cli", "virtual-plate", "--rate", "500",
                             "--channels", "8", "--seconds", "4"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(root))
    try:
        port = proc.stdout.readline().strip()
        assert port.startswith("/dev/pts/")
        assert len(list(tmp_path.glob("*.json"))) == 1
        with ForcePlate(port) as plate:
            assert plate.description["channels"] == 8 and plate.description["rate_hz"] == 500.0
            plate.start()
            b = plate.read_until(200, timeout=5)
            fz = b.counts.astype(float)
            assert len(b) >= 200 and np.ptp(fz[:, 0]) > 0
        assert proc.wait(timeout=10) == 0
        assert list(tmp_path.glob("*.json")) == []          # unregistered on exit
    finally:
        proc.kill()


def test_bad_source_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        cmd._load_source(str(tmp_path / "nope.npy"), 4, 75.0)
    f = tmp_path / "f.npy"
    np.save(f, np.zeros((10, 3)))
    with pytest.raises(UserError, match=r"expected \(T, 4\)"):
        cmd._load_source(str(f), 4, 75.0)
    np.save(f, np.ones((10, 4)))
    assert cmd._load_source(str(f), 4, 75.0).shape == (10, 4)

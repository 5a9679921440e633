"""`station simulate`: a whole simulated trial written straight to a file, reproducible by seed."""
import h5py
import numpy as np
import pytest

from analysis.constants import G
from data.trial import open_trial, validate_trial
from station.cli import main


def _contents(path) -> dict:
    """Every dataset and attribute of an HDF5 file, by path."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            for k, v in obj.attrs.items():
                out[f"{name}@{k}"] = v
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f.visititems(visit)
        for k, v in f.attrs.items():
            out[f"@{k}"] = v
    return out


def _equal(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return a.shape == b.shape and bool(np.all(a == b))


def test_same_seed_same_trial_other_seed_differs(tmp_path):
    paths = [tmp_path / n for n in ("a.h5", "b.h5", "c.h5")]
    for p, seed in zip(paths, (5, 5, 6)):
        assert main(["simulate", "--kind", "stand", "--duration", "1.5", "--out", str(p),
                     "--seed", str(seed), "--no-images", "--mass", "70"]) == 0
    a, b, c = (_contents(p) for p in paths)
    assert a.keys() == b.keys()
    assert all(_equal(a[k], b[k]) for k in a), [k for k in a if not _equal(a[k], b[k])]
    assert not _equal(a["raw/plate1/data"], c["raw/plate1/data"])


def test_simulated_trial_is_valid_and_carries_force_and_truth(tmp_path):
    path = tmp_path / "sj.h5"
    assert main(["simulate", "--kind", "sj", "--out", str(path), "--seed", "1", "--no-images",
                 "--plates", "2", "--mass", "80"]) == 0
    assert validate_trial(path) == []
    t = open_trial(path)
    p1, p2 = t.stream("plate1"), t.stream("plate2")
    assert p1.unit == "N" and p1.data.shape[1] == 4
    th = np.asarray(p1.time_host_s)
    assert np.allclose(np.diff(th), 1e-3, atol=1e-6)
    assert np.array_equal(th, np.asarray(p1.time_device_s))
    fz = np.asarray(p1.data).sum(axis=1) + np.asarray(p2.data).sum(axis=1)
    assert fz[: 1000].mean() == pytest.approx(80 * G, rel=0.005)
    truth = t.truth()
    assert truth is not None
    m = truth.arrays["metrics"]
    assert float(np.asarray(m["jump_height_takeoff_velocity_m"])[0]) == pytest.approx(0.30 * 0.92)
    assert truth.attrs["kind"] == "sj"
    kin = truth.arrays["kinematics"]
    assert np.asarray(kin["joints_lab"]).shape[1:] == (18, 3)


def test_bad_options_are_user_errors(tmp_path, capsys):
    path = tmp_path / "x.h5"
    assert main(["simulate", "--kind", "cmj", "--out", str(path), "--mass", "5", "--no-images"]) == 2
    assert "mass" in capsys.readouterr().err
    assert main(["simulate", "--kind", "dj", "--out", str(path), "--reps", "3", "--no-images"]) == 2
    assert not path.exists()


@pytest.mark.slow
def test_images_come_from_the_renderer_at_camera_rates(tmp_path):
    path = tmp_path / "img.h5"
    assert main(["simulate", "--kind", "stand", "--duration", "0.1", "--out", str(path),
                 "--seed", "2"]) == 0
    assert validate_trial(path) == []
    t = open_trial(path)
    d, c = t.stream("depth"), t.stream("color")
    assert d.data.shape == (10, 480, 848) and c.data.shape == (4, 480, 640, 3)
    assert np.allclose(np.diff(np.asarray(d.time_host_s)), 1 / 90, atol=1e-6)
    assert np.allclose(np.diff(np.asarray(c.time_host_s)), 1 / 30, atol=1e-6)
    assert np.count_nonzero(np.asarray(d.data[0])) > 0

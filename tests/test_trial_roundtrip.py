"""Every kind of data goes through TrialWriter and comes back identical through open_trial."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from data.trial import TrialError, TrialWriter, open_trial, validate_trial

T0 = 1_795_000_000.0


def _times(n, rate, offset=0.0):
    k = np.arange(n)
    return k, k / rate + 12.5, T0 + offset + k / rate


@pytest.fixture
def full_trial(tmp_trial_path):
    rng = np.random.default_rng(7)
    expected = {
        "force": rng.integers(-2**31, 2**31 - 1, size=(300, 8), dtype=np.int32),
        "depth": rng.integers(0, 65535, size=(5, 24, 32), dtype=np.uint16),
        "color": rng.integers(0, 255, size=(3, 24, 32, 3), dtype=np.uint8),
        "accel": rng.normal(size=(50, 3)).astype(np.float32),
        "emg": rng.normal(size=(40, 2)),
        "cells_lab": np.arange(8.0).reshape(4, 2),
        "gains": np.array([1.5, 2.5, 3.5, 4.5]),
        "skeleton": rng.normal(size=(5, 3, 3)),
    }
    with TrialWriter(tmp_trial_path, metadata={
            "athlete_id": "A01", "protocol": "full", "step": "cmj", "trial_kind": "cmj",
            "settings": {"filter_hz": 12.0, "names": ["a", "b"]}, "operator": "tech 1"}) as w:
        w.add_device("plate1", kind="force_plate",
                     description={"model": "P4", "serial": "SN-1", "geometry": {"length_x_m": 0.6}},
                     arrays={"cell_positions_plate_m": expected["cells_lab"]})
        w.add_device("camera", kind="depth_camera",
                     description={"model": "D435", "serial": "123", "depth_scale_m": 0.001},
                     arrays={"intrinsics": {"depth_K": np.eye(3), "color_K": 2 * np.eye(3)}})
        w.add_device("daq", kind="analog", description={})
        force = w.create_stream("plate1", kind="force", device="plate1", sample_shape=(8,),
                                dtype="int32", unit="count", frame=None, nominal_rate_hz=1000.0,
                                columns=[f"ch{i}" for i in range(8)])
        depth = w.create_stream("depth", kind="depth", device="camera", sample_shape=(24, 32),
                                dtype="uint16", unit="mm", frame="camera_depth", nominal_rate_hz=90.0)
        color = w.create_stream("color", kind="color", device="camera", sample_shape=(24, 32, 3),
                                dtype="uint8", unit="rgb8", frame="camera_color", nominal_rate_hz=30.0)
        accel = w.create_stream("accel", kind="accel", device="camera", sample_shape=(3,),
                                dtype="float32", unit="m/s^2", frame="camera_imu",
                                nominal_rate_hz=250.0, columns=["x", "y", "z"])
        emg = w.create_stream("emg", kind="signal", device="daq", sample_shape=(2,),
                              dtype="float64", unit="V", nominal_rate_hz=2000.0)
        w.add_calibration("plate1", {"method": "known weights", "valid_until_utc": "2027-01-01"},
                          arrays={"gains_n_per_count": expected["gains"]})
        w.write_truth({"skeleton": {"joints_lab_m": expected["skeleton"]}},
                      {"source": "virtual athlete", "jump_height_m": 0.31})
        w.set_quality("plate1", dropped=3, crc_errors=2, achieved_rate_hz=999.5,
                      clock_fit_residual_ms=0.25)
        # force in blocks of 25 with arrival times; images one frame at a time and in a block
        for i in range(0, 300, 25):
            k, td, th = _times(300, 1000.0)
            force.append(expected["force"][i:i + 25], sequence=k[i:i + 25], time_device_s=td[i:i + 25],
                         time_host_s=th[i:i + 25], time_arrival_s=th[i:i + 25] + 0.004)
        k, td, th = _times(5, 90.0)
        for i in range(5):
            depth.append(expected["depth"][i], sequence=k[i], time_device_s=td[i], time_host_s=th[i])
        k, td, th = _times(3, 30.0)
        color.append(expected["color"], sequence=k, time_device_s=td, time_host_s=th)
        k, td, th = _times(50, 250.0)
        accel.append(expected["accel"], sequence=k, time_device_s=td, time_host_s=th)
        k, td, th = _times(40, 2000.0)
        emg.append(expected["emg"], sequence=k, time_device_s=td, time_host_s=th)
        w.add_fault("plate1", "crc_error", "packet 17: CRC mismatch", time_host_s=T0 + 0.017)
        w.add_fault("depth", "frame_drop", "frames 3..4 missing " + "é" * 400, time_host_s=T0 + 0.03)
        w.set_quality("depth", dropped=1, fps_measured=89.9)   # new key after start: written at close
        w.add_calibration("time_sync", {"offset_s": 0.0021})    # after start: written at close
    return tmp_trial_path, expected


def test_every_kind_round_trips(full_trial):
    path, ex = full_trial
    assert validate_trial(path) == []
    with open_trial(path) as t:
        assert t.status == "complete"
        md = t.metadata
        assert (md["athlete_id"], md["protocol"], md["step"], md["trial_kind"]) == ("A01", "full", "cmj", "cmj")
        assert md["settings"] == {"filter_hz": 12.0, "names": ["a", "b"]}
        assert md["operator"] == "tech 1"
        assert md["start_time_utc"].endswith("+00:00") and md["end_time_utc"] >= md["start_time_utc"]
        assert list(t.streams()) == ["plate1", "depth", "color", "accel", "emg"]

        f = t.stream("plate1")
        assert f.data.dtype == np.int32 and f.unit == "count" and f.frame is None
        np.testing.assert_array_equal(f.read(), ex["force"])
        np.testing.assert_array_equal(f.sequence, np.arange(300))
        np.testing.assert_allclose(f.time_host_s, T0 + np.arange(300) / 1000.0)
        np.testing.assert_allclose(f.time_device_s, 12.5 + np.arange(300) / 1000.0)
        np.testing.assert_allclose(f.time_arrival_s, f.time_host_s + 0.004)
        assert f.columns == [f"ch{i}" for i in range(8)]
        assert f.achieved_rate_hz == pytest.approx(1000.0)

        d = t.stream("depth")
        assert (d.kind, d.unit, d.frame, d.image) == ("depth", "mm", "camera_depth", True)
        assert d.data.dtype == np.uint16 and d.data.chunks == (1, 24, 32)
        np.testing.assert_array_equal(d.data[:], ex["depth"])
        assert np.all(np.isnan(d.time_arrival_s))                   # not recorded
        c = t.stream("color")
        assert c.data.chunks == (1, 24, 32, 3) and c.unit == "rgb8"
        np.testing.assert_array_equal(c.read(), ex["color"])
        a = t.stream("accel")
        assert a.data.dtype == np.float32 and a.frame == "camera_imu"
        np.testing.assert_array_equal(a.read(), ex["accel"])
        np.testing.assert_array_equal(t.stream("emg").read(), ex["emg"])

        dev = t.devices()
        assert dev["plate1"].attrs["geometry"] == {"length_x_m": 0.6}
        assert dev["camera"].attrs["serial"] == "123"
        np.testing.assert_array_equal(dev["plate1"].arrays["cell_positions_plate_m"], ex["cells_lab"])
        np.testing.assert_array_equal(dev["camera"].arrays["intrinsics"]["color_K"], 2 * np.eye(3))

        cal = t.calibrations()
        np.testing.assert_array_equal(cal["plate1"].arrays["gains_n_per_count"], ex["gains"])
        assert cal["plate1"].attrs["method"] == "known weights"
        assert cal["time_sync"].attrs["offset_s"] == 0.0021

        q = t.quality()
        assert q["plate1"] == {"dropped": 3, "crc_errors": 2, "achieved_rate_hz": 999.5,
                               "clock_fit_residual_ms": 0.25}
        assert q["depth"]["dropped"] == 1 and q["depth"]["fps_measured"] == 89.9

        faults = t.faults()
        assert [(x.stream, x.kind) for x in faults] == [("plate1", "crc_error"), ("depth", "frame_drop")]
        assert faults[0].message == "packet 17: CRC mismatch"
        assert faults[0].time_host_s == T0 + 0.017
        assert faults[1].message.startswith("frames 3..4 missing é")   # long UTF-8 cut cleanly

        truth = t.truth()
        assert truth.attrs == {"source": "virtual athlete", "jump_height_m": 0.31}
        np.testing.assert_array_equal(truth.arrays["skeleton"]["joints_lab_m"], ex["skeleton"])
        assert t.results() == {}


def test_images_are_blosc_compressed_and_numeric_chunked_for_appends(full_trial):
    path, _ = full_trial
    with h5py.File(path, "r") as f:
        plist = f["raw/depth/data"].id.get_create_plist()
        assert [plist.get_filter(i)[0] for i in range(plist.get_nfilters())] == [32001]
        assert f["raw/plate1/data"].chunks == (1000, 8)
        assert f["raw/plate1/data"].maxshape == (None, 8)
        assert f.attrs["format"] == "station-trial" and f.attrs["schema_version"] == 1


def test_writer_never_overwrites(small_trial_file):
    before = small_trial_file.read_bytes()
    with pytest.raises(TrialError, match="never overwritten"):
        TrialWriter(small_trial_file, metadata={"athlete_id": "X", "trial_kind": "cmj"})
    assert small_trial_file.read_bytes() == before


def test_exception_inside_writer_marks_trial_aborted(tmp_trial_path):
    with pytest.raises(RuntimeError):
        with TrialWriter(tmp_trial_path, metadata={"athlete_id": "X", "trial_kind": "cmj"}) as w:
            w.add_device("plate1", kind="force_plate")
            s = w.create_stream("plate1", kind="force", device="plate1", sample_shape=(4,),
                                dtype="int32", unit="count", nominal_rate_hz=1000.0)
            s.append(np.zeros((10, 4), np.int32), sequence=np.arange(10),
                     time_device_s=np.arange(10) / 1e3, time_host_s=T0 + np.arange(10) / 1e3)
            raise RuntimeError("camera unplugged")
    with open_trial(tmp_trial_path) as t:
        assert t.status == "aborted"
        assert t.status_reason == "RuntimeError: camera unplugged"
        assert len(t.stream("plate1")) == 10


def test_writer_rejects_bad_declarations(tmp_trial_path):
    with TrialWriter(tmp_trial_path, metadata={"athlete_id": "X", "trial_kind": "cmj"}) as w:
        with pytest.raises(ValueError, match="device 'camera' is not described"):
            w.create_stream("depth", kind="depth", device="camera", sample_shape=(4, 4),
                            dtype="uint16", unit="mm", frame="camera_depth", nominal_rate_hz=90.0)
        w.add_device("camera", kind="depth_camera")
        with pytest.raises(ValueError, match="unit 'm' not allowed for kind 'depth'"):
            w.create_stream("depth", kind="depth", device="camera", sample_shape=(4, 4),
                            dtype="uint16", unit="m", frame="camera_depth", nominal_rate_hz=90.0)
        s = w.create_stream("depth", kind="depth", device="camera", sample_shape=(4, 4),
                            dtype="uint16", unit="mm", frame="camera_depth", nominal_rate_hz=90.0)
        with pytest.raises(ValueError, match="do not match"):
            s.append(np.zeros((2, 4, 5), np.uint16), sequence=[0, 1], time_device_s=[0, 1],
                     time_host_s=[0, 1])
        with pytest.raises(ValueError, match="cannot be stored as uint16"):
            s.append(np.full((1, 4, 4), -1), sequence=[0], time_device_s=[0], time_host_s=[T0])
        s.append(np.ones((4, 4), np.uint16), sequence=0, time_device_s=0.0, time_host_s=T0)
        with pytest.raises(RuntimeError, match="after start"):
            w.create_stream("depth2", kind="depth", device="camera", sample_shape=(4, 4),
                            dtype="uint16", unit="mm", frame="camera_depth", nominal_rate_hz=90.0)
    assert validate_trial(tmp_trial_path) == []

"""Camera <-> plate offset recovered from the movement (cross-correlation) and from a stomp."""
import numpy as np
import pytest

from calibration.time_sync import (fit_session_drift, foot_contact_time, passive_offset,
                                   stomp_offset)

G = 9.81


def _squatting_com(t):
    """A COM height with three squats (smooth, known second derivative)."""
    z = np.full_like(t, 1.0)
    acc = np.zeros_like(t)
    for centre in (2.0, 5.0, 8.0):
        s = 0.35
        u = (t - centre) / s
        bump = np.exp(-0.5 * u ** 2)
        z -= 0.25 * bump
        acc -= 0.25 * bump * (u ** 2 - 1) / s ** 2
    return z, acc


@pytest.mark.parametrize("true_offset_s, camera_fps", [(0.040, 30.0), (-0.023, 90.0)])
def test_passive_offset_recovers_injected_offset(true_offset_s, camera_fps):
    rng = np.random.default_rng(1)
    mass = 72.0
    t_plate = np.arange(0, 10, 1e-3)
    _, acc = _squatting_com(t_plate)
    fz = mass * (G + acc) + rng.normal(0, 3.0, t_plate.size)
    # The camera sees the same movement but stamps it `true_offset_s` too early:
    # t_plate = t_camera + offset.
    t_cam = np.arange(0, 10, 1 / camera_fps)
    z_cam, _ = _squatting_com(t_cam + true_offset_s)
    z_cam += rng.normal(0, 0.003, t_cam.size)
    est = passive_offset(t_plate, fz, mass, t_cam, z_cam)
    assert est.offset_s == pytest.approx(true_offset_s, abs=0.002)
    assert est.correlation > 0.8
    assert est.windows >= 2 and est.uncertainty_s < 0.006


def test_passive_offset_needs_overlap_and_tracking():
    t = np.arange(0, 0.8, 1e-3)
    with pytest.raises(ValueError, match="overlap"):
        passive_offset(t, np.full_like(t, 700.0), 70.0, t[::33], np.ones_like(t[::33]))
    t = np.arange(0, 5, 1e-3)
    with pytest.raises(ValueError, match="tracked"):
        passive_offset(t, np.full_like(t, 700.0), 70.0, t[::33], np.full_like(t[::33], np.nan))


def test_stomp_offset_and_foot_contact():
    t_cam = np.arange(0, 1, 1 / 90)
    true_contact = 0.5037
    foot_z = np.maximum(0.02 + 0.5 * (true_contact - t_cam), 0.0)
    contact = foot_contact_time(t_cam, foot_z, contact_height_m=0.02)
    assert contact == pytest.approx(true_contact, abs=1e-3)
    est = stomp_offset(0.5437, contact, 1 / 90)
    assert est.offset_s == pytest.approx(0.04, abs=1e-3)
    with pytest.raises(ValueError, match="never comes down"):
        foot_contact_time(t_cam, np.full_like(t_cam, 0.3))


def test_session_drift_fit_recovers_50_ppm_over_two_minutes():
    rng = np.random.default_rng(3)
    t = np.linspace(0, 120, 9)
    offsets = 0.040 + 50e-6 * t + rng.normal(0, 3e-4, t.size)
    fit = fit_session_drift(t, offsets)
    assert fit.drift_ppm == pytest.approx(50, abs=15)
    assert np.max(np.abs(fit.offset_at(t) - (0.040 + 50e-6 * t))) < 0.002
    single = fit_session_drift([10.0], [0.04])
    assert single.drift_ppm == 0.0 and single.offset_at(100.0) == pytest.approx(0.04)

"""The virtual athlete's stomp (simulate_motion(..., sync_event="stomp"), drivers/athlete/stomp.py):
the force transient and the foot's motion agree (momentum, zero lag), the loads add up per foot
and per cell on one and two plates, the foot is visible in depth, truth holds the contact, the
squat-rep trigger does not count it, and unknown combinations are refused."""
import numpy as np
import pytest

from analysis.constants import G
from analysis.joints import JOINT_INDEX as JI
from drivers.athlete.motion import default_plates, simulate_motion
from drivers.athlete.stomp import PULSE_S
from drivers.athlete.traits import Traits
from drivers.athlete.truth import truth_of


@pytest.fixture(scope="module")
def squat():
    return simulate_motion("squat", Traits(mass_kg=80.0), seed=7, reps=1, sync_event="stomp")


def _free(m):
    return m.info["stomp"]["stomping_foot"]


def test_stomp_is_in_the_truth_and_the_phases(squat):
    tc = squat.events["stomp_contact"][0]
    arrays, attrs = truth_of(squat)
    assert arrays["events"]["stomp_contact"][0] == pytest.approx(tc)
    names = [p[0] for p in attrs["phases"]]
    assert names[:4] == ["quiet", "stomp_weight_shift", "stomp_lift", "stomp_drive"]
    assert 0.9 < tc < 4.0 and squat.info["stomp"]["duration_s"] < tc + 1.5


def test_foot_lift_and_speed_at_contact(squat):
    tc = squat.events["stomp_contact"][0]
    ankle = squat.joints_lab[:, JI[f"{_free(squat)}_ankle"], 2]
    rest = ankle[0]
    assert 0.08 <= ankle.max() - rest <= 0.12 + 1e-9
    dt = 1e-3
    z0, z1 = np.interp([tc - 2 * dt, tc - dt], squat.t_s, ankle)
    assert 1.0 <= (z0 - z1) / dt <= 1.5
    # the other foot never moves
    other = "left" if _free(squat) == "right" else "right"
    assert np.ptp(squat.joints_lab[squat.t_s < tc + 1.0, JI[f"{other}_toe"]], axis=0).max() < 1e-9


def test_force_transient_matches_the_leg_momentum_with_zero_lag(squat):
    """Impulse of Fz - m g over the impact = the momentum the body loses there (the posed
    segments' COM velocity, independent of the force), the rise starts at the contact (no lag)
    and peaks inside the impact pulse, at a plausible height."""
    m = squat
    tc = m.events["stomp_contact"][0]
    mass = m.body.mass_kg
    t = m.t_s
    z_com = m.com_lab[:, 2]
    win = (t >= tc - 0.002) & (t <= tc + PULSE_S + 0.002)
    impulse = np.trapz(m.fz_n[win] - mass * G, t[win])
    i0, i1 = np.flatnonzero(win)[[0, -1]]
    v0 = (z_com[i0 + 1] - z_com[i0 - 1]) / (t[i0 + 1] - t[i0 - 1])
    v1 = (z_com[i1 + 1] - z_com[i1 - 1]) / (t[i1 + 1] - t[i1 - 1])
    assert impulse == pytest.approx(mass * (v1 - v0), rel=0.02)
    # the leg's momentum: segments' mass x vertical velocity just before the contact
    speed = m.info["stomp"]["speed_at_contact_m_s"]
    assert 2.0 * speed < impulse < 10.0 * speed      # effective mass of a leg: a few kg
    pre = m.fz_n[(t > tc - 0.01) & (t < tc)].max()
    rise = m.fz_n[win] - pre
    onset = t[win][np.argmax(rise > 0.05 * rise.max())]
    assert tc <= onset <= tc + 0.003
    peak_t = t[win][np.argmax(m.fz_n[win])]
    assert abs(peak_t - (tc + PULSE_S / 2)) <= 0.001
    bw = mass * G
    assert 0.5 * bw < m.fz_n[win].max() - bw < 3.0 * bw


@pytest.mark.parametrize("kind, side, plates", [("squat", "left", 1), ("squat", "left", 2),
                                                ("single-leg-squat", "left", 1),
                                                ("single-leg-squat", "right", 2)])
def test_feet_and_cells_add_up(kind, side, plates):
    m = simulate_motion(kind, Traits(), seed=3, reps=1, side=side, sync_event="stomp",
                        plates=default_plates(plates))
    tc = m.events["stomp_contact"][0]
    free = 0 if _free(m) == "left" else 1
    assert np.allclose(m.foot_fz_n.sum(axis=1), m.fz_n, atol=1e-6)
    assert m.foot_fz_n.min() >= 0.0
    st = m.info["stomp"]
    air = (m.t_s > tc - 0.15) & (m.t_s < tc)
    assert np.all(m.foot_fz_n[air, free] == 0.0)              # the lifted foot carries nothing
    hit = (m.t_s >= tc) & (m.t_s < tc + PULSE_S)
    assert m.foot_fz_n[hit, free].max() > 300.0                # the impact goes through it
    t = np.arange(0.0, st["duration_s"] + 0.5, 0.001)
    cells = m.cell_loads_at(t)
    assert np.allclose(sum(c.sum(axis=1) for c in cells), m.fz_at(t), atol=1e-6)
    if plates == 2:                                            # plate1 left, plate2 right
        p_free = cells[free].sum(axis=1)
        assert np.all(p_free[(t > tc - 0.15) & (t < tc - 0.001)] < 1e-6)
        assert p_free[(t >= tc) & (t < tc + PULSE_S)].max() > 300.0


def test_motion_is_continuous_into_the_movement():
    for kind, side in (("squat", "left"), ("single-leg-squat", "right")):
        m = simulate_motion(kind, Traits(), seed=4, reps=1, side=side, sync_event="stomp")
        k = int(np.searchsorted(m.t_s, m.info["stomp"]["duration_s"]))
        step = np.abs(np.diff(m.joints_lab[k - 3:k + 3], axis=0)).max()
        assert step < 1e-4                                      # < 0.1 mm per 0.5 ms sample
        assert np.abs(np.diff(m.fz_n[k - 3:k + 3])).max() < 1.0


def test_the_foot_is_seen_lifted_in_depth(squat):
    from drivers.athlete.render import Renderer
    from drivers.athlete.scene import Scene
    from drivers.camera_model import D435_DEPTH_848x480 as intr, standard_camera_pose
    m = squat
    T = standard_camera_pose("front")
    r = Renderer(T, scene=Scene.from_motion(m), shape=m.body, seed=1)
    t_up = m.phases[[p[0] for p in m.phases].index("stomp_drive")][1] - 0.05
    x_free = m.joints_lab[0, JI[f"{_free(m)}_toe"], 0]
    low = []
    for tt in (0.5, t_up):
        z = r.depth(m.joints_at(np.array([tt]))[0], noisy=False).astype(float) * 1e-3
        v, u = np.nonzero(z > 0)
        zz = z[v, u]
        P = np.stack([(u - intr.ppx) / intr.fx * zz, (v - intr.ppy) / intr.fy * zz, zz], 1)
        P = P @ T[:3, :3].T + T[:3, 3]
        sel = ((np.abs(P[:, 0] - x_free) < 0.05) & (np.abs(P[:, 1]) < 0.2)
               & (P[:, 2] > 0.005) & (P[:, 2] < 0.3))
        low.append(np.percentile(P[sel, 2], 5))
    lift = m.info["stomp"]["lift_m"]
    assert low[1] - low[0] == pytest.approx(lift, abs=0.02)


def test_the_stomp_is_no_squat_rep():
    from station.triggers import RepsDone
    m = simulate_motion("squat", Traits(), seed=5, reps=2, sync_event="stomp")
    t = np.arange(0.0, m.duration_s, 0.001)
    fz = m.fz_at(t)
    fired = {}
    for wait in (False, True):
        rd = RepsDone(2, m.body.mass_kg * G, after_stomp=wait)
        for i in range(0, len(t), 40):
            if rd.update(t[i:i + 40], fz[i:i + 40]) is not None:
                break
        fired[wait] = rd.fired_at
    last_bottom = m.events["bottom"][-1]
    assert fired[False] < last_bottom            # counting the stomp stops the trial too early
    assert fired[True] > last_bottom


def test_unknown_or_impossible_sync_events_are_refused():
    with pytest.raises(ValueError, match="sync_event must be"):
        simulate_motion("squat", Traits(), reps=1, sync_event="clap")
    with pytest.raises(ValueError, match="box"):
        simulate_motion("dj", Traits(), sync_event="stomp")
    with pytest.raises(ValueError, match="no landing"):
        simulate_motion("squat", Traits(), reps=1, sync_event="landing")
    a = simulate_motion("cmj", Traits(), seed=2)
    b = simulate_motion("cmj", Traits(), seed=2, sync_event="landing")
    assert np.array_equal(a.fz_n, b.fz_n) and np.array_equal(a.joints_lab, b.joints_lab)

"""The virtual athlete's physics agrees with itself: impulse-momentum, ballistic flight, body
weight, landing peaks, load-cell sums, and the restricted-ankle compensation."""
import numpy as np
import pytest

from analysis import angles
from analysis.constants import G
from drivers.athlete.motion import default_plates, simulate_motion
from drivers.athlete.traits import Traits
from drivers.athlete.truth import jump_metrics, truth_of
from drivers.plate_geometry import cells_to_force_and_cop

PLATE_HZ = 1000.0


def _plate_force(motion, plates_hz=PLATE_HZ):
    t = np.arange(int(motion.duration_s * plates_hz) + 1) / plates_hz
    cells = motion.cell_loads_at(t)
    return t, sum(c.sum(axis=1) for c in cells), cells


@pytest.fixture(scope="module")
def cmj():
    return simulate_motion("cmj", Traits(jump_height_m=0.35, mass_kg=82.0), seed=4)


@pytest.fixture(scope="module")
def dj():
    return simulate_motion("dj", Traits(), seed=2)


@pytest.mark.parametrize("name", ["cmj", "dj"])
def test_impulse_momentum_gives_takeoff_velocity(name, request):
    """Integrate a = (F - BW)/m from rest (quiet standing / on the box: v = 0) to the takeoff
    found on the force itself (first sample below 20 N after the last contact)."""
    m = request.getfixturevalue(name)
    t, fz, _ = _plate_force(m)
    dt = 1.0 / PLATE_HZ
    quiet = t < 1.0
    if name == "cmj":
        bw = fz[quiet].mean()                      # measured on the force, as the analysis will
        start = 0
    else:
        bw = m.body.mass_kg * G                    # the plate never sees the athlete on the box
        start = int(np.argmax(fz > 20.0))          # first contact; v there from the drop
    mass = bw / G
    loaded = fz > 20.0
    first_off = start + int(np.argmax(~loaded[start:] & (np.arange(t.size)[start:] > start + 50)))
    a = (fz[start:first_off] - bw) / mass
    v = np.sum(0.5 * (a[1:] + a[:-1])) * dt
    if name == "dj":
        v += m.com_velocity_z[np.searchsorted(m.t_s, t[start])]   # landing speed from the drop
    v0 = jump_metrics(m)["takeoff_velocity_m_s"][0]
    assert v == pytest.approx(v0, rel=0.01)
    assert abs(t[first_off] - m.events["takeoff"][0]) <= 1.5 / PLATE_HZ


@pytest.mark.parametrize("name", ["cmj", "dj"])
def test_flight_is_ballistic(name, request):
    m = request.getfixturevalue(name)
    met = jump_metrics(m)
    t_to, t_ld = m.events["takeoff"][0], m.events["landing"][0]
    fl = (m.t_s > t_to) & (m.t_s < t_ld)
    assert np.all(m.fz_n[fl] == 0.0)
    z = m.com_lab[fl, 2]                               # COM of the posed segments
    coef = np.polyfit(m.t_s[fl] - t_to, z, 2)
    assert 2 * coef[0] == pytest.approx(-G, rel=1e-6)
    assert coef[1] == pytest.approx(met["takeoff_velocity_m_s"][0], rel=1e-5)
    # apex rise above takeoff = v0^2 / (2 g)
    z_to = m.com_lab[np.searchsorted(m.t_s, t_to) - 1, 2]
    assert z.max() - z_to == pytest.approx(met["jump_height_takeoff_velocity_m"][0], abs=2e-3)
    # flight time seen on the force (samples at 0 N) and the ballistic law g t^2 / 8
    t, fz, _ = _plate_force(m, 2000.0)
    zero = (fz == 0.0) & (t > t_to - 0.01) & (t < t_ld + 0.01)
    assert (zero.sum() / 2000.0) == pytest.approx(met["flight_time_s"][0], abs=1e-3)
    assert met["jump_height_flight_time_m"][0] == pytest.approx(G * met["flight_time_s"][0] ** 2 / 8)


def test_cmj_hits_the_traits_jump_height(cmj):
    assert jump_metrics(cmj)["jump_height_takeoff_velocity_m"][0] == pytest.approx(0.35, rel=1e-9)


def test_posed_segments_follow_the_designed_com(cmj, dj):
    for m in (cmj, dj):
        assert np.abs(m.com_lab[:, 2] - m.com_design_lab[:, 2]).max() < 1e-6
        j = m.joints_lab
        for a, b in (("left_hip", "left_knee"), ("right_knee", "right_ankle")):
            from analysis.joints import JOINT_INDEX as JI
            L = np.linalg.norm(j[:, JI[a]] - j[:, JI[b]], axis=1)
            assert np.ptp(L) < 1e-9


def test_body_weight_from_quiet_standing():
    tr = Traits(mass_kg=68.0, height_m=1.68, sex="female")
    m = simulate_motion("stand", tr, seed=7, duration_s=4.0)
    t, fz, _ = _plate_force(m)
    window = (t > 1.0) & (t < 3.0)
    assert fz[window].mean() == pytest.approx(68.0 * G, rel=0.005)
    assert fz[window].std() > 0.1          # the body is never perfectly still


def test_drop_landing_peak_is_2_to_5_bw_and_follows_stiffness():
    peaks = []
    for stiffness in (0.0, 1.0):
        m = simulate_motion("dj", Traits(landing_stiffness=stiffness), seed=1)
        t, fz, _ = _plate_force(m)
        contact = m.events["contact"][0]
        impact = (t >= contact) & (t <= contact + 0.15)        # the first 150 ms of the landing
        peaks.append(fz[impact].max() / (m.body.mass_kg * G))
        assert 2.0 <= peaks[-1] <= 5.0
        assert fz[impact].argmax() < impact.sum() - 1          # a peak, not a still-rising edge
    assert peaks[1] > peaks[0] + 0.5                           # stiffer landing, higher peak


def test_cells_sum_to_fz_one_and_two_plates(cmj):
    t, fz, cells = _plate_force(cmj)
    assert np.allclose(fz, cmj.fz_at(t), atol=1e-9)
    geom = cmj.plates[0]
    f, cop = cells_to_force_and_cop(cells[0], geom)
    loaded = f > 100
    assert np.all(np.abs(cop[loaded, 0]) < geom.length_x_m / 2)
    assert np.all(np.abs(cop[loaded, 1]) < geom.width_y_m / 2)
    # two plates: left foot on plate1, right on plate2; each plate's cells sum to its foot
    two = simulate_motion("squat", Traits(asymmetry=0.2), seed=1, reps=1, plates=default_plates(2))
    t2 = np.arange(0, two.duration_s, 0.001)
    c1, c2 = two.cell_loads_at(t2)
    feet, _ = two.foot_loads_at(t2)
    assert np.allclose(c1.sum(axis=1), feet[:, 0]) and np.allclose(c2.sum(axis=1), feet[:, 1])
    assert np.allclose(c1.sum(axis=1) + c2.sum(axis=1), two.fz_at(t2))
    share_r = c2.sum(axis=1).mean() / (c1.sum(axis=1) + c2.sum(axis=1)).mean()
    assert share_r == pytest.approx(0.6, abs=0.02)        # asymmetry 0.2 = (R-L)/(R+L)
    for geom, c in zip(two.plates, (c1, c2)):
        f, cop = cells_to_force_and_cop(c, geom)
        assert np.all(np.abs(cop[f > 100]) < [geom.length_x_m / 2, geom.width_y_m / 2])


def test_single_leg_squat_loads_only_the_stance_plate():
    m = simulate_motion("single-leg-squat", Traits(), seed=1, reps=1, side="right",
                        plates=default_plates(2))
    t = np.arange(0, m.duration_s, 0.001)
    left, right = m.cell_loads_at(t)
    assert np.all(left == 0.0)
    assert right.sum(axis=1).mean() == pytest.approx(m.body.mass_kg * G, rel=0.01)


def test_restricted_ankle_less_dorsiflexion_more_valgus():
    out = {}
    for ankle in ("normal", "restricted"):
        m = simulate_motion("squat", Traits(ankle=ankle), seed=1, reps=1)
        arrays, _ = truth_of(m)
        k = arrays["kinematics"]
        out[ankle] = {key: max(k[f"{key}_left_rad"].max(), k[f"{key}_right_rad"].max())
                      for key in ("ankle_dorsiflexion", "knee_fppa", "knee_flexion")}
    n, r = out["normal"], out["restricted"]
    assert r["knee_flexion"] == pytest.approx(n["knee_flexion"], abs=np.radians(0.5))  # same depth
    assert r["ankle_dorsiflexion"] < n["ankle_dorsiflexion"] - np.radians(3)
    assert r["knee_fppa"] > n["knee_fppa"] + np.radians(2)
    assert np.degrees(n["knee_fppa"]) == pytest.approx(Traits().valgus_left_deg, abs=1.0)


def test_turned_athlete_gives_the_same_truth_angles():
    """The frontal/sagittal planes follow the athlete's heading: the same squat, turned 35 deg
    on the plate, gives the same angles (sway is in lab axes, hence the small tolerance)."""
    peaks = []
    for yaw in (0.0, np.radians(35.0)):
        m = simulate_motion("single-leg-squat", Traits(valgus_left_deg=9.0), seed=3, reps=1,
                            yaw_rad=yaw)
        j = m.joints_lab[::20]
        peaks.append([np.degrees(f(j, "left").max()) for f in
                      (angles.knee_fppa, angles.knee_flexion, angles.shank_inclination)])
    assert np.allclose(peaks[0], peaks[1], atol=0.05)
    assert peaks[0][0] == pytest.approx(9.0, abs=0.5)

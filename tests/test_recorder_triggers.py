"""Start/stop triggers on force traces from the virtual athlete's motion model (real physics:
drivers/athlete/motion.py), fed in blocks as the live force arrives."""
import numpy as np
import pytest

from analysis.constants import G
from drivers.athlete.motion import simulate_motion
from station import triggers


def _feed(trig, t, f, block=50):
    for i in range(0, len(t), block):
        r = trig.update(t[i:i + block], f[i:i + block])
        if r is not None:
            return r
    return None


def _trace(kind, lead_empty=0.0, **kw):
    m = simulate_motion(kind, seed=3, **kw)
    t = np.arange(0, m.duration_s, 0.001)
    f = m.fz_at(t)
    if lead_empty:
        t = np.concatenate([np.arange(0, lead_empty, 0.001), t + lead_empty])
        f = np.concatenate([np.zeros(int(round(lead_empty * 1000))), f])
    return m, t + 1.7e9, f


def test_step_on_fires_when_the_athlete_gets_on():
    m, t, f = _trace("stand", lead_empty=1.0)
    fired = _feed(triggers.StepOn(), t, f)
    assert fired == pytest.approx(1.7e9 + 1.0, abs=0.002)
    # with a known body weight the threshold is 20 % of it
    assert triggers.StepOn(800.0).threshold_n == pytest.approx(160.0)


def test_still_needs_a_quiet_second_on_the_plate():
    m, t, f = _trace("stand", lead_empty=0.5)
    fired = _feed(triggers.Still(), t, f)
    assert fired is not None and fired >= t[0] + 1.5 - 0.01
    # an empty plate is never "still"
    assert _feed(triggers.Still(), t[:400], np.zeros(400)) is None


def test_stable_after_landing_waits_for_the_landing_and_one_stable_second():
    m, t, f = _trace("cmj", reps=1)
    bw = m.traits.mass_kg * G
    trig = triggers.StableAfterLanding(bw)
    fired = _feed(trig, t, f)
    landing = 1.7e9 + m.events["landing"][0]
    assert trig.flights == 1
    assert fired is not None and fired > landing + 1.0


def test_stable_after_landing_of_a_drop_jump_waits_for_the_second_landing():
    m, t, f = _trace("dj")
    fired = _feed(triggers.StableAfterLanding(m.traits.mass_kg * G), t, f)
    assert fired is not None and fired > 1.7e9 + m.events["landing"][-1] + 1.0


def test_reps_done_counts_squat_reps_on_the_live_force():
    for kind in ("squat", "single-leg-squat"):
        m, t, f = _trace(kind, reps=3)
        trig = triggers.RepsDone(3, m.traits.mass_kg * G)
        fired = _feed(trig, t, f)
        assert trig.count == 3, kind
        assert fired is not None and fired > 1.7e9 + m.events["bottom"][-1]
    # asking for more reps than were done: never fires
    m, t, f = _trace("squat", reps=2)
    trig = triggers.RepsDone(3, m.traits.mass_kg * G)
    assert _feed(trig, t, f) is None and trig.count == 2


def test_duration_timeout_and_immediate():
    t = 1.7e9 + np.arange(0, 5, 0.001)
    f = np.full(len(t), 700.0)
    assert _feed(triggers.Duration(t[0], 2.0), t, f) == pytest.approx(t[0] + 2.0)
    assert _feed(triggers.Timeout(t[0], 10.0), t, f) is None
    assert _feed(triggers.Immediate(), t, f) == t[0]

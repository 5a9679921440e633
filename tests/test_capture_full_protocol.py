"""The full protocol of STATION.md (station/protocols/full.yaml: weigh, static, squats, single-leg
squats left and right, CMJ, drop jump), one trial per step, as a simulated session through the
real chain: virtual plate on a pty + virtual RealSense (depth at its real 90 fps; color off to
keep the test short: no step here needs it without the skeleton) -> recorder -> trial files ->
force analysis -> time sync -> verdicts -> session.json. Every trial must come out with the
expected content and an ok verdict, and the time sync of every camera trial must be the
protocol's: a stomp before the squats, the box landing of the drop jump, the movement itself
(passive) for the CMJ - each passing the station's 5 ms 'synced' bar, the session's clock
line within 3.5 ms at every trial and 2.5 ms RMS of the offset that aligns the camera with the
recorded plate samples (the injected camera offset plus the recorded plate times' lateness). (The 2 ms
acceptance over a 2-minute session is test_capture_sync.py's, on CMJs.)"""
import numpy as np
import pytest

from drivers.athlete.traits import Traits
from station.capture_session import SYNC_OK_S, CaptureOptions, CaptureSession
from station.protocol import load_protocol
from station.session import Athlete, load_session
from station.simulated_station import SimulatedStation


@pytest.mark.slow
def test_full_protocol_session_gives_every_trial_with_verdicts_and_sync(tmp_path):
    said = []
    # squats at a brisker tempo than the virtual athlete's default (3 s a rep + 1.5 s rest) to
    # keep the test short: 5 reps x 2.1 s per squat step
    traits = Traits(tempo_s=1.6, rest_s=0.5)
    with SimulatedStation(traits, seed=11, depth_fps=90, color_fps=None, say=said.append) as st:
        cs = CaptureSession(st, load_protocol("full"), Athlete("FULL", height_m=1.75), tmp_path,
                            None, CaptureOptions(trials=1, skip_rest=True), out=said.append)
        session = cs.run()
    data = load_session(session.folder)
    steps = [t["step"] for t in data["trials"]]
    assert steps == ["weigh", "static", "squat", "single-leg-squat-left",
                     "single-leg-squat-right", "cmj", "dj"]
    bad = [(t["step"], t["verdict"]) for t in data["trials"] if not t["verdict"]["ok"]]
    assert not bad, bad
    by_step = {t["step"]: t for t in data["trials"]}
    assert data["athlete"]["mass_kg"] == pytest.approx(75.0, abs=0.5)
    for s in ("squat", "single-leg-squat-left", "single-leg-squat-right"):
        assert by_step[s]["key_numbers"]["reps"] == 5, by_step[s]["key_numbers"]
    assert by_step["cmj"]["key_numbers"]["jump_height_flight_time_m"] == pytest.approx(0.30, abs=0.03)
    assert by_step["dj"]["key_numbers"]["contact_time_s"] > 0.15
    methods = {s: by_step[s]["sync"]["method"] for s in by_step if by_step[s]["sync"].get("method")}
    assert methods == {"squat": "event:stomp", "single-leg-squat-left": "event:stomp",
                       "single-leg-squat-right": "event:stomp",
                       "cmj": "passive_com_acceleration", "dj": "event:landing"}, methods
    rows = []
    for o in cs.outcomes:
        y = o.sync
        if y.get("offset_s") is None:
            continue
        rows.append((o.record.step, y["truth_offset_s"] * 1e3, y["truth_plate_host_error_s"] * 1e3,
                     y["truth_alignment_offset_s"] * 1e3, y["offset_s"] * 1e3,
                     y["offset_applied_s"] * 1e3, y["uncertainty_s"] * 1e3))
    print("\nstep | injected ms | plate host error ms | target ms | own sync ms | session fit ms "
          "| 1-sigma ms")
    for r in rows:
        print(f"{r[0]:24s} " + " | ".join(f"{v:8.2f}" for v in r[1:]))
    # The target is the offset that puts each camera frame on the recorded plate samples of the
    # same instant: the injected camera error plus how late the recorded plate host times are
    # (the driver's clock mapping keeps a fraction of a millisecond of the pty's latency; the
    # kinematics are aligned to the recorded plate times). That lateness stays small.
    for step, injected, plate_err, target, own, applied, unc in rows:
        assert -1.0 <= plate_err <= 3.0, rows
    # each trial's own sync passed the station's 'synced' bar (1 sigma < SYNC_OK_S = 5 ms); its
    # error is printed, not asserted: with this seed the single-leg-squat-right stomp reads
    # ~3.6 ms early on the camera side in every run (one noise draw: the frames show the same
    # instants with the same noise each run) against a stated sigma of ~1.6 ms
    # (docs/EVENT_SYNC.md). The session line brings the trials together.
    for step, injected, plate_err, target, own, applied, unc in rows:
        assert unc < SYNC_OK_S * 1e3, rows
        assert abs(applied - target) <= 3.5, rows
    line_err = np.array([r[5] - r[3] for r in rows])
    assert np.sqrt(np.mean(line_err ** 2)) <= 2.5, rows
    assert data["clock_fit"]["trials_event"] == 4 and data["clock_fit"]["trials_passive"] == 1
    assert data["start_checks"]["plate"] and data["start_checks"]["camera"]

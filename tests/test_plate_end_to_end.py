"""Issue 4, serial-path acceptance: virtual athlete -> virtual plate (a real pty) -> driver ->
recorder -> trial file -> `station analyze TRIAL --json` reproduces the athlete's truth; faults
injected on the wire are counted exactly and recorded; unplugging aborts the trial cleanly with
everything before it kept; a wrong port or a device that is not a plate is a one-line error.

No mocks: VirtualPlate serves a real pseudo-terminal, ForcePlate reads it with pyserial, the
trials are real HDF5 files written by station.recorder.Recorder, and the analysis and inspection
run through the real CLI (python -m station.cli) in a subprocess. How the calibration is
obtained (gains fitted through the driver with known masses, a fresh zero from an unloaded
window) is in tests/plate_e2e_helpers.py.

Tolerances are those of issue 4 (body weight 0.5 %, flight time 2 ms, jump height 5 mm,
contact time 5 ms). Run with -s to see the measured errors.
"""
from __future__ import annotations

import json
import re
import signal
import subprocess
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import plate_e2e_helpers as h
from analysis.constants import G
from data.trial import open_trial
from drivers.athlete import Traits, default_plates, simulate_motion, truth_of
from drivers.force_plate import ForcePlate
from drivers.virtual_plate import VirtualPlate, stand_source

BW_TOL = 0.005          # fraction of body weight
FLIGHT_TOL_S = 0.002
HEIGHT_TOL_M = 0.005
CONTACT_TOL_S = 0.005

# (movement, plates): how the plates are wired. Two plates: plate1 under the left foot, plate2
# under the right (CONTRACTS.md); the CMJ uses two 4-channel devices, the drop jump one
# 8-channel device carrying both plates. "lost": packets dropped on the wire, (event of the
# truth, seconds after it, how many), placed by the plate's clock once the recorder started it.
CASES = {
    "cmj-1plate": {"kind": "cmj", "plates": 1, "devices": "one 4-channel device", "seed": 3},
    # 30 packets lost on the wire in mid-flight, 0.15 s after takeoff (recorded as a gap, never
    # filled): the flight time is still landing - takeoff on the device's clock
    "cmj-1plate-gap": {"kind": "cmj", "plates": 1, "devices": "one 4-channel device", "seed": 8,
                       "lost": {"plate1": ("takeoff", 0.15, 30)}, "lost_during": "flight"},
    "cmj-2plates": {"kind": "cmj", "plates": 2, "devices": "two 4-channel devices", "seed": 4},
    # the same with 25 packets of plate2 lost on the wire while the athlete stands still, 0.4 s
    # before the countermovement: the trial records the gap (never filled) and the analysis
    # must still put plate2's samples at their own times
    "cmj-2plates-gap": {"kind": "cmj", "plates": 2, "devices": "two 4-channel devices", "seed": 7,
                        "lost": {"plate2": ("movement_onset", -0.4, 25)}, "lost_during": "quiet"},
    "dj-1plate": {"kind": "dj", "plates": 1, "devices": "one 4-channel device", "seed": 5},
    "dj-2plates": {"kind": "dj", "plates": 2, "devices": "one 8-channel device", "seed": 6},
}
TAU0_S = {"cmj": 1.0, "dj": 1.5}     # motion time the trial starts from (1 s of quiet / box left)
ANALYSIS_KIND = {"cmj": "cmj", "dj": "drop_jump"}


def _run_case(name: str, spec: dict, tmp) -> dict:
    """Simulate, fit the gains through the driver, record in real time: one case, own thread."""
    n = spec["plates"]
    # two plates: the right foot carries more (asymmetry 0.1) so that left/right is testable
    traits = Traits(asymmetry=0.1 if n == 2 else 0.0)
    motion = simulate_motion(spec["kind"], traits, seed=spec["seed"], plates=default_plates(n))
    arrays, attrs = truth_of(motion)
    if spec["devices"] == "two 4-channel devices":
        # the second one's uint32 sequence counter wraps 2.5 s into the trial
        vps = [h.make_plate(4, seed=10 * spec["seed"] + k, geometry=motion.plates[k], realtime=False,
                            start_sequence=0 if k == 0 else 2 ** 32 - 2500) for k in range(2)]
        wiring = [(vps[0], [0]), (vps[1], [1])]
    elif spec["devices"] == "one 8-channel device":
        vps = [h.make_plate(8, seed=10 * spec["seed"], geometry=list(motion.plates), realtime=False)]
        wiring = [(vps[0], [0, 1])]
    else:
        vps = [h.make_plate(4, seed=10 * spec["seed"], geometry=motion.plates[0], realtime=False)]
        wiring = [(vps[0], [0])]
    try:
        gains, gain_info = [], []
        for vp in vps:
            cal, info = h.fit_gains_through_driver(vp)
            gains.append(cal)
            gain_info.append(info)
        devices = [(vp, idx, cal) for (vp, idx), cal in zip(wiring, gains)]
        path = tmp / f"{name}.h5"
        lost = spec.get("lost", {})
        stream_vp = {f"plate{k + 1}": vp for k, (vp, _) in enumerate(wiring)}

        def on_armed(scene):              # the plates have just been started
            for stream, (event, after_s, count) in lost.items():
                vp = stream_vp[stream]
                at = scene.t_motion + motion.events[event][0] + after_s - scene.tau0
                first = h.sequence_at(vp, at)
                vp.drop_packets(range(first, first + count))
        run = h.record_athlete_trial(path, motion, devices, tau0=TAU0_S[spec["kind"]],
                                     trial_kind=ANALYSIS_KIND[spec["kind"]], on_armed=on_armed)
        # the true host time of a device time, per plate stream (the plates' clock models)
        clock_of = {f"plate{k + 1}": (vps[k] if len(vps) == n else vps[0]) for k in range(n)}
    finally:
        for vp in vps:
            vp.close()
    return {"name": name, "spec": spec, "motion": motion, "truth": arrays, "truth_attrs": attrs,
            "run": run, "gain_info": gain_info, "clock_of": clock_of}


@pytest.fixture(scope="module")
def athlete_trials(tmp_path_factory):
    """Every case of CASES recorded two at a time (each in real time, in its own thread), then
    all analysed by ONE call of the real CLI, `station analyze T1 T2 ... --json` (one
    interpreter start: importing scipy alone takes seconds on this machine)."""
    tmp = tmp_path_factory.mktemp("plate_e2e")
    # two at a time: six real-time plates, drivers and recorders in one interpreter (one GIL)
    # delayed their threads enough to miss injected faults and the quiet stance (measured)
    with ThreadPoolExecutor(max_workers=2) as ex:
        futures = {name: ex.submit(_run_case, name, spec, tmp) for name, spec in CASES.items()}
        cases = {name: f.result() for name, f in futures.items()}
    paths = [str(c["run"].path) for c in cases.values()]
    r = h.station_cli("analyze", *paths, "--json")
    assert r.returncode == 0, f"station analyze failed ({r.returncode}): {r.stderr.strip()[-400:]}"
    outs = json.loads(r.stdout)
    by_path = {o["trial"]: o for o in outs}
    for c in cases.values():
        c["analysis"] = by_path[str(c["run"].path)]
    return cases


def _mapping_error_s(stream, vp) -> np.ndarray:
    """time_host_s - the true host time at which each sample was taken (the plate's clock
    model). The device's microsecond counter wraps every 2^32 us; the driver's device times
    are unwrapped from the first raw value, so the whole wraps are put back here."""
    wrap = 2.0 ** 32 * 1e-6
    d = stream.time_device_s
    d_true = d + wrap * np.round((vp.device_time_s(stream.time_host_s) - d) / wrap)
    return stream.time_host_s - vp.host_time_s(d_true)


def _errors(case: dict) -> dict:
    """Measured minus truth for every compared quantity of one case."""
    out, tm = case["analysis"], case["truth"]["metrics"]
    bw_true = case["truth_attrs"]["body_weight_n"]
    rep = out["reps"][0]
    e = {"body_weight_rel": (out["body_weight_n"] - bw_true) / bw_true,
         "flight_time_s": rep["flight_time_s"] - tm["flight_time_s"][0],
         "jump_height_flight_time_m": rep["jump_height_flight_time_m"] - tm["jump_height_flight_time_m"][0]}
    if case["spec"]["kind"] == "cmj":
        e["jump_height_impulse_m"] = rep["jump_height_impulse_m"] - tm["jump_height_takeoff_velocity_m"][0]
        e["takeoff_velocity_m_s"] = rep["takeoff_velocity_m_s"] - tm["takeoff_velocity_m_s"][0]
    if case["spec"]["kind"] == "dj":
        e["contact_time_s"] = rep["contact_time_s"] - tm["contact_time_s"][0]
    return e


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_serial_path_reproduces_the_athletes_truth(athlete_trials, name):
    case = athlete_trials[name]
    spec, run, out = case["spec"], case["run"], case["analysis"]
    # the recording itself: complete; nothing lost on the wire but what was injected
    lost = {s: v[2] for s, v in spec.get("lost", {}).items()}
    assert run.result.status == "complete", run.result.reason
    for stream, q in run.result.quality.items():
        assert q["dropped"] == lost.get(stream, 0) and q["crc_errors"] == 0, (stream, q)
    with open_trial(run.path) as t:
        for s in t.streams():
            seq = t.stream(s).sequence
            gaps = np.diff(seq) - 1                      # contiguous, also across a counter wrap
            assert np.all(gaps >= 0) and gaps.sum() == lost.get(s, 0), s
            if spec["devices"] == "two 4-channel devices" and s == "plate2":
                assert seq[0] < 2 ** 32 <= seq[-1]        # the premise: the counter wrapped
            if lost.get(s):                               # the premise: where the gap lies
                k = int(np.argmax(gaps))
                tau = t.stream(s).time_host_s[[k, k + 1]] - (run.scene_t_motion - TAU0_S[spec["kind"]])
                ev = case["motion"].events
                if spec["lost_during"] == "flight":
                    assert ev["takeoff"][0] < tau[0] and tau[1] < ev["landing"][0], (tau, ev)
                else:
                    assert tau[1] < ev["movement_onset"][0], (tau, ev)
    for g in case["gain_info"]:          # the lab's gain fit found the plate's true gains
        assert np.max(np.abs(g["gain_error_pct"])) < 0.1, g
    # the analysis of the trial file
    assert out["kind"] == ANALYSIS_KIND[spec["kind"]] and out["kind_detected"] == out["kind"]
    assert out["n_plates"] == spec["plates"]
    assert len(out["reps"]) == 1, out["reps"]
    for stream, (_, _, count) in spec.get("lost", {}).items():   # the analysis says it bridged it
        assert any(w.startswith(f"{stream}: {count} lost sample(s)") for w in out["warnings"]), out["warnings"]
    e = _errors(case)
    with open_trial(run.path) as t:      # the driver's clock mapping, for the record (no limit)
        mapping_ms = {s: 1e3 * _mapping_error_s(t.stream(s), vp) for s, vp in case["clock_of"].items()}
    print(f"\n{name}: host time - true host time of each sample (driver's online clock fit): "
          + "; ".join(f"{s} median {np.median(v):+.2f} ms, range {v.min():+.2f}..{v.max():+.2f} ms"
                      for s, v in mapping_ms.items()))
    print(f"{name}: Recorder.record() called {run.record_call_s[0] - run.scene_t_motion:+.3f} s from "
          f"the motion's start, took {run.record_call_s[1] - run.record_call_s[0]:.3f} s")
    print(f"{name} ({spec['devices']}): " + ", ".join(
        f"{k} {v * 1e3:+.3f} {'ms' if k.endswith('_s') else 'mm' if k.endswith('_m') else 'e-3'}"
        if not k.endswith("_rel") else f"{k} {v * 100:+.4f} %" for k, v in e.items()))
    assert abs(e["body_weight_rel"]) <= BW_TOL, e
    assert abs(e["flight_time_s"]) <= FLIGHT_TOL_S, e
    assert abs(e["jump_height_flight_time_m"]) <= HEIGHT_TOL_M, e
    if "jump_height_impulse_m" in e:
        assert abs(e["jump_height_impulse_m"]) <= HEIGHT_TOL_M, e
    if "contact_time_s" in e:
        assert abs(e["contact_time_s"]) <= CONTACT_TOL_S, e


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cmj-2plates", "cmj-2plates-gap", "dj-2plates"])
def test_two_plates_plate1_carries_the_left_foot(athlete_trials, name):
    """Per plate, the force in the trial (its counts -> N with the trial's own
    /calibration/<plate>) over the analysis' quiet window, taken on each stream's own host
    times, equals the truth's force under that foot (plate1 = left)."""
    case = athlete_trials[name]
    out, motion = case["analysis"], case["motion"]
    scene_t0 = case["run"].scene_t_motion - TAU0_S[case["spec"]["kind"]]   # host time of tau = 0
    measured, truth, starts = [], [], []
    with open_trial(case["run"].path) as t:
        cals = t.calibrations()
        t_ref = t.stream("plate1").time_host_s
        a, b = (int(round(x * out["rate_hz"])) for x in out["quiet_window_s"])
        lo, hi = t_ref[a], t_ref[min(b, len(t_ref)) - 1]
        for foot, stream in enumerate(("plate1", "plate2")):
            st = t.stream(stream)
            cal = cals[stream].arrays
            fz = ((st.read().astype(float) - cal["zero_counts"]) * cal["newtons_per_count"]).sum(axis=1)
            sel = (st.time_host_s >= lo) & (st.time_host_s <= hi)
            measured.append(fz[sel].mean())
            # before the motion the athlete holds the posture of tau0 (plate_e2e_helpers)
            tau = np.clip(st.time_host_s[sel] - scene_t0, TAU0_S[case["spec"]["kind"]],
                          motion.duration_s)
            truth.append(motion.foot_loads_at(tau)[0][:, foot].mean())   # 0 = left, 1 = right
            starts.append(st.time_host_s[0])
    measured, truth = np.array(measured), np.array(truth)
    bw = case["truth_attrs"]["body_weight_n"]
    print(f"\n{name}: quiet window plate1 {measured[0]:.1f} N (left foot {truth[0]:.1f} N), "
          f"plate2 {measured[1]:.1f} N (right foot {truth[1]:.1f} N); first samples of "
          f"plate2 - plate1 on the host clock {1e3 * (starts[1] - starts[0]):+.2f} ms")
    assert truth[1] > truth[0] + 0.05 * bw      # the premise: the right foot carries more
    assert np.all(np.abs(measured - truth) <= BW_TOL * bw), (measured, truth)


# ---- faults on the wire -------------------------------------------------------------------------
def test_corrupted_bytes_and_dropped_packets_are_counted_exactly(tmp_path):
    """Real-time 2 kHz stream with faults injected from 0.3 s after the recording started; the
    recorder's trial holds every sample that was sent intact (same counts), misses exactly the
    dropped and corrupted ones, and its quality and faults count them exactly."""
    from station.recorder import Recorder
    rate = 2000.0
    vp = h.make_plate(4, seed=41, rate_hz=rate, keep_sent=True, source=stand_source(75.0, 4))
    garbage_1 = b"\x00\xff\xa5\x5a\xff\x13line noise\r\n"  # holds a sync word with a bad type
    garbage_2 = bytes([0xA5, 0x5A, 0x01, 0x04]) + bytes(range(10))   # a false packet header
    path = tmp_path / "faults.h5"
    try:
        fp = ForcePlate(vp.port, rate_hz=rate)
        try:
            rec = Recorder([fp], calibrations={"plate1": h.exact_calibration(vp)})
            rec.arm()
            rec.record(path, {"athlete_id": "VA02", "trial_kind": "quiet", "protocol": "plate_e2e",
                              "step": "faults", "settings": {}})
            base = h.sequence_at(vp, time.time() + 0.3)     # not sent yet
            corrupt = [base + d for d in (101, 250, 251, 1499)]   # 250+251: two in a row
            drop = [base + d for d in (400, 601, 602, 603, 1300)]
            vp.corrupt_packets(corrupt)
            vp.drop_packets(drop)
            vp.insert_garbage(base + 700, garbage_1)
            vp.insert_garbage(base + 1000, garbage_2)
            last = base + 1800
            deadline = time.monotonic() + 30.0
            # until the driver has seen 0.1 s past the last fault (samples + lost since START)
            while fp.samples + fp.lost_samples < last + 200 - vp.start_sequence \
                    and time.monotonic() < deadline and not rec.aborted.is_set():
                time.sleep(0.05)
            time.sleep(0.2)                                  # the recorder takes them over
            result = rec.stop()
            drv = fp.quality()
        finally:
            fp.close()
        sent = vp.sent()
        injected = dict(vp.injected)
    finally:
        vp.close()
    assert result.status == "complete", result.reason
    assert injected["corrupted"] == len(corrupt) and injected["dropped"] == len(drop)
    lost = sorted(corrupt + drop)
    n_crc = len(corrupt) + 2                  # each garbage block starts a frame that fails
    # the driver: every loss, exactly
    assert drv["lost_samples"] == len(lost)
    assert drv["crc_errors"] == n_crc
    assert drv["garbage_bytes"] == len(garbage_1) + len(garbage_2) + len(corrupt) * 32
    # the trial: the samples, the quality record and the faults
    with open_trial(path) as t:
        st = t.stream("plate1")
        seq = st.sequence
        counts = st.read()
        quality = t.quality()["plate1"]
        faults = t.faults()
    assert seq[0] < min(lost) and seq[-1] >= last, "the trial must span the injected faults"
    span = np.arange(seq[0], seq[-1] + 1)
    assert sorted(set(span) - set(seq.tolist())) == lost
    assert np.all(np.diff(seq) > 0)
    by_seq = {int(s): k for k, s in enumerate(sent["sequence"])}
    idx = [by_seq[int(s)] for s in seq]
    assert np.array_equal(counts, sent["counts"][idx]), "a kept sample differs from what was sent"
    assert quality["dropped"] == len(lost) and quality["crc_errors"] == n_crc, quality
    lost_faults = [f for f in faults if f.kind == "lost_samples"]
    gaps = {int(re.search(r"before sequence (\d+)", f.message).group(1)) - base:
            int(re.search(r"(\d+) sample\(s\) lost", f.message).group(1)) for f in lost_faults}
    assert gaps == {102: 1, 252: 2, 401: 1, 604: 3, 1301: 1, 1500: 1}
    crc = sum(int(re.search(r"(\d+) packet\(s\) failed", f.message).group(1))
              for f in faults if f.kind == "crc_error")
    assert crc == n_crc


def test_unplugging_mid_trial_aborts_and_keeps_everything_before(tmp_path):
    from station.recorder import Recorder
    vp = h.make_plate(4, seed=51, keep_sent=True, source=stand_source(80.0, 4))
    path = tmp_path / "unplugged.h5"
    try:
        fp = ForcePlate(vp.port, rate_hz=h.RATE_HZ)
        try:
            rec = Recorder([fp], calibrations={"plate1": h.exact_calibration(vp)})
            rec.arm()
            rec.record(path, {"athlete_id": "VA03", "trial_kind": "quiet", "protocol": "plate_e2e",
                              "step": "unplug", "settings": {}})
            unplug_at = h.sequence_at(vp, time.time() + 0.8)     # 0.8 s into the trial
            vp.unplug(at_sequence=unplug_at)
            assert rec.aborted.wait(timeout=15.0), "the recorder did not notice the unplugged plate"
            result = rec.stop()
        finally:
            fp.close()
        sent = vp.sent()
    finally:
        vp.close()
    assert result.status == "aborted" and "disconnected" in result.reason, result
    r = h.station_cli("inspect", path, "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["status"] == "aborted" and "disconnected" in summary["status_reason"]
    kinds = {f["kind"] for f in summary["faults"]["first"]} | set(summary["faults"]["by_kind"])
    assert "disconnected" in kinds and "device_lost" in kinds, summary["faults"]
    with open_trial(path) as t:
        st = t.stream("plate1")
        seq, counts = st.sequence, st.read()
    # everything sent from the trial's first sample to the unplug is in the file, unchanged
    assert seq[-1] == unplug_at - 1 and np.array_equal(seq, np.arange(seq[0], unplug_at))
    keep = sent["sequence"] >= seq[0]
    assert np.array_equal(sent["sequence"][keep], seq)
    assert np.array_equal(sent["counts"][keep], counts)
    human = h.station_cli("inspect", path)
    assert human.returncode == 0 and "aborted" in human.stdout


# ---- errors the user sees -----------------------------------------------------------------------
def _one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode not in (0, None), r.stdout
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def test_wrong_port_and_not_a_plate_are_one_line_errors(tmp_path):
    """Through `station capture --plate PORT` (the recorder's CLI path)."""
    base = ("capture", "--protocol", "jumps", "--athlete", "VA04", "--no-camera",
            "--data", tmp_path / "data")
    line = _one_line_error(h.station_cli(*base, "--plate", "/dev/no-such-plate"))
    assert "no serial port /dev/no-such-plate" in line
    gps = h.NotAPlate()
    try:
        line = _one_line_error(h.station_cli(*base, "--plate", gps.port))
    finally:
        gps.close()
    assert f"{gps.port} is not a force plate" in line and "bytes that are not the plate protocol" in line
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.h5"))


# ---- `station virtual-plate --source athlete:KIND` ------------------------------------------------
def test_virtual_plate_command_serves_the_virtual_athlete(tmp_path):
    """Two plates on one 8-channel device carrying a CMJ; the driver reads it (fast mode); with
    the plate's own offsets and gains (a twin VirtualPlate of the same seed: no calibration is
    under test here) the force analysis finds the truth the command wrote."""
    from analysis.force import analyze_force
    truth_file = tmp_path / "truth.json"
    env_dir = tmp_path / "rt"
    env = {**os.environ, "STATION_RUNTIME_DIR": str(env_dir), "PYTHONPATH": str(h.REPO_ROOT)}
    # stderr to a file, not a pipe nobody reads (a full pipe would block the child)
    err_path = tmp_path / "virtual_plate.stderr"
    err = open(err_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "station.cli", "virtual-plate", "--source",
                             "athlete:cmj", "--channels", "8", "--once", "--fast", "--seed", "5",
                             "--jump-height", "0.25", "--truth", str(truth_file), "--seconds", "60"],
                            stdout=subprocess.PIPE, stderr=err, text=True, env=env,
                            cwd=str(h.REPO_ROOT))
    try:
        port = proc.stdout.readline().strip()
        assert port.startswith("/dev/"), err_path.read_text() if proc.poll() is not None else port
        truth = json.loads(truth_file.read_text())
        n = int(truth["duration_s"] * 1000)
        with ForcePlate(port) as plate:
            desc = plate.description
            plate.start()
            b = plate.read_until(n, timeout=30.0)
            q = plate.quality()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)    # a hang guard (loaded CI machines), not a timing check
        except subprocess.TimeoutExpired:
            pytest.fail("the virtual-plate command did not exit on Ctrl-C; its stderr ends: "
                        + err_path.read_text()[-2000:])
    finally:
        if proc.poll() is None:
            proc.kill()
        err.close()
    assert q["lost_samples"] == 0 and len(b) >= n
    assert [p["channels"] for p in desc["plates"]] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert desc["plates"][1]["centre_lab_m"] == list(default_plates(2)[1].centre_lab_m)
    twin = VirtualPlate(None, channels=8, seed=5, register=False)     # same seed: same plate
    cells = (b.counts[:n].astype(float) - twin.offsets) / twin.gains
    fz = np.column_stack([cells[:, :4].sum(axis=1), cells[:, 4:].sum(axis=1)])
    res = analyze_force(fz, desc["rate_hz"]).to_dict()
    m = truth["metrics"]
    assert truth["kind"] == "cmj" and res["kind"] == "cmj" and len(res["reps"]) == 1
    assert abs(res["body_weight_n"] - truth["body_weight_n"]) <= BW_TOL * truth["body_weight_n"]
    assert abs(res["reps"][0]["flight_time_s"] - m["flight_time_s"][0]) <= FLIGHT_TOL_S
    assert abs(m["jump_height_takeoff_velocity_m"][0] - 0.25) < 1e-6      # the trait was used
    assert abs(truth["body_weight_n"] - 75.0 * G) < 1e-6


def test_virtual_plate_command_rejects_an_unknown_movement():
    from station.commands import virtual_plate as cmd
    from station.errors import UserError
    with pytest.raises(UserError, match="unknown movement; use one of cmj"):
        cmd._load_source("athlete:jog", 4, 75.0)

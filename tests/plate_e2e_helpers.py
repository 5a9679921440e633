"""Helpers of tests/test_plate_end_to_end.py: the serial path of issue 4, with real parts only.

    virtual athlete (drivers/athlete) -> per-cell loads (N) -> VirtualPlate (counts: per-channel
    offsets and gains, ADC noise, slow zero drift; device clock with offset and drift) -> a real
    pty -> drivers.force_plate.ForcePlate -> station.recorder.Recorder -> trial file (HDF5)
    -> `station analyze TRIAL --json` (the real CLI, in a subprocess).

The plate calibration is obtained as a lab would:
  * gains: calibration.plate.calibrate fitted on the same virtual plate, through the driver,
    with known masses (20 kg at the centre and at four off-axis marks, 40 kg at the centre)
    placed one after the other (fit_gains_through_driver). This session streams in the virtual
    plate's as-fast-as-possible mode: only mean counts matter there, not time.
  * zero: the mean counts of an unloaded window (ZERO_SAMPLES) read through the trial's own
    driver connection just before the athlete steps on (record_athlete_trial). The zero drifts
    (ZERO_DRIFT_COUNTS_PER_S), so the zero of the gain session would be stale.
The trials themselves stream in real time (the device clock is mapped to the host clock by the
driver's online fit) and the athlete moves on the host clock: with two devices both see the same
athlete at the same instant, each on its own sample grid.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis.constants import G
from calibration.plate import Placement, PlateCalibration, calibrate
from drivers.force_plate import ForcePlate, plate_streams
from drivers.plate_geometry import split_load_to_cells
from drivers.virtual_plate import VirtualPlate

REPO_ROOT = Path(__file__).resolve().parents[1]
RATE_HZ = 1000.0
NOISE_COUNTS = 20.0                                  # ADC noise SD, counts (gain ~200 counts/N)
ZERO_DRIFT_COUNTS_PER_S = (3.0, -2.0, 4.0, -1.5)     # per channel (repeated for 8 channels)
CLOCK_OFFSET_S = 4321.0                              # device clock at power-on, s
CLOCK_DRIFT_PPM = 40.0                               # device crystal vs host clock
CAL_SEGMENT = 300                                    # samples per placement of the gain session
CAL_SKIP = 20                                        # samples skipped after each change of load
ZERO_SAMPLES = 300                                   # unloaded window before each trial (0.3 s)
STEP_ON_RAMP_S = 0.3                                 # the athlete steps on over this long
HOLD_BEFORE_MOTION_S = 0.8                           # then stands still before the motion


def station_cli(*args, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Run `station ARGS...` (python -m station.cli) from the repository root."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "station.cli", *map(str, args)], cwd=str(REPO_ROOT),
                          capture_output=True, text=True, timeout=timeout, env=env)


def analyze_cli(trial_path) -> dict:
    """`station analyze TRIAL --json` -> the parsed JSON (asserts exit code 0)."""
    r = station_cli("analyze", trial_path, "--json")
    assert r.returncode == 0, f"station analyze failed ({r.returncode}): {r.stderr.strip()}"
    return json.loads(r.stdout)


def make_plate(channels: int = 4, *, seed: int = 0, geometry=None, realtime: bool = True,
               rate_hz: float = RATE_HZ, keep_sent: bool = False, source=None,
               start_sequence: int = 0) -> VirtualPlate:
    """A started virtual plate with known offsets and gains (seeded), noise, zero drift and a
    drifting device clock."""
    drift = list(ZERO_DRIFT_COUNTS_PER_S) * (channels // 4)
    return VirtualPlate(source, rate_hz=rate_hz, channels=channels, geometry=geometry,
                        noise_counts=NOISE_COUNTS, zero_drift_counts_per_s=drift,
                        clock_offset_s=CLOCK_OFFSET_S + seed, clock_drift_ppm=CLOCK_DRIFT_PPM,
                        seed=seed, register=False, realtime=realtime, keep_sent=keep_sent,
                        start_sequence=start_sequence).start()


def exact_calibration(vp: VirtualPlate) -> PlateCalibration:
    """The virtual plate's own offsets and gains (for tests that are not about calibration)."""
    plates = [{**g.to_dict(), "channels": list(range(4 * k, 4 * k + 4))}
              for k, g in enumerate(vp.geometry)]
    return PlateCalibration(device_serial=vp.serial, channels=vp.channels,
                            zero_counts=np.asarray(vp.offsets, float),
                            newtons_per_count=1.0 / np.asarray(vp.gains, float),
                            device_model="station-virtual-plate", plates=plates,
                            report={"method": "the virtual plate's exact offsets and gains"})


# ---- gains as a lab fits them ------------------------------------------------------------------
def calibration_plan(vp: VirtualPlate) -> list[tuple]:
    """[(plate index or None, mass kg, (x, y) plate frame)]: unloaded first, then per plate
    20 kg at the centre and at four off-axis marks, and 40 kg at the centre."""
    plan = [(None, 0.0, (0.0, 0.0))]
    for p, g in enumerate(vp.geometry):
        ax, ay = 0.55 * g.cell_half_x_m, 0.6 * g.cell_half_y_m
        plan.append((p, 20.0, (0.0, 0.0)))
        for sx, sy in ((1, 1), (-1, 1), (-1, -1), (1, -1)):
            plan.append((p, 20.0, (sx * ax, sy * ay)))
        plan.append((p, 40.0, (0.0, 0.0)))
    return plan


def fit_gains_through_driver(vp: VirtualPlate) -> tuple[PlateCalibration, dict]:
    """Known masses placed one after the other on the virtual plate (a schedule on the device
    clock, CAL_SEGMENT samples each), read through the driver in fast mode, fitted by
    calibration.plate.calibrate. Leaves the plate stopped and back in real-time mode."""
    plan = calibration_plan(vp)
    loads = np.zeros((len(plan), vp.channels))
    for j, (p, mass, pos) in enumerate(plan):
        if p is not None:
            loads[j, 4 * p:4 * p + 4] = split_load_to_cells(
                np.array([mass * G]), np.array([pos], float), vp.geometry[p])[0]

    def schedule(t):
        j = np.floor(np.asarray(t, float) * vp.rate_hz + 1e-6).astype(np.int64) // CAL_SEGMENT
        return loads[np.clip(j, 0, len(plan) - 1)]

    vp.set_source(schedule)
    vp.realtime = False
    n = len(plan) * CAL_SEGMENT
    with ForcePlate(vp.port, rate_hz=vp.rate_hz) as fp:
        fp.start()
        b = fp.read_until(n, timeout=30.0)
        desc = dict(fp.description)
        q = fp.quality()
    vp.realtime = True
    assert len(b) >= n and q["lost_samples"] == 0 and q["crc_errors"] == 0, q
    k = b.sequence[:n] - vp.start_sequence        # samples since START (none lost: asserted)
    seg = k // CAL_SEGMENT
    counts = b.counts[:n].astype(float)
    within = (k % CAL_SEGMENT) >= CAL_SKIP
    means = [counts[(seg == j) & within].mean(axis=0) for j in range(len(plan))]
    zero = means[0]
    zero_sd = counts[(seg == 0) & within].std(axis=0, ddof=1)
    placements = [Placement(mass, pos, means[j], plate=p)
                  for j, (p, mass, pos) in enumerate(plan) if p is not None]
    cal = calibrate(zero, placements, device_serial=desc["serial"], device_model=desc["model"],
                    plates_desc=desc["plates"], zero_sd_counts=zero_sd)
    gain_err_pct = (cal.newtons_per_count * vp.gains - 1.0) * 100.0
    return cal, {"gain_error_pct": gain_err_pct, "fz_residual_rms_n": cal.report["fz_residual_rms_n"],
                 "placements": len(placements)}


# ---- the athlete on the plate(s), on the host clock -------------------------------------------
class AthleteOnPlates:
    """Loads of the virtual athlete against host time: nothing until t_on, a step-on ramp
    (STEP_ON_RAMP_S) to the posture at motion time tau0, standing still until t_motion, then
    the motion from tau0 to its end, then its last posture. Times in host seconds."""

    def __init__(self, motion, tau0: float):
        self.motion = motion
        self.tau0 = float(tau0)
        self.t_on = math.inf
        self.t_motion = math.inf

    def loads(self, h) -> list[np.ndarray]:
        h = np.asarray(h, float)
        tau = np.clip(h - self.t_motion + self.tau0, self.tau0, self.motion.duration_s)
        tau = np.where(np.isfinite(tau), tau, self.tau0)
        ramp = np.clip((h - self.t_on) / STEP_ON_RAMP_S, 0.0, 1.0)
        ramp = np.where(np.isfinite(ramp), ramp, 0.0)
        return [c * ramp[:, None] for c in self.motion.cell_loads_at(tau)]


def device_source(vp: VirtualPlate, scene: AthleteOnPlates, plate_indices: list[int]):
    """The virtual plate's force source: its sample times (device clock since START) put on the
    host clock with the plate's true clock model, the athlete's loads of these plates there."""
    def f(t_stream):
        # _stream_t0_dev: the device time of the stream's first sample (what the plate's own
        # pacing uses; station/simulated_station.py does the same)
        h = vp.host_time_s(vp._stream_t0_dev + np.asarray(t_stream, float))
        loads = scene.loads(h)
        return np.concatenate([loads[i] for i in plate_indices], axis=1)
    return f


def sequence_at(vp: VirtualPlate, host_s: float) -> int:
    """The sequence number of the first sample the (streaming) plate takes at or after host
    time host_s: from its clock model and the device time of its stream's first sample."""
    k = math.ceil((float(vp.device_time_s(host_s)) - vp._stream_t0_dev) * vp.rate_hz - 1e-9)
    return vp.start_sequence + k


@dataclass
class TrialRun:
    path: Path
    result: object                      # station.recorder.RecordingResult
    zeros: list                         # per device: zero counts of the unloaded window
    calibrations: dict                  # stream -> PlateCalibration used
    quality: list = field(default_factory=list)   # per device: driver quality at the end
    scene_t_motion: float = math.nan    # host time at which the motion (from tau0) started
    record_call_s: tuple = (math.nan, math.nan)   # host times around Recorder.record()


def _sleep_until(t: float) -> None:
    while True:
        left = t - time.time()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))


def record_athlete_trial(path, motion, devices: list[tuple[VirtualPlate, list[int], PlateCalibration]],
                         *, tau0: float, trial_kind: str, on_armed=None) -> TrialRun:
    """Record one real-time trial of `motion` through the driver and the recorder.

    devices: [(virtual plate, motion plate indices it carries, its gain calibration)], in
    plate order (plate1 = left foot first). Steps: each driver opens its plate and reads an
    unloaded window -> zero; the calibrations for the trial = that zero + the fitted gains; the
    athlete steps on; the recorder arms, records from shortly before the motion (its
    pre-trigger keeps ~0.5 s of standing) to after its end, and closes the trial.
    on_armed(scene): called right after the recorder started the devices (sequences restart at
    the plates' start_sequence then), e.g. to inject faults by sequence number
    (sequence_at gives the sequence number a plate stamps at a host time)."""
    from station.recorder import Recorder
    scene = AthleteOnPlates(motion, tau0)
    for vp, idx, _ in devices:
        vp.set_source(device_source(vp, scene, idx))
        vp.realtime = True
    fps = []
    try:
        for k, (vp, _, _) in enumerate(devices):
            fps.append(ForcePlate(vp.port, name=f"device{k + 1}", rate_hz=RATE_HZ))
        for fp in fps:
            fp.start()
        zeros, cal_of_device = [], {}
        for fp, (vp, _, gains) in zip(fps, devices):
            b = fp.read_until(ZERO_SAMPLES, timeout=5.0)
            assert len(b) >= ZERO_SAMPLES, f"only {len(b)} samples of the unloaded window"
            zero = b.counts[:ZERO_SAMPLES].astype(float).mean(axis=0)
            zeros.append(zero)
            cal = PlateCalibration(device_serial=gains.device_serial, channels=gains.channels,
                                   zero_counts=zero, newtons_per_count=gains.newtons_per_count,
                                   device_model=gains.device_model, plates=gains.plates,
                                   report={**gains.report,
                                           "zero": f"mean of {ZERO_SAMPLES} unloaded samples read "
                                                   "through the driver just before the trial"})
            cal.path = "tests/plate_e2e_helpers.py: fitted gains + fresh zero"
            cal_of_device[id(fp)] = cal
        cals = {s["name"]: cal_of_device[id(s["plate"])] for s in plate_streams(fps)}
        scene.t_on = time.time() + 0.05
        scene.t_motion = scene.t_on + STEP_ON_RAMP_S + HOLD_BEFORE_MOTION_S
        rec = Recorder(fps, calibrations=cals)
        rec.arm()
        if on_armed is not None:
            on_armed(scene)
        _sleep_until(scene.t_motion - 0.2)
        t_rec = time.time()
        rec.record(path, {"athlete_id": "VA01", "protocol": "plate_e2e", "step": trial_kind,
                          "trial_kind": trial_kind,
                          "settings": {"source": "tests/test_plate_end_to_end.py", "tau0_s": tau0,
                                       "plates": len(motion.plates), "devices": len(devices)}})
        record_call = (t_rec, time.time())
        end = scene.t_motion + (motion.duration_s - tau0) + 0.15
        while time.time() < end and not rec.aborted.is_set():
            time.sleep(0.05)
        result = rec.stop()
        quality = [fp.quality() for fp in fps]
    finally:
        for fp in fps:
            fp.close()
    return TrialRun(Path(path), result, zeros, cals, quality, scene.t_motion, record_call)


# ---- a device that is not a plate ---------------------------------------------------------------
class NotAPlate:
    """A real pty whose device answers every line with NMEA sentences, like a GPS module."""

    def __init__(self):
        import threading
        import tty
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import select
        while not self._stop.is_set():
            r, _, _ = select.select([self.master], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                data = b""
            if b"\n" in data:
                try:
                    os.write(self.master, b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n")
                except OSError:
                    pass

    def close(self):
        self._stop.set()
        self._thread.join(timeout=1.0)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

"""Runs a protocol with an athlete: for each step and attempt, prompt -> wait for the start
trigger -> record (station/recorder.py) -> stop trigger -> close the trial -> analyse it ->
time sync -> verdict -> key numbers on screen -> session.json updated. A fault (device
unplugged, stalled stream, full disk) marks the trial, tells the technician what happened and
what to do, and the session goes on with the next trial.

`station` is whatever provides the devices: station.simulated_station.SimulatedStation, or
RealStation in station/commands/capture.py. It has `plates` (open ForcePlate devices),
`calibrations` (plate stream -> PlateCalibration), `begin_trial(step, attempt) -> Camera | None`,
`end_trial()`, optionally `truth()` (simulation) and `camera_pose` (T_lab_from_depth).

Time sync (calibration/time_sync.py): per trial with a camera, the passive offset
(t_plate - t_camera) from cross-correlating the plate's COM acceleration with the camera's:
the camera's COM height is approximated by the centroid height of the depth points above the
plate (the athlete's visible surface, in the lab frame through the camera pose). Recorded in
/results/sync of the trial and in session.json; across the session a line (offset, drift) is
fitted (fit_session_drift) and the offset it gives at each trial is written back as
`offset_applied_s` (what kinematics should add to camera times).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from analysis.constants import G
from station import triggers
from station.errors import UserError
from station.live_status import LiveStatus
from station.session import Athlete, Session, TrialRecord, Verdict

# protocol kind -> analysis.force kind
FORCE_KIND = {"stand": "quiet", "static": "quiet", "squat": "squats",
              "single-leg-squat": "squats", "cmj": "cmj", "sj": "sj", "dj": "drop_jump"}
START_WAIT_S = 60.0
QUIET_SD_BW = 0.02           # a weighing is quiet when the SD of Fz < 2 % BW
SYNC_OK_S = 0.005            # synced: the offset is known to better than 5 ms (1 sigma)


@dataclass
class CaptureOptions:
    steps: list | None = None            # step ids to run (None: all)
    trials: int | None = None            # attempts per step instead of the protocol's
    skip_rest: bool = False              # simulation: no rest pauses
    skeleton: bool = False               # run analysis/skeleton_pipeline on camera trials
    start_wait_s: float = START_WAIT_S
    fault_hook: object = None            # callable(station, recorder, step, attempt) (tests)
    write_hook: object = None            # recorder write seam (tests)


@dataclass
class TrialOutcome:
    record: TrialRecord
    path: str
    force: dict | None = None
    sync: dict = field(default_factory=dict)
    truth: dict = field(default_factory=dict)


class CaptureSession:
    def __init__(self, station, protocol, athlete: Athlete, data_dir, display=None,
                 options: CaptureOptions | None = None, out=print):
        self.station = station
        self.protocol = protocol
        self.athlete = athlete
        self.data_dir = data_dir
        self.display = display
        self.options = options or CaptureOptions()
        self.out = out
        self.session: Session | None = None
        self.outcomes: list[TrialOutcome] = []
        self.status = LiveStatus()

    # ---- the whole protocol ----------------------------------------------------------------
    def steps(self):
        steps = list(self.protocol.steps)
        if self.options.steps:
            ids = [s.id for s in steps]
            unknown = [s for s in self.options.steps if s not in ids]
            if unknown:
                raise UserError(f"--steps: {', '.join(unknown)} not in protocol "
                                f"{self.protocol.name} (its steps: {', '.join(ids)})")
            steps = [s for s in steps if s.id in self.options.steps]
        return steps

    def run(self) -> Session:
        steps = self.steps()
        self.session = Session.create(self.data_dir, self.athlete, self.protocol)
        self.out(f"session {self.session.folder}")
        for step in steps:
            n = self.options.trials or step.trials
            for attempt in range(1, n + 1):
                outcome = self.run_trial(step, attempt)
                self.outcomes.append(outcome)
                if step.rest_s and not self.options.skip_rest and attempt < n:
                    self._rest(step.rest_s)
        self.fit_session_sync()
        return self.session

    def _rest(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.status.state, self.status.message = "waiting", f"rest {end - time.monotonic():.0f} s"
            self._show()
            time.sleep(0.2)

    def _show(self, force=False):
        if self.display is not None:
            self.display.show(self.status, force=force)

    def say(self, text: str) -> None:
        if self.display is not None:
            self.display.say(text)
        else:
            self.out(text)

    # ---- one trial -------------------------------------------------------------------------
    def run_trial(self, step, attempt: int) -> TrialOutcome:
        from station.recorder import Recorder
        st, s = self.station, self.status
        bw = self.athlete.mass_kg * G if self.athlete.mass_kg else None
        camera = st.begin_trial(step, attempt)
        extra = {}
        pose = getattr(st, "camera_pose", None)
        if camera is not None and pose is not None:
            extra["camera_pose"] = ({"source": getattr(st, "camera_pose_source", "")},
                                    {"T_lab_from_depth": np.asarray(pose, float)})
        rec = Recorder(st.plates, camera, st.calibrations, write_hook=self.options.write_hook,
                       extra_calibrations=extra)
        if not rec.has_force:
            raise UserError("the force plate has no calibration, so the live force (and the "
                            "triggers) cannot work: run `station calibrate plate` first")
        path = self.session.trial_path(step.id, attempt)
        s.step = f"{step.id} ({attempt}/{self.options.trials or step.trials})"
        s.prompt = step.instruction
        s.state, s.message, s.elapsed_s = "waiting", f"waiting for the start ({step.start})", 0.0
        s.plate_nominal_hz = float(st.plates[0].description.get("rate_hz") or 0) if st.plates else None
        s.camera_nominal_fps = (float(camera.modes["depth"].fps) if camera is not None and
                                "depth" in camera.modes else None)
        s.body_weight_n = bw
        self.say(f"--- {step.id}, trial {attempt}: {step.instruction}")
        rec.arm()
        start = triggers.start_trigger(step, bw)
        seen = 0
        t_start = None
        wait_end = time.monotonic() + self.options.start_wait_s
        while t_start is None:
            t, f, seen = rec.live.since(seen)
            t_start = start.update(t, f)
            self._live(rec)
            if rec.aborted.is_set() or time.monotonic() > wait_end:
                break
            if t_start is None:
                time.sleep(0.02)
        if t_start is None:
            result = rec.stop()
            st.end_trial()
            why = rec.abort_reason or f"the start ({step.start}) did not happen within " \
                                       f"{self.options.start_wait_s:g} s"
            return self._not_recorded(step, attempt, why)
        if bw is None and getattr(start, "mean_n", None):
            bw = start.mean_n
        meta = {"athlete_id": self.athlete.id, "protocol": self.protocol.name, "step": step.id,
                "trial_kind": step.kind, "attempt": attempt,
                "height_m": self.athlete.height_m, "dominant_leg": self.athlete.dominant_leg or "",
                "session": str(self.session.folder.name),
                "settings": {"step": {k: v for k, v in step.__dict__.items() if k != "line"},
                             "start_trigger": step.start, "stop_trigger": step.stop,
                             "body_weight_for_triggers_n": bw,
                             "station": getattr(st, "describe", lambda: "")()}}
        started_utc = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        try:
            rec.record(path, {k: v for k, v in meta.items() if v is not None})
        except (UserError, OSError, ValueError) as exc:
            rec.stop(reason=str(exc))
            st.end_trial()
            return self._not_recorded(step, attempt, f"cannot create the trial file: {exc}")
        if self.options.fault_hook is not None:
            self.options.fault_hook(st, rec, step, attempt)
        stop = triggers.stop_trigger(step, t_start, bw)
        timeout = triggers.Timeout(t_start, step.timeout_s if step.stop != "duration"
                                   else step.duration_s + 10.0)
        s.state, s.message = "recording", f"recording until {stop.describe()}"
        timed_out = False
        t_wall0 = time.monotonic()
        while True:
            t, f, seen = rec.live.since(seen)
            if stop.update(t, f) is not None:
                break
            if timeout.update(t, f) is not None:
                timed_out = True
                break
            if rec.aborted.is_set():
                break
            if time.monotonic() - t_wall0 > step.timeout_s + 10.0:      # no force arriving
                timed_out = True
                break
            s.elapsed_s = time.monotonic() - t_wall0
            s.message = f"recording until {stop.describe()}"
            self._live(rec)
            time.sleep(0.02)
        result = rec.stop(reason=f"timeout: {stop.describe()} not reached within "
                                 f"{step.timeout_s:g} s" if timed_out else "")
        truth = st.truth() if hasattr(st, "truth") else {}
        st.end_trial()
        return self._after(step, attempt, path, result, started_utc, truth, timed_out, bw)

    def _live(self, rec) -> None:
        s = self.status
        s.plate_rate_hz = rec.rates.get("plate1")
        s.camera_fps = rec.rates.get("depth") if rec.camera is not None else None
        q = {}
        for d in rec.devices:
            qq = d.quality()
            q["lost"] = q.get("lost", 0) + qq.get("lost_samples", 0)
            q["crc"] = q.get("crc", 0) + qq.get("crc_errors", 0)
        s.plate_lost, s.plate_crc_errors = q.get("lost", 0), q.get("crc", 0)
        if rec.camera is not None:
            s.camera_drops = sum(v["dropped"] + v["dropped_host"] for v in rec.camera.stats().values())
        _, f = rec.live.latest(4.0)
        s.force_trace_n = f[::20]
        self._show()

    def _not_recorded(self, step, attempt, why: str) -> TrialOutcome:
        v = Verdict(complete=False, reasons=[why])
        rec = TrialRecord(file="", step=step.id, kind=step.kind, attempt=attempt,
                          status="not_recorded", verdict=v,
                          started_utc=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                          faults=[{"kind": "not_recorded", "message": why}])
        self._add(rec)
        self.say(f"  ! {step.id} trial {attempt} not recorded: {why}. "
                 f"{_what_to_do(why)}")
        return TrialOutcome(rec, "")

    def _add(self, record) -> None:
        try:
            self.session.add_trial(record)
        except OSError as exc:
            self.session.trials.append(record) if record not in self.session.trials else None
            self.say(f"  ! cannot update {self.session.folder / 'session.json'}: {exc.strerror}; "
                     "it still lists the trials before this one. Free disk space; the next "
                     "trial's update will list this one too.")

    # ---- after the trial: analysis, sync, verdict ----------------------------------------
    def _after(self, step, attempt, path, result, started_utc, truth, timed_out, bw) -> TrialOutcome:
        s = self.status
        s.state = "analysing"
        self._show(force=True)
        reasons: list[str] = []
        force = None
        rel = path.name
        faults = [{k: f[k] for k in ("time_host_s", "stream", "kind", "message")}
                  for f in result.faults]
        file_ok = True
        if result.status == "aborted":
            reasons.append(result.reason)
        try:
            from station.commands.analyze import analyze_trial
            from analysis.force.settings import ForceSettings
            import inspect
            kw = {"skeleton": self.options.skeleton} \
                if "skeleton" in inspect.signature(analyze_trial).parameters else {}
            force = analyze_trial(str(path), ForceSettings(), FORCE_KIND[step.kind], write=True, **kw)
        except UserError as exc:
            if result.status == "complete":
                reasons.append(f"force analysis failed: {exc}")
            force = None
        except Exception as exc:               # a broken file after a fault
            file_ok = False
            reasons.append(f"force analysis failed: {type(exc).__name__}: {exc}")
        key = _key_numbers(step, force)
        complete = result.status == "complete" and force is not None and not timed_out
        content = _content_check(step, force)
        if content:
            complete = False
            reasons.append(content)
        quiet = None
        if "quiet" in step.checks and force is not None:
            quiet = force["quiet_sd_n"] < QUIET_SD_BW * force["body_weight_n"]
            if not quiet:
                reasons.append(f"not quiet: SD {force['quiet_sd_n']:.1f} N over the weighing")
        sync = {}
        synced = tracked = None
        has_camera = any(k in result.quality for k in ("depth", "color"))
        if has_camera and force is not None and result.status == "complete":
            sync = self._sync(path, force, truth)
            if "synced" in step.checks:
                synced = bool(sync.get("ok"))
                if not synced:
                    reasons.append("not synced: " + sync.get("why", "no usable time sync"))
        elif "synced" in step.checks and not has_camera:
            sync = {"why": "no camera in this trial"}
        if has_camera and self.options.skeleton and force is not None:
            kin = force.get("kinematics")
            if kin is not None:
                v = kin.get("verdict") or {}
                tracked = bool(v.get("ok"))
                if "tracked" in step.checks and not tracked:
                    reasons.append("not tracked: " + "; ".join(v.get("reasons") or ["?"]))
            elif "tracked" in step.checks:
                reasons.append("not tracked: " + "; ".join(
                    w for w in force.get("warnings", []) if "kinematics" in w)[:200])
                tracked = False
        if step.kind == "stand" and force is not None and complete:
            self.athlete.mass_kg = round(force["body_mass_kg"], 2)
            self.session.athlete = self.athlete
            s.body_weight_n = force["body_weight_n"]
        q = {k: {kk: (None if isinstance(vv, float) and not math.isfinite(vv) else vv)
                 for kk, vv in v.items()} for k, v in result.quality.items()}
        verdict = Verdict(complete=complete, tracked=tracked, synced=synced, quiet=quiet,
                          reasons=reasons)
        record = TrialRecord(file=rel, step=step.id, kind=step.kind, attempt=attempt,
                             status=result.status, verdict=verdict, started_utc=started_utc,
                             key_numbers={**key, "duration_s": round(result.duration_s, 3),
                                          "quality": q},
                             sync=sync, faults=faults)
        self._add(record)
        line = f"{step.id} {attempt}: {verdict.label()}  " + _format_key(key)
        s.state, s.last_result, s.message = "done", line, ""
        if sync.get("offset_s") is not None:
            s.sync_ms = sync["offset_s"] * 1e3
        self._show(force=True)
        self.say(f"  = {line}")
        if result.status == "aborted":
            self.say(f"  ! trial aborted: {result.reason}. {_what_to_do(result.reason)} "
                     f"Everything captured before is kept in {path.name}"
                     + ("" if file_ok else " (the file could not be read back)") + ".")
        return TrialOutcome(record, str(path), force, sync, truth)

    def _sync(self, path, force, truth) -> dict:
        from calibration.time_sync import passive_offset
        from data.trial import open_trial, write_results
        try:
            with open_trial(path) as t:
                t_cam, z = camera_com_height(t)
                from analysis.force.trial_force import force_from_trial
                tf = force_from_trial(t)
            fz = tf.fz_n if tf.fz_n.ndim == 1 else tf.fz_n.sum(axis=1)
            est = passive_offset(tf.time_s, fz, force["body_mass_kg"], t_cam, z)
        except Exception as exc:
            return {"ok": False, "why": f"{type(exc).__name__}: {exc}"}
        mid = 0.5 * (tf.time_s[0] + tf.time_s[-1])
        out = {**est.to_dict(), "mid_time_host_s": float(mid),
               # one movement window gives no spread: then the correlation must be high
               "ok": bool(est.correlation > 0.8 and (not math.isfinite(est.uncertainty_s)
                                                      or est.uncertainty_s < SYNC_OK_S))}
        if not out["ok"]:
            out["why"] = (f"correlation {est.correlation:.2f}, uncertainty "
                          f"{est.uncertainty_s * 1e3:.1f} ms")
        if truth.get("camera_offset_at") is not None:
            out["truth_offset_s"] = float(truth["camera_offset_at"](mid))
        try:
            write_results(path, "sync", attrs={k: v for k, v in out.items() if v is not None},
                          settings={"method": "passive_com_acceleration", "cutoff_hz": 4.0,
                                    "camera_com": "centroid of depth points above the plate"})
        except Exception as exc:
            out["write_error"] = str(exc)
        return out

    # ---- across the session ------------------------------------------------------------------
    def fit_session_sync(self) -> dict:
        from calibration.time_sync import fit_session_drift
        from data.trial import write_results
        rows = [o for o in self.outcomes if o.sync.get("offset_s") is not None
                and o.sync.get("correlation", 0) > 0.5]
        if not rows:
            return {}
        unc = np.array([o.sync.get("uncertainty_s") or np.nan for o in rows])
        w = np.where(np.isfinite(unc) & (unc > 0), 1.0 / np.maximum(unc, 1e-4), 1.0)
        fit = fit_session_drift([o.sync["mid_time_host_s"] for o in rows],
                                [o.sync["offset_s"] for o in rows], weights=w)
        self.session.clock_fit = {**fit.to_dict(), "method": "passive per trial, line fit "
                                  "across the session (calibration.time_sync.fit_session_drift)"}
        for o in rows:
            applied = float(fit.offset_at(o.sync["mid_time_host_s"]))
            o.sync["offset_applied_s"] = applied
            o.record.sync = dict(o.sync)
            try:
                write_results(o.path, "sync", attrs={k: v for k, v in o.sync.items() if v is not None},
                              settings={"method": "passive_com_acceleration", "session_fit": fit.to_dict()})
            except Exception:
                pass
        self.session.save()
        return self.session.clock_fit


def camera_com_height(trial, stride: int = 2):
    """(t_host_s, z_lab_m) per depth frame: the height of the centroid of the depth points above
    the plate area (0.05 m < z < 2.5 m, |x|, |y| < 1 m in the lab frame), as an approximation of
    the centre of mass seen by the camera. Needs /calibration/camera_pose (T_lab_from_depth)."""
    from drivers.camera_model import Intrinsics
    cals = trial.calibrations()
    if "camera_pose" not in cals:
        raise ValueError("the trial has no camera pose (/calibration/camera_pose)")
    arr = dict(cals["camera_pose"].arrays)
    T = np.asarray(arr.get("T_lab_from_depth", arr.get("T_lab_from_camera")), float)
    st = trial.stream("depth")
    dev = trial.devices()[st.device]
    d = dev.attrs.get("depth")
    if isinstance(d, str):
        import json
        d = json.loads(d)
    intr = Intrinsics.from_dict(d["intrinsics"])
    v, u = np.mgrid[0:intr.height:stride, 0:intr.width:stride]
    x_n = (u - intr.ppx) / intr.fx
    y_n = (v - intr.ppy) / intr.fy
    t = np.asarray(st.time_host_s, float)
    n = min(len(t), st.data.shape[0])
    z_out = np.full(n, np.nan)
    R, p = T[:3, :3], T[:3, 3]
    for i in range(n):
        z = st.data[i][::stride, ::stride].astype(float) * 1e-3
        ok = z > 0
        pts = np.stack([x_n[ok] * z[ok], y_n[ok] * z[ok], z[ok]], axis=1) @ R.T + p
        sel = (pts[:, 2] > 0.05) & (pts[:, 2] < 2.5) & (np.abs(pts[:, 0]) < 1.0) & (np.abs(pts[:, 1]) < 1.0)
        if sel.sum() > 50:
            z_out[i] = float(pts[sel, 2].mean())
    return t[:n], z_out


def _content_check(step, force) -> str:
    if force is None:
        return ""
    reps = force.get("reps") or []
    if step.kind in ("cmj", "sj", "dj"):
        if not any(r.get("flight_time_s") for r in reps):
            return "no jump found on the plate"
    if step.kind in ("squat", "single-leg-squat") and len(reps) < step.reps:
        return f"{len(reps)} of {step.reps} squat reps found"
    return ""


def _key_numbers(step, force) -> dict:
    if force is None:
        return {}
    out = {"body_weight_n": round(force["body_weight_n"], 1),
           "mass_kg": round(force["body_mass_kg"], 2)}
    reps = force.get("reps") or []
    if step.kind in ("cmj", "sj", "dj"):
        jumps = [r for r in reps if r.get("flight_time_s")]
        if jumps:
            r = jumps[-1] if step.kind == "dj" else jumps[0]
            for k in ("jump_height_flight_time_m", "jump_height_impulse_m", "flight_time_s",
                      "contact_time_s", "rsi", "rsi_modified", "peak_landing_force_bw"):
                if r.get(k) is not None:
                    out[k] = round(float(r[k]), 3)
    elif step.kind in ("squat", "single-leg-squat"):
        out["reps"] = len(reps)
    else:
        out["quiet_sd_n"] = round(force["quiet_sd_n"], 2)
    return out


def _format_key(key: dict) -> str:
    names = {"mass_kg": ("mass", "{:.1f} kg"), "jump_height_flight_time_m": ("h(flight)", "{:.3f} m"),
             "jump_height_impulse_m": ("h(impulse)", "{:.3f} m"), "contact_time_s": ("contact", "{:.3f} s"),
             "rsi": ("RSI", "{:.2f}"), "rsi_modified": ("RSImod", "{:.2f}"), "reps": ("reps", "{:d}"),
             "peak_landing_force_bw": ("landing peak", "{:.1f} BW"), "quiet_sd_n": ("SD", "{:.1f} N")}
    return "  ".join(f"{names[k][0]} {names[k][1].format(v)}" for k, v in key.items() if k in names)


def _what_to_do(reason: str) -> str:
    r = reason.lower()
    if "disk is full" in r or "write" in r:
        return "Free disk space (or choose another --data folder), then redo the trial."
    if "plate" in r and ("disconnect" in r or "ended" in r):
        return "Check the plate's USB cable and plug it back in, then redo the trial."
    if "camera" in r and ("ended" in r or "disconnect" in r or "unplug" in r):
        return "Check the camera's USB 3 cable, then redo the trial."
    if "no data" in r or "no frames" in r or "stall" in r:
        return "A device stopped sending: check its cable and USB port, then redo the trial."
    if "timeout" in r:
        return "The movement did not finish in time: explain the task again and redo the trial."
    if "start" in r:
        return "Ask the athlete to get on the plate and stand still, then redo the trial."
    return "Redo the trial."


def results_table(session: Session) -> list[str]:
    lines = [f"{'#':>2} {'step':<24} {'try':>3} {'status':<9} {'verdict':<30} key numbers"]
    for i, t in enumerate(session.trials, 1):
        lines.append(f"{i:>2} {t.step:<24} {t.attempt:>3} {t.status:<9} "
                     f"{t.verdict.label()[:30]:<30} {_format_key(t.key_numbers)}")
    if session.clock_fit:
        c = session.clock_fit
        lines.append(f"time sync: camera->plate offset {c['offset_at_t0_s'] * 1e3:+.1f} ms, drift "
                     f"{c['drift_ppm']:+.0f} ppm over {c['n_trials']} trials "
                     f"(rms residual {c['residual_rms_s'] * 1e3:.1f} ms)")
    return lines

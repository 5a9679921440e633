"""Runs a protocol with an athlete: for each step and attempt, prompt -> wait for the start
trigger -> record (station/recorder.py) -> stop trigger -> close the trial -> analyse it ->
time sync -> verdict -> key numbers on screen -> session.json updated. A fault (device
unplugged, stalled stream, full disk) marks the trial, tells the technician what happened and
what to do, and the session goes on with the next trial.

`station` is whatever provides the devices: station.simulated_station.SimulatedStation, or
RealStation in station/commands/capture.py. It has `plates` (open ForcePlate devices),
`calibrations` (plate stream -> PlateCalibration), `begin_trial(step, attempt) -> Camera | None`,
`end_trial()`, optionally `truth()` (simulation) and `camera_pose` (T_lab_from_depth).

Time sync (calibration/movement_sync.py, after calibration/time_sync.py): per trial with a
camera, the passive offset (t_plate - t_camera) from cross-correlating the plate's COM
acceleration with the camera's, measured in each movement window (push-off and landing of a jump, each squat rep);
the camera's COM height comes from the depth image through the camera pose
(camera_com_height: volume-weighted slices of the athlete's silhouette). The trial's offset is
the windows' mean, its uncertainty their standard error. Recorded in /results/sync of the trial
and in session.json; across the session a line (offset, drift) is fitted (fit_session_drift)
and the offset it gives at each trial is written back as `offset_applied_s` (what kinematics
should add to camera times).

Session start: the plate calibration check and the camera self-check (session_start_checks);
their warnings are shown and stored in every trial's settings.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from analysis.constants import G
from calibration.movement_sync import (SYNC_CUTOFF_HZ, SYNC_MIN_CORRELATION, camera_com_height,
                                       movement_sync)
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
    disk_min_free_bytes: int | None = None   # recorder's free-space guard (None: its defaults)
    disk_margin_s: float | None = None


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
        self.start_checks: dict = {}
        self.camera_cal = None

    # ---- session start: are the calibrations still valid? ---------------------------------
    def session_start_checks(self) -> dict:
        """The plate calibration check (calibration/plate.py PlateCalibration.check, with the
        zero read from the unloaded plate now) and the camera self-check
        (calibration/self_check.check_camera against the stored camera calibration; in
        simulation the simulated set-up's). Warnings are shown; the session goes on."""
        from calibration.plate import zero_from_window
        st = self.station
        out = {"plate": {}, "camera": {}}
        for name, cal in (getattr(st, "calibrations", {}) or {}).items():
            zero_now = None
            dev = next((p for p in st.plates if p.description.get("serial") == cal.device_serial),
                       st.plates[0] if st.plates else None)
            try:
                if dev is not None:
                    dev.start()
                    block = dev.read_until(int(0.5 * float(dev.description.get("rate_hz") or 1000)),
                                           timeout=3.0)
                    dev.stop()
                    if len(block):
                        zero_now = np.full(len(cal.zero_counts), np.nan)
                        z, _ = zero_from_window(block.counts)
                        zero_now[:len(z)] = z
                        zero_now = np.where(np.isfinite(zero_now), zero_now, cal.zero_counts)
            except Exception as exc:                    # no zero now: check the age only
                out["plate"].setdefault("notes", []).append(f"{name}: zero not read ({exc})")
            warnings = cal.check(zero_counts_now=zero_now)
            out["plate"][name] = {"calibration": cal.path or "", "date_utc": cal.date_utc,
                                  "warnings": warnings}
            for w in warnings:
                self.say(f"  ! {w}")
            if not warnings:
                self.say(f"  plate calibration {name}: ok ({cal.date_utc}, zero within limits)")
        self.camera_cal = None
        want_camera = getattr(st, "has_camera", None)
        want_camera = want_camera if want_camera is not None else getattr(st, "use_camera", False)
        if want_camera:
            cal = st.camera_calibration() if callable(getattr(st, "camera_calibration", None)) \
                else getattr(st, "camera_calibration", None)
            self.camera_cal = cal
            if cal is None:
                msg = ("WARNING: no camera calibration: the camera->plate pose is unknown, so the "
                       "time sync and kinematics cannot work; run `station calibrate camera`")
                out["camera"] = {"warnings": [msg]}
                self.say(f"  ! {msg}")
            else:
                try:
                    from calibration.self_check import check_camera
                    res = check_camera(st.camera_check_frames(), cal)
                    out["camera"] = {"calibration": cal.path or "", **res.as_dict(),
                                     "warnings": [res.message] if res.moved else []}
                    self.say(("  ! " if res.moved else "  ") + res.message)
                except UserError as exc:
                    out["camera"] = {"calibration": cal.path or "", "warnings": [str(exc)]}
                    self.say(f"  ! {exc}")
                except Exception as exc:
                    out["camera"] = {"calibration": cal.path or "",
                                     "warnings": [f"camera self-check failed: {exc}"]}
                    self.say(f"  ! camera self-check failed: {exc}")
        return out

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
        self.start_checks = self.session_start_checks()
        self.session.start_checks = self.start_checks
        self._add_save()
        for step in steps:
            n = self.options.trials or step.trials
            for attempt in range(1, n + 1):
                self._retry_save()
                outcome = self.run_trial(step, attempt)
                self.outcomes.append(outcome)
                if step.rest_s and not self.options.skip_rest and attempt < n:
                    self._rest(step.rest_s)
        self.fit_session_sync()
        self._retry_save()
        return self.session

    def _add_save(self) -> None:
        try:
            self.session.save()
        except OSError as exc:
            self._unsaved = True
            self.say(f"  ! cannot update {self.session.folder / 'session.json'}: {exc.strerror}")

    def _retry_save(self) -> None:
        """session.json could not be updated (full disk): try again (space may be free now)."""
        if not getattr(self, "_unsaved", False):
            return
        try:
            self.session.save()
            self._unsaved = False
            self.say(f"  {self.session.folder / 'session.json'} is up to date again")
        except OSError:
            pass

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
        cam_cal = self.camera_cal
        if camera is not None and cam_cal is not None:
            # the whole camera calibration (calibration/camera_calibration_store.trial_record)
            # under the name the analysis reads (/calibration/camera_pose)
            extra["camera_pose"] = cam_cal.trial_record()
        elif camera is not None and getattr(st, "camera_pose", None) is not None:
            extra["camera_pose"] = ({"source": getattr(st, "camera_pose_source", "")},
                                    {"T_lab_from_depth": np.asarray(st.camera_pose, float)})
        disk = {k: v for k, v in (("disk_min_free_bytes", self.options.disk_min_free_bytes),
                                  ("disk_margin_s", self.options.disk_margin_s)) if v is not None}
        rec = Recorder(st.plates, camera, st.calibrations, write_hook=self.options.write_hook,
                       extra_calibrations=extra, **disk)
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
                             "station": getattr(st, "describe", lambda: "")(),
                             "session_start_checks": self.start_checks}}
        if hasattr(st, "trial_settings"):
            meta["settings"]["simulation"] = st.trial_settings()
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
            self._unsaved = True
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
            # force first: the time sync needs the body mass; the kinematics need the sync
            force = analyze_trial(str(path), ForceSettings(), FORCE_KIND[step.kind], write=True,
                                  skeleton=False)
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
            sync = self._sync(path, force, truth, step)
            if "synced" in step.checks:
                synced = bool(sync.get("ok"))
                if not synced:
                    reasons.append("not synced: " + sync.get("why", "no usable time sync"))
        elif "synced" in step.checks and not has_camera:
            sync = {"why": "no camera in this trial"}
        if has_camera and self.options.skeleton and force is not None:
            self._kinematics(path, force, sync)
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

    def _kinematics(self, path, force: dict, sync: dict) -> None:
        """Skeleton + kinematics on the plate's time base: with the trial's own sync when it
        passed (written to /results/sync, read back by add_kinematics), else with the session's
        clock line so far (interpolated between synced trials), else unsynced and saying so."""
        from station.commands.analyze import add_kinematics
        extra = {}
        if not sync.get("ok"):
            mid = sync.get("mid_time_host_s") or sync.get("trial_mid_time_host_s")
            fit = self._fit_so_far()
            if fit is not None and mid is not None:
                extra = {"skeleton": {"time_offset_s": float(fit.offset_at(mid)),
                                      "time_offset_source": "session clock fit so far "
                                      f"({fit.n_trials} synced trials)"}}
        try:
            add_kinematics(str(path), force, True, settings=extra)
        except UserError as exc:
            force.setdefault("warnings", []).append(f"kinematics skipped: {exc}")

    def _fit_so_far(self):
        from calibration.time_sync import fit_session_drift
        rows = [o for o in self.outcomes if o.sync.get("ok") and o.sync.get("offset_s") is not None
                and o.sync.get("mid_time_host_s") is not None]
        if not rows:
            return None
        return fit_session_drift([o.sync["mid_time_host_s"] for o in rows],
                                 [o.sync["offset_s"] for o in rows])

    def _sync(self, path, force, truth, step=None) -> dict:
        """The trial's camera->plate offset: passive (movement_sync) always; and, when the
        protocol step asks for an event both devices see (`sync_event: stomp | landing`),
        calibration.event_sync - which then gives the trial's offset when it was found, with
        the passive result kept beside it. Written to /results/sync."""
        out = self._passive_sync(path, force, truth)
        event_name = getattr(step, "sync_event", None) if step is not None else None
        if not event_name:
            self._write_sync(path, out, PASSIVE_SETTINGS)
            return out
        from calibration.event_sync import event_sync
        from data.trial import open_trial
        passive = {k: out.get(k) for k in ("ok", "offset_s", "uncertainty_s", "correlation",
                                            "windows", "why") if out.get(k) is not None}
        try:
            with open_trial(path) as t:
                ev = event_sync(t, event_name)
        except Exception as exc:                # no event found: the passive result stands
            out["event"] = {"ok": False, "why": f"{event_name}: {exc}"}
            if not out.get("ok"):
                out["why"] = f"{event_name} not found ({exc}); passive: {out.get('why', '?')}"
            self._write_sync(path, out, PASSIVE_SETTINGS)
            return out
        ev = dict(ev)
        ok = bool(ev.get("ok", True)) and math.isfinite(float(ev.get("uncertainty_s", math.nan))) \
            and float(ev["uncertainty_s"]) < SYNC_OK_S
        new = {**{k: v for k, v in ev.items() if not isinstance(v, (list, dict))},
               "ok": ok, "passive": passive,
               "trial_mid_time_host_s": out.get("trial_mid_time_host_s")}
        new.setdefault("mid_time_host_s", ev.get("event_time_host_s"))
        if new.get("mid_time_host_s") is not None:
            new.update(_truth_at(truth, path, new["mid_time_host_s"]))
        if not ok:
            new["why"] = ev.get("why") or (f"{event_name}: uncertainty "
                                           f"{float(ev.get('uncertainty_s', math.nan)) * 1e3:.1f} ms")
            if out.get("ok"):                   # the passive sync passed: keep it
                out["event"] = {k: v for k, v in new.items() if k != "passive"}
                self._write_sync(path, out, PASSIVE_SETTINGS)
                return out
        self._write_sync(path, {k: v for k, v in new.items() if v is not None})
        return {k: v for k, v in new.items() if v is not None}

    def _write_sync(self, path, out: dict, settings: dict | None = None) -> None:
        from data.trial import write_results
        try:
            write_results(path, "sync",
                          attrs={k: v for k, v in out.items() if v is not None and not isinstance(v, list)},
                          arrays={"window_offsets_s": np.asarray(out.get("window_offsets_s", []), float),
                                  "window_times_host_s": np.asarray(out.get("window_times_host_s", []), float)},
                          settings=settings or {"method": out.get("method", "")})
        except Exception as exc:
            out["write_error"] = str(exc)

    def _passive_sync(self, path, force, truth) -> dict:
        from data.trial import open_trial
        try:
            with open_trial(path) as t:
                t_cam, z, how = camera_com_height(t)
                from analysis.force.trial_force import force_from_trial
                tf = force_from_trial(t)
            fz = tf.fz_n if tf.fz_n.ndim == 1 else tf.fz_n.sum(axis=1)
            est = movement_sync(tf.time_s, fz, force["body_mass_kg"], t_cam, z)
        except Exception as exc:
            out = {"ok": False, "why": f"{type(exc).__name__}: {exc}"}
            try:
                with open_trial(path) as t:
                    th = np.asarray(t.stream("plate1").time_host_s)
                out["trial_mid_time_host_s"] = float(0.5 * (th[0] + th[-1]))
                out.update(_truth_at(truth, path, out["trial_mid_time_host_s"]))
            except Exception:
                pass
            return out
        out = {**est, "camera_com": how}
        unc = est["uncertainty_s"]
        # synced: the offset is known to better than SYNC_OK_S (1 sigma, from >= 2 movement
        # windows that agree) and the movement correlates well between the two devices
        out["ok"] = bool(est["correlation"] > SYNC_MIN_CORRELATION and math.isfinite(unc)
                         and unc < SYNC_OK_S)
        if not out["ok"]:
            out["why"] = (f"correlation {est['correlation']:.2f}, uncertainty "
                          + (f"{unc * 1e3:.1f} ms" if math.isfinite(unc) else
                             f"unknown ({est['windows']} movement window)"))
        out.update(_truth_at(truth, path, out["mid_time_host_s"]))
        return out

    # ---- across the session ------------------------------------------------------------------
    def fit_session_sync(self) -> dict:
        from calibration.time_sync import fit_session_drift
        rows = [o for o in self.outcomes if o.sync.get("offset_s") is not None
                and (_is_event(o.sync) and o.sync.get("ok")
                     or o.sync.get("correlation", 0) > SYNC_MIN_CORRELATION)]
        if not rows:
            return {}
        # weights 1/sigma. Passive trials: the scatter of the movement windows about their
        # trial's mean, pooled over the session's passive trials (two windows alone estimate
        # their own spread poorly), over sqrt(windows). Event trials: their own uncertainty
        # (calibration.event_sync: camera frame period and the measured contact bias spread).
        res, n_win = [], []
        passive_rows = [o for o in rows if not _is_event(o.sync)]
        for o in passive_rows:
            w_off = np.asarray(o.sync.get("window_offsets_s") or [o.sync["offset_s"]], float)
            res.extend(w_off - w_off.mean())
            n_win.append(len(w_off))
        dof = len(res) - len(passive_rows)
        pooled = float(np.sqrt(np.sum(np.square(res)) / dof)) if dof > 0 else math.nan
        sigma = []
        for o in rows:
            if _is_event(o.sync):
                sigma.append(float(o.sync["uncertainty_s"]))
            else:
                n = len(o.sync.get("window_offsets_s") or [0])
                sigma.append(pooled / math.sqrt(n) if math.isfinite(pooled) and pooled > 0
                             else SYNC_OK_S)
        w = 1.0 / np.maximum(np.asarray(sigma, float), 1e-4)
        fit = fit_session_drift([o.sync["mid_time_host_s"] for o in rows],
                                [o.sync["offset_s"] for o in rows], weights=w)
        n_event = sum(_is_event(o.sync) for o in rows)
        self.session.clock_fit = {**fit.to_dict(), "window_sd_pooled_s": pooled,
                                  "trials_event": n_event, "trials_passive": len(rows) - n_event,
                                  "method": "each synced trial's offset (passive: mean of its "
                                  "movement windows; event: stomp / landing contact) fitted with a "
                                  "line across the session, weights 1/sigma "
                                  "(calibration.time_sync.fit_session_drift)"}
        for o in passive_rows:
            n = len(o.sync.get("window_offsets_s") or [0])
            o.sync["uncertainty_pooled_s"] = pooled / math.sqrt(n) if math.isfinite(pooled) else None
        for o in rows:
            applied = float(fit.offset_at(o.sync["mid_time_host_s"]))
            o.sync["offset_applied_s"] = applied
            o.record.sync = dict(o.sync)
            self._write_sync(o.path, o.sync, {"method": o.sync.get("method", ""),
                                              "session_fit": fit.to_dict()})
        self._sync_by_session_fit(fit, rows)
        self._rerun_kinematics()
        self.session.save()
        return self.session.clock_fit

    def _rerun_kinematics(self) -> None:
        """The kinematics of each trial ran right after it, with the best offset known then.
        Where the session's final clock line moves a trial's offset by more than
        KINEMATICS_RESYNC_S, its kinematics are run again with the final offset (read back
        from /results/sync), so every number in the session is on the plate's time base."""
        for o in self.outcomes:
            kin = (o.force or {}).get("kinematics")
            applied = o.sync.get("offset_applied_s")
            if kin is None or applied is None or not o.sync.get("ok", True):
                continue
            used = (kin.get("time_sync") or {}).get("offset_s")
            if used is not None and abs(float(used) - applied) <= KINEMATICS_RESYNC_S:
                continue
            self.say(f"  {o.record.step} {o.record.attempt}: kinematics again with the session's "
                     f"time offset ({applied * 1e3:+.1f} ms instead of "
                     + (f"{float(used) * 1e3:+.1f} ms)" if used is not None else "none)"))
            o.force.pop("kinematics", None)
            self._kinematics(o.path, o.force, o.sync)
            kin = o.force.get("kinematics")
            if kin is not None and o.record.verdict.tracked is not None:
                v = kin.get("verdict") or {}
                o.record.verdict.tracked = bool(v.get("ok"))

    def _sync_by_session_fit(self, fit, rows) -> None:
        """Camera trials without a usable sync of their own (slow squats, a drop jump whose
        only window starts on the box, a jump with one usable window) take their offset from
        the session's clock line, when that line rests on >= 2 synced trials or >= 3 trials
        that agree with it (rms residual < SYNC_OK_S), and only between the first and the last
        of those trials (+- SYNC_FIT_REACH_S; measured on the demo: a drift fitted on three CMJs
        30 s apart, extrapolated 60 s back to the squats, was 7.6 ms off the injected truth):
        their sync says 'session clock fit'."""
        if fit.n_trials < 2 or not fit.residual_rms_s < SYNC_OK_S:
            return
        synced_rows = {id(o) for o in rows if o.sync.get("ok")}
        mids = [o.sync["mid_time_host_s"] for o in rows]
        span = (min(mids), max(mids))
        if len(synced_rows) < 2 and fit.n_trials < 3:      # three trials on one line: a check
            return
        for o in self.outcomes:
            rec = o.record
            if id(o) in synced_rows or rec.verdict.synced is not False or not o.path:
                continue
            mid = o.sync.get("mid_time_host_s") or o.sync.get("trial_mid_time_host_s")
            if mid is None or not span[0] - SYNC_FIT_REACH_S <= mid <= span[1] + SYNC_FIT_REACH_S:
                continue                   # interpolation only: a drift from a few trials
                                           # close together extrapolates badly
            applied = float(fit.offset_at(mid))
            o.sync.update({"offset_applied_s": applied, "ok": True,
                           "source": "session clock fit (this trial's own sync: "
                                     + o.sync.get("why", "not usable") + ")"})
            rec.sync = dict(o.sync)
            rec.verdict.synced = True
            rec.verdict.reasons = [r for r in rec.verdict.reasons if not r.startswith("not synced")]
            self.say(f"  {rec.step} {rec.attempt}: synced by the session's clock fit "
                     f"({applied * 1e3:+.1f} ms)")
            self._write_sync(o.path, o.sync, {"method": "session clock fit",
                                              "session_fit": fit.to_dict()})


PASSIVE_SETTINGS = {"method": "passive_com_acceleration per movement window",
                    "cutoff_hz": SYNC_CUTOFF_HZ}
KINEMATICS_RESYNC_S = 0.001  # kinematics re-run when the final offset moves a trial's by more
SYNC_FIT_REACH_S = 5.0       # the session fit syncs other trials only between its trials (+- this)


def _truth_at(truth: dict, path, host_time_s: float) -> dict:
    """Simulation only: what the trial's offset should come out as at host_time_s.
    * truth_offset_s: the camera time error the simulator injected (t_plate - t_camera, true
      clocks);
    * truth_plate_host_error_s: how late the recorded plate host times are against the true
      instants there (the median over the plate samples within a second; what the driver's
      clock mapping keeps of the transport latency);
    * truth_alignment_offset_s: their sum, the offset that puts each camera frame on the
      recorded plate samples of the same instant - what the sync is for, since the kinematics
      are aligned to the recorded plate times.
    {} outside a simulation."""
    out = {}
    if truth.get("camera_offset_at") is None:
        return out
    out["truth_offset_s"] = float(truth["camera_offset_at"](host_time_s))
    true_host = truth.get("plate_true_host_time")
    if true_host is None:
        return out
    from data.trial import open_trial
    try:
        with open_trial(path) as t:
            st = next(s for s in t.streams().values() if s.kind == "force")
            th = np.asarray(st.time_host_s, float)
            near = np.flatnonzero(np.abs(th - host_time_s) <= 1.0)
            td = np.asarray(st.time_device_s, float)[near]
        if len(near) == 0:
            return out
        err = float(np.median(th[near] - np.asarray(true_host(td), float)))
    except (StopIteration, ValueError, KeyError, OSError):
        return out
    if math.isfinite(err):
        out["truth_plate_host_error_s"] = err
        out["truth_alignment_offset_s"] = out["truth_offset_s"] + err
    return out


def _is_event(sync: dict) -> bool:
    return str(sync.get("method", "")).startswith("event")


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
    if "disk almost full" in r:
        return "Nothing was lost: the trial ended before the disk filled."
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

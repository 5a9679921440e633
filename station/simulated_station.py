"""The virtual station (`station capture --simulate`, `station demo`): the same drivers and
recorder as with real devices, fed by the virtual athlete.

* Force plate: drivers.virtual_plate.VirtualPlate, a real serial device on a pty, read by
  drivers.force_plate.ForcePlate. Its per-cell loads come from the athlete's motion for the
  current step (drivers/athlete/motion.py), in real time. Its device clock runs with its own
  offset and drift (`plate_clock_offset_s`, `plate_clock_drift_ppm`), which the driver's clock
  mapping must take out. Its calibration is known exactly (its offsets and gains), so the
  station uses that one, as a calibrated plate would.
* Camera: drivers.virtual_camera.VirtualCamera (a pyrealsense2 software_device) fed by the
  renderer (drivers/athlete/render.py), at the real camera's rates: depth 848x480 at 90 fps and
  color 640x480 at 30 fps. Rendering costs more than real time on this machine (depth ~12 ms a
  frame at load 4, i.e. ~1.1 s per second of 90 fps video; color more), so each trial's frames
  are rendered BEFORE its capture starts (Renderer.render_frames into a temporary
  Blosc-compressed HDF5 dataset, so memory stays flat) and the screen shows the progress. Lower
  rates (`depth_fps`, `color_fps`, e.g. `station demo --camera-fps 30,10`) are an explicit
  option: printed by describe() and stored in each trial (settings.simulation).
* Known camera<->plate time error, for the time-sync checks: every camera frame shows the
  athlete as he was `camera_offset_s + camera_drift_ppm * 1e-6 * (t - session start)` later
  than its timestamp says (the same as a camera clock that is that much behind), so
  time_sync.offset_s (t_plate - t_camera) must come out as exactly that. `truth()` gives it.
* If the renderer cannot be imported, the station runs without a camera and says so.

Timeline of a trial: `lead_s` before the movement (empty plate before a step_on start, quiet
standing before a still start, nothing for immediate), then the motion, then the motion's last
state (standing) for as long as the capture goes on.
"""
from __future__ import annotations

import math
import os
import tempfile
import time

import numpy as np

from analysis.constants import G

LEAD_S = 1.3                   # before the motion: still needs 1 s of quiet
STEP_ON_RAMP_S = 0.3
TAIL_S = 4.0                   # camera frames prepared after the motion ends
KIND_OF_STEP = {"stand": "stand", "static": "static", "squat": "squat",
                "single-leg-squat": "single-leg-squat", "cmj": "cmj", "sj": "sj", "dj": "dj"}
REALTIME_MARGIN = 0.35         # render on the fly only if it takes < 35 % of real time: a live
                               # renderer near real time falls behind while the recorder, the
                               # driver and the analysis share the 2 cores, and its late frames
                               # miss the trial (measured: 2 of 3 CMJs lost their sync at 0.6)
REAL_DEPTH_FPS, REAL_COLOR_FPS = 90, 30     # the real camera's rates (STATION.md)


class SimulatedStation:
    def __init__(self, traits=None, *, seed: int = 0, camera: bool = True, depth_fps: int = 90,
                 color_fps: int | None = 30, camera_offset_s: float = 0.040,
                 camera_drift_ppm: float = 50.0, plate_clock_offset_s: float = 1234.5,
                 plate_clock_drift_ppm: float = -30.0, plate_rate_hz: float = 1000.0,
                 say=print, view: str = "front", squat_tempo_s: float | None = None):
        from drivers.athlete.traits import Traits
        self.traits = traits or Traits()
        if squat_tempo_s is not None:
            self.traits = self.traits.with_(tempo_s=squat_tempo_s)
        self.seed = int(seed)
        self.say = say
        self.view = view
        self.depth_fps, self.color_fps = int(depth_fps), (int(color_fps) if color_fps else None)
        self.camera_offset_s = float(camera_offset_s)
        self.camera_drift_ppm = float(camera_drift_ppm)
        self.plate_clock_offset_s = plate_clock_offset_s
        self.plate_clock_drift_ppm = plate_clock_drift_ppm
        self.plate_rate_hz = plate_rate_hz
        self.camera_wanted = camera
        self.camera_note = ""
        if camera:
            try:
                import drivers.athlete.render  # noqa: F401
                import drivers.athlete.scene  # noqa: F401
            except ImportError as exc:
                self.camera_wanted = False
                self.camera_note = (f"the athlete renderer is not available ({exc}); "
                                    "simulating without a camera")
        self.session_t0 = time.time()
        self.vplate = None
        self.plate = None
        self._trial = None
        self._tmpdir = None
        self._n_trials = 0

    # ---- the devices for the whole session -------------------------------------------------
    def open(self) -> "SimulatedStation":
        from drivers.force_plate import ForcePlate
        from drivers.virtual_plate import VirtualPlate
        self.vplate = VirtualPlate(None, rate_hz=self.plate_rate_hz, seed=self.seed,
                                   clock_offset_s=self.plate_clock_offset_s,
                                   clock_drift_ppm=self.plate_clock_drift_ppm,
                                   name="simulated station plate").start()
        self.plate = ForcePlate(self.vplate.port, rate_hz=self.plate_rate_hz)
        self._tmpdir = tempfile.TemporaryDirectory(prefix="station-sim-")
        if self.camera_note:
            self.say(self.camera_note)
        return self

    @property
    def plates(self) -> list:
        return [self.plate]

    @property
    def calibrations(self) -> dict:
        """The virtual plate's exact calibration (its offsets and gains)."""
        from calibration.plate import PlateCalibration
        vp = self.vplate
        plates = [{**g.to_dict(), "channels": list(range(4 * k, 4 * k + 4))}
                  for k, g in enumerate(vp.geometry)]
        cal = PlateCalibration(device_serial=vp.serial, channels=vp.channels,
                               zero_counts=np.asarray(vp.offsets, float),
                               newtons_per_count=1.0 / np.asarray(vp.gains, float),
                               device_model="station-virtual-plate", plates=plates,
                               report={"method": "simulation: the virtual plate's exact offsets "
                                                 "and gains"})
        cal.path = "simulated (exact)"
        return {f"plate{k + 1}": cal for k in range(len(vp.geometry))}

    @property
    def has_camera(self) -> bool:
        return self.camera_wanted

    @property
    def reduced_rates(self) -> bool:
        """Slower than the real camera (depth only, without color, is not 'reduced')."""
        return self.camera_wanted and (self.depth_fps < REAL_DEPTH_FPS or
                                       (self.color_fps is not None and self.color_fps < REAL_COLOR_FPS))

    def rates_text(self) -> str:
        txt = (f"depth 848x480@{self.depth_fps}"
               + (f", color 640x480@{self.color_fps}" if self.color_fps else ", no color"))
        if self.reduced_rates:
            txt += (f" (REDUCED for speed: the real camera runs depth {REAL_DEPTH_FPS}, color "
                    f"{REAL_COLOR_FPS} fps)")
        return txt

    def describe(self) -> str:
        cam = (f"virtual camera ({self.rates_text()}) fed by the renderer, camera clock "
               f"{self.camera_offset_s * 1e3:+.0f} ms and {self.camera_drift_ppm:+.0f} ppm off "
               "the plate's" if self.camera_wanted else "no camera")
        return (f"virtual plate on {self.vplate.port} ({self.plate_rate_hz:g} Hz, device clock "
                f"{self.plate_clock_drift_ppm:+g} ppm), {cam}; athlete "
                f"{self.traits.height_m:.2f} m, {self.traits.mass_kg:.0f} kg, seed {self.seed}")

    def trial_settings(self) -> dict:
        """What the simulation was, stored in each trial's settings ('simulation')."""
        trial = self._trial or {}
        out = {"virtual_athlete": {"height_m": self.traits.height_m,
                                   "mass_kg": self.traits.mass_kg, "seed": self.seed},
               "plate_clock_offset_s": self.plate_clock_offset_s,
               "plate_clock_drift_ppm": self.plate_clock_drift_ppm,
               "camera": bool(trial.get("camera") is not None)}
        if trial.get("camera") is not None:
            out.update({"camera_depth_fps": self.depth_fps, "camera_color_fps": self.color_fps or 0,
                        "camera_rates_reduced": self.reduced_rates,
                        "camera_render": trial.get("render_note", ""),
                        "injected_camera_offset_s": self.camera_offset_s,
                        "injected_camera_drift_ppm": self.camera_drift_ppm})
        return out

    def camera_calibration(self):
        """The camera calibration of the simulated set-up: the exact pose the renderer uses,
        with the self-check reference seen in calibration frames of the empty plate
        (calibration.camera_wizard.make_calibration), as a stored calibration would have."""
        if getattr(self, "_camera_cal", None) is None:
            from calibration.camera_pose import CameraPose
            from calibration.camera_wizard import SimulatedCamera, make_calibration
            from drivers.camera_model import T_COLOR_FROM_DEPTH_D435, invert_pose, standard_camera_pose
            T = standard_camera_pose(self.view)
            pose = CameraPose(T_lab_from_depth=T, T_lab_from_color=T @ invert_pose(T_COLOR_FROM_DEPTH_D435),
                              method="simulation (exact pose)")
            self._sim_camera = SimulatedCamera(T, board=False, seed=self.seed + 101)
            frames = self._sim_camera.grab(6)
            self._camera_cal = make_calibration(pose, frames)
            self._camera_cal.path = "simulated (exact pose)"
        return self._camera_cal

    def camera_check_frames(self, n: int = 6):
        """Depth frames of the empty plate as the simulated camera sees it now (session start:
        calibration.self_check.check_camera)."""
        self.camera_calibration()
        return self._sim_camera.grab(n)          # fresh noise: the camera has not moved

    # ---- one trial -------------------------------------------------------------------------
    def begin_trial(self, step, attempt: int, with_camera: bool | None = None):
        """Set the athlete's movement for this trial on the plate (and the camera); returns an
        open, configured drivers.camera.Camera or None."""
        from drivers.athlete.motion import default_plates, simulate_motion
        if self.plate is not None and self.plate.ended:
            self._replug()
        self._n_trials += 1
        kind = KIND_OF_STEP[step.kind]
        kw = {}
        if kind in ("stand", "static"):
            kw["duration_s"] = step.duration_s + 3.0
        elif kind in ("squat", "single-leg-squat"):
            kw["reps"] = step.reps
        elif kind in ("cmj", "sj"):
            kw["reps"] = 1
        motion = simulate_motion(kind, self.traits, seed=self.seed * 1000 + self._n_trials,
                                 plates=default_plates(1), side=step.side or "left",
                                 box_height_m=step.box_height_m or 0.30,
                                 sync_event=getattr(step, "sync_event", None), **kw)
        lead = {"step_on": LEAD_S, "still": LEAD_S, "immediate": 0.0}[step.start]
        trial = {"motion": motion, "lead_s": lead, "step_on": step.start == "step_on",
                 "T0": None, "camera": None, "vcam": None}
        self._trial = trial
        first = [c[0] for c in motion.cell_loads_at(np.array([0.0]))]
        last = [c[0] for c in motion.cell_loads_at(np.array([motion.duration_s]))]
        vp = self.vplate

        def source(t_stream):
            t_stream = np.asarray(t_stream, float)
            h = vp.host_time_s(vp.stream_t0_device_s + t_stream)
            if trial["T0"] is None:
                trial["T0"] = float(h[0]) if len(h) else time.time()
            tau = h - trial["T0"] - lead
            loads = motion.cell_loads_at(np.clip(tau, 0.0, motion.duration_s))[0]
            loads = np.where((tau < 0)[:, None], first[0][None, :], loads)
            loads = np.where((tau > motion.duration_s)[:, None], last[0][None, :], loads)
            if trial["step_on"]:
                ramp = np.clip((tau + lead) / STEP_ON_RAMP_S - (lead - STEP_ON_RAMP_S) / STEP_ON_RAMP_S,
                               0.0, 1.0)
                loads = loads * ramp[:, None]
            return loads
        vp.set_source(source)
        use_camera = self.camera_wanted if with_camera is None else (with_camera and self.camera_wanted)
        if not use_camera:
            return None
        return self._camera_for(trial, motion, lead)

    def _camera_for(self, trial, motion, lead):
        from drivers.athlete.render import Renderer
        from drivers.athlete.scene import Scene
        from drivers.camera import Camera, StreamMode
        from drivers.camera_model import standard_camera_pose
        from drivers.virtual_camera import VirtualCamera
        T_lab_from_depth = standard_camera_pose(self.view)
        r = Renderer(T_lab_from_depth, shape=motion.body, scene=Scene.from_motion(motion),
                     seed=self.seed)
        trial["T_lab_from_depth"] = T_lab_from_depth
        planned_s = lead + motion.duration_s + TAIL_S
        streams = {"depth": self.depth_fps}
        if self.color_fps:
            streams["color"] = self.color_fps
        # measure the renderer on this machine now (3 frames per stream) to choose the way
        j = motion.joints_at(np.array([0.0]))[0]
        cost = 0.0
        for s, fps in streams.items():
            r.frame(j, s, 0)
            t0 = time.perf_counter()
            for i in range(3):
                r.frame(j, s, i)
            cost += (time.perf_counter() - t0) / 3 * fps
        # The camera's time error is baked into the frames, so it is fixed now, for when the
        # camera will start (after the pre-rendering, predicted from the cost just measured; a
        # prediction off by a few seconds changes it by 50 ppm x that: ~0.1 ms). truth() gives
        # exactly what the frames show.
        est_t0 = time.time() + (cost * planned_s if cost >= REALTIME_MARGIN else 0.0)
        d0 = self.camera_offset_s + self.camera_drift_ppm * 1e-6 * (est_t0 - self.session_t0)
        k = self.camera_drift_ppm * 1e-6
        trial["camera_delta"] = (d0, k)          # shown time = t + d0 + k t  (t since camera start)

        def shown_tau(t):
            return np.clip(t + d0 + k * t - lead, 0.0, motion.duration_s)
        if cost < REALTIME_MARGIN:
            blank = np.zeros((480, 640, 3), np.uint8)

            def frame_source(stream, n, t):
                if stream not in streams:
                    return blank
                return r.frame(motion.joints_at(np.array([shown_tau(t)]))[0], stream, n)
            trial["render_note"] = f"rendered live ({cost:.2f} s of rendering per second)"
        else:
            t0 = time.perf_counter()
            frame_source = self._prerender(r, motion, streams, planned_s, shown_tau, cost)
            trial["render_note"] = (f"pre-rendered before the capture: {planned_s:.1f} s of video "
                                    f"in {time.perf_counter() - t0:.1f} s")
        vcam = VirtualCamera(frame_source, speed=1.0, duration_s=planned_s + 60.0,
                             depth_fps=self.depth_fps, color_fps=self.color_fps or 30,
                             stereo_baseline_m=r.noise.baseline_m)
        cam = Camera.open_virtual(vcam)
        cam.configure(StreamMode(848, 480, self.depth_fps, "z16"),
                      StreamMode(640, 480, self.color_fps, "rgb8") if self.color_fps else None)
        trial["vcam"] = vcam
        trial["camera"] = cam
        trial["planned_s"] = planned_s

        orig_start = vcam.start

        def start_and_mark():
            orig_start()
            trial["T0"] = vcam.host_t0      # the motion's time zero is the camera's start
        vcam.start = start_and_mark
        return cam

    def _prerender(self, r, motion, streams, planned_s, shown_tau, cost):
        """Render the whole trial's frames now (Renderer.render_frames into Blosc-compressed
        HDF5 datasets in the session's temporary folder), showing the progress."""
        import h5py
        from data.trial_writer import image_compression
        rates = ", ".join(f"{s} {fps} fps" for s, fps in streams.items())
        self.say(f"  preparing the virtual camera: rendering {planned_s:.0f} s of video ({rates}) "
                 f"before the capture, since rendering takes {cost:.1f} s per second of video ...")
        path = os.path.join(self._tmpdir.name, f"frames_{self._n_trials}.h5")
        for old in os.listdir(self._tmpdir.name):        # the previous trial's frames
            try:
                os.remove(os.path.join(self._tmpdir.name, old))
            except OSError:
                pass
        f = h5py.File(path, "w")
        ds = {}
        total = sum(int(math.floor(planned_s * fps)) + 1 for fps in streams.values())
        done = [0]
        t_show = [time.monotonic()]

        def progress(i, n):
            if time.monotonic() - t_show[0] > 5.0:
                t_show[0] = time.monotonic()
                self.say(f"    rendered {(done[0] + i) * 100 // total} % ...")
        for s, fps in streams.items():
            n = int(math.floor(planned_s * fps)) + 1
            shape = (480, 848) if s == "depth" else (480, 640, 3)
            ds[s] = f.create_dataset(s, shape=(n,) + shape, dtype=np.uint16 if s == "depth" else np.uint8,
                                     chunks=(1,) + shape, **image_compression())
            t = np.arange(1, n + 1) / fps                 # frame k of a stream is taken at k / fps
            r.render_frames(motion.joints_at(shown_tau(t)), s, frame_indices=np.arange(1, n + 1),
                            progress=progress, out=ds[s])
            done[0] += n
        f.flush()
        self._trial["frames_file"] = f
        last = {s: d.shape[0] for s, d in ds.items()}

        blank = np.zeros((480, 640, 3), np.uint8)

        def frame_source(stream, n, t):
            if stream not in ds:          # the software device always feeds color: a stream
                return blank              # the camera was not configured for, never recorded
            return ds[stream][min(n, last[stream]) - 1]
        return frame_source

    @property
    def camera_pose(self):
        return (self._trial or {}).get("T_lab_from_depth")

    camera_pose_source = "simulation (exact)"

    def truth(self) -> dict:
        """What was injected for the current trial: the camera time error (t_plate - t_camera)
        at host time h is truth['camera_offset_at'](h); the true host time at which the virtual
        plate's clock read device time d is truth['plate_true_host_time'](d) (the recorded
        plate host times differ from it by what the driver's clock mapping keeps of the
        transport latency)."""
        trial = self._trial or {}
        out = {"motion_kind": trial["motion"].kind if trial else None}
        if self.vplate is not None and self.vplate.port is not None:       # started
            out["plate_true_host_time"] = self.vplate.host_time_s
        vcam = trial.get("vcam")
        if vcam is not None and vcam.host_t0 is not None:
            d0, k = trial["camera_delta"]
            h0 = vcam.host_t0
            out["camera_offset_at"] = lambda h: d0 + k * (np.asarray(h, float) - h0)
            out["render_note"] = trial.get("render_note", "")
        return out

    def end_trial(self) -> None:
        trial = self._trial or {}
        if trial.get("camera") is not None:
            try:
                trial["camera"].close()
            except Exception:
                pass
        if trial.get("frames_file") is not None:
            trial.pop("frames_file").close()
        self.vplate.set_source(None)

    # ---- faults (tests and demos of the fault handling) -----------------------------------
    def unplug_plate(self) -> None:
        self.vplate.unplug()

    def _replug(self) -> None:
        """The technician plugged the (virtual) plate back in: a new pty, the same plate."""
        from drivers.force_plate import ForcePlate
        from drivers.virtual_plate import VirtualPlate
        old = self.vplate
        self.plate.close()
        old.close()
        self.vplate = VirtualPlate(None, rate_hz=self.plate_rate_hz, seed=self.seed,
                                   serial=old.serial, gains_counts_per_n=old.gains,
                                   offsets_counts=old.offsets,
                                   clock_offset_s=self.plate_clock_offset_s,
                                   clock_drift_ppm=self.plate_clock_drift_ppm,
                                   name="simulated station plate").start()
        self.plate = ForcePlate(self.vplate.port, rate_hz=self.plate_rate_hz)
        self.say(f"  (the plate was plugged back in: {self.vplate.port})")

    def close(self) -> None:
        if self.plate is not None:
            self.plate.close()
        if self.vplate is not None:
            self.vplate.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()


def mass_of(traits) -> float:
    return traits.mass_kg * G

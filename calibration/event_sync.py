"""Camera <-> plate time offset from one event both devices see (issue #6).

    from calibration.event_sync import event_sync
    with open_trial(path) as t:
        s = event_sync(t, "stomp")        # or "landing"
    s["offset_s"]          # t_plate - t_camera: camera host times + offset_s = plate host times
    s["uncertainty_s"]     # 1 sigma (see below)

Events (the protocol step's `sync_event`):
* "stomp": the athlete, standing on the plate, lifts one foot ~10 cm and brings it down hard.
  Plate: the onset of the sharp rise of Fz on top of body weight (calibration/force_onset.py).
  Camera: the stomping foot's contact (calibration/foot_contact.stomp_contact).
* "landing": a jump's landing (a drop jump's landing from the box, a CMJ's landing). Plate: the
  first crossing of a small threshold after an unloaded period, extrapolated back to the
  unloaded level. Camera: the feet's contact (calibration/foot_contact.landing_contact).

Plate times come from the trial's force (analysis.force.trial_force.force_from_trial: the plate
stream's time_host_s), camera times from the depth stream's time_host_s; the camera's contact
is searched within a second of the plate's (both clocks are on the host clock already; what is
measured is the residual offset of tens of milliseconds).

Uncertainty (1 sigma), derived, not assumed: the sum in quadrature of
* camera_fit: the marker's frame-to-frame noise propagated through the fit of the descent to
  the contact time (the fit's covariance). Stomp: the noise is measured in the trial itself
  (the spread of the stomping foot's marker while it rests); landing: the reading's spread
  measured on the virtual camera (foot_contact.LANDING_READING_SD_M). The frame period enters
  here: fewer frames on the descent, a longer extrapolation, a larger term.
* camera_reference: the error of the level the descent is extrapolated to (stomp: the marker's
  rest value, noise / sqrt(frames averaged); landing: the spread of the contact reading), over
  the foot's speed at contact.
* marker_bias: the spread of the marker's bias measured on virtual trials against the true
  foot height (stomp: STOMP_MARKER_BIAS_SD_M; landing: the spread of the extrapolation's error,
  LANDING_EXTRAPOLATION_SD_S), docs/EVENT_SYNC.md.
* plate_sampling: the plate's sample period / sqrt(12) (its onset is interpolated between
  samples; the force noise adds far less).
Truth (simulation) is never read here.
"""
from __future__ import annotations

import math

import numpy as np

EVENTS = ("stomp", "landing")
# measured on virtual trials against the truth (docs/EVENT_SYNC.md)
STOMP_MARKER_BIAS_SD_M = 0.0006       # forefoot marker minus true foot height, per trial mean
LANDING_EXTRAPOLATION_SD_S = 0.0020   # landing contact, camera side, beyond the marker noise
MAX_OK_UNCERTAINTY_S = 0.005      # as station.capture_session.SYNC_OK_S


def _total_fz(trial):
    from analysis.force.trial_force import force_from_trial
    tf = force_from_trial(trial)
    fz = np.asarray(tf.fz_n, float)
    if fz.ndim == 2:
        fz = fz.sum(axis=1)
    return np.asarray(tf.time_s, float), fz


def plate_event_time(trial, event: str) -> dict:
    """The event's onset in the plate's force, plate host time."""
    from calibration.force_onset import landing_onset, stomp_onset
    t, fz = _total_fz(trial)
    return stomp_onset(t, fz) if event == "stomp" else landing_onset(t, fz)


def camera_event_time(trial, event: str, t_guess_host_s: float) -> dict:
    """The foot contact seen in depth, camera host time, searched near t_guess_host_s."""
    from calibration.foot_contact import landing_contact, stomp_contact
    from calibration.foot_tracking import depth_frames
    frames = depth_frames(trial)
    if event == "stomp":
        return stomp_contact(frames, t_guess_host_s)
    return landing_contact(frames, t_guess_host_s)


def event_sync(trial, event: str) -> dict:
    """Offset t_plate - t_camera from one event (see the module doc). Returns
    {offset_s, uncertainty_s, method ('event:stomp' | 'event:landing'), event_time_host_s (the
    event on the plate's time base), camera_event_time_host_s, mid_time_host_s (where the
    offset holds: the event's time), ok, why (when not ok), plate: {...}, camera: {...},
    uncertainty_terms_s: {...}}. Raises ValueError with a one-line reason when the event is not
    found (no stomp in the force, the foot not seen, no depth stream, ...)."""
    if event not in EVENTS:
        raise ValueError(f"unknown sync event {event!r}; expected one of {', '.join(EVENTS)}")
    try:
        plate = plate_event_time(trial, event)
    except ValueError as exc:
        raise ValueError(f"{event} not found on the plate: {exc}") from None
    try:
        cam = camera_event_time(trial, event, plate["time_host_s"])
    except ValueError as exc:
        raise ValueError(f"{event} not found by the camera: {exc}") from None
    period = cam["frame_period_s"]
    bias = (STOMP_MARKER_BIAS_SD_M / cam["speed_m_s"] if event == "stomp"
            else LANDING_EXTRAPOLATION_SD_S)
    terms = {"camera_fit": cam["sigma_fit_s"], "camera_reference": cam["sigma_rest_s"],
             "marker_bias": bias, "plate_sampling": plate["sample_period_s"] / math.sqrt(12.0)}
    finite = [v for v in terms.values() if math.isfinite(v)]
    unc = float(math.sqrt(sum(v * v for v in finite))) if len(finite) == len(terms) else math.nan
    t_plate, t_cam = plate["time_host_s"], cam["time_host_s"]
    out = {"offset_s": float(t_plate - t_cam), "uncertainty_s": unc, "method": f"event:{event}",
           "event_time_host_s": float(t_plate), "camera_event_time_host_s": float(t_cam),
           "mid_time_host_s": float(t_plate), "camera_frame_period_s": float(period),
           "uncertainty_terms_s": terms, "plate": plate, "camera": cam}
    out["ok"] = bool(math.isfinite(unc) and unc < MAX_OK_UNCERTAINTY_S)
    if not out["ok"]:
        out["why"] = (f"uncertainty {unc * 1e3:.1f} ms" if math.isfinite(unc)
                      else "uncertainty unknown") + f" (limit {MAX_OK_UNCERTAINTY_S * 1e3:.0f} ms)"
    return out

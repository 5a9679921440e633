"""A trial as a C3D file (ezc3d): skeleton points (when the trial has skeleton results) and one
force platform per plate, readable by ezc3d, Mokka, OpenSim's C3D adapter and the like.

Layout
- POINT: the joint centres of /results/skeleton (or /results/kinematics) `joints_lab_m`, labels
  = analysis.joints.JOINT_NAMES, in millimetres (POINT:UNITS "mm"; C3D tools expect mm), lab frame
  (x = athlete's right, y = forward, z up). C3D needs the analog rate to be an integer multiple of
  the point rate: the point rate is analog_rate / round(analog_rate / camera_rate) (1000 Hz force
  and 30 fps camera: 1000/33 = 30.30 Hz) and the joints are linearly interpolated onto that grid
  (POINT:DESCRIPTIONS says so). Without skeleton results there are no points (POINT:USED 0) and
  the point rate is analog_rate / 10.
- ANALOG: per plate six channels of a TYPE 2 platform, Fx Fy Fz (N) and Mx My Mz (N*mm), the
  ground reaction on the athlete in the lab frame (Fz > 0 when loaded), moments about the centre
  of the plate's top surface. Our plates measure vertical load only: Fx = Fy = Mz = 0; Mx, My
  come from the load cells' positions (Mx = sum(F_i y_i), My = -sum(F_i x_i)); a plate known only
  by its total Fz (imported recordings) has Mx = My = 0 (centre of pressure at its centre; said in
  ANALOG:DESCRIPTIONS).
- FORCE_PLATFORM: USED, TYPE (2), ZERO, CORNERS (3x4 per plate, mm, lab frame; corner 1 at
  +x+y, then -x+y, -x-y, +x-y), ORIGIN (0,0,0: moments are about the top-surface centre),
  CHANNEL (1-based analog channels per plate), CAL_MATRIX (identity, 6x6).
Time zero of both is the force stream's first sample (the analysis time base).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHANNELS = ("Fx", "Fy", "Fz", "Mx", "My", "Mz")
UNITS = ("N", "N", "N", "Nmm", "Nmm", "Nmm")


class ExportError(ValueError):
    """The trial cannot be exported (one-line reason)."""


@dataclass
class PlateSignals:
    name: str
    fz_n: np.ndarray            # (T,)
    mx_nm: np.ndarray           # (T,) N*m about the top-surface centre
    my_nm: np.ndarray
    corners_lab_m: np.ndarray   # (4, 3)
    cop_known: bool


def _geometry(trial, stream):
    from drivers.plate_geometry import PlateGeometry
    dev = trial.devices().get(stream.device)
    attrs = dict(dev.attrs) if dev is not None else {}
    keys = ("length_x_m", "width_y_m", "cell_half_x_m", "cell_half_y_m", "centre_lab_m", "name")
    d = {k: attrs[k] for k in keys if k in attrs}
    if isinstance(d.get("centre_lab_m"), np.ndarray):
        d["centre_lab_m"] = tuple(float(x) for x in d["centre_lab_m"])
    geo = PlateGeometry.from_dict(d) if d else PlateGeometry()
    cells = dev.arrays.get("cell_positions_plate_m") if dev is not None else None
    return geo, (np.asarray(cells, float) if cells is not None else geo.cell_positions_plate_m)


def _corners(geo) -> np.ndarray:
    cx, cy, cz = (float(v) for v in geo.centre_lab_m)
    a, b = geo.length_x_m / 2, geo.width_y_m / 2
    return np.array([[cx + a, cy + b, cz], [cx - a, cy + b, cz], [cx - a, cy - b, cz], [cx + a, cy - b, cz]])


def plate_signals(trial, tf) -> list[PlateSignals]:
    """Per plate Fz and moments. tf: analysis.force.trial_force.TrialForce of the same trial."""
    from drivers.plate_geometry import PlateGeometry
    fz = np.asarray(tf.fz_n, float)
    fz = fz[:, None] if fz.ndim == 1 else fz
    n = fz.shape[0]
    streams = [trial.stream(s) for s in tf.streams]
    out = []
    # per-cell newtons per plate: one N stream of 4 cells per plate (simulated / virtual plates);
    # count streams: the cells are recomputed by force_from_trial only as Fz, so COP = centre
    for k in range(fz.shape[1]):
        st = streams[k] if len(streams) == fz.shape[1] else None
        geo, pos = (_geometry(trial, st) if st is not None else (PlateGeometry(name=f"plate{k + 1}"), None))
        mx = my = np.zeros(n)
        known = False
        if st is not None and st.unit == "N" and st.attrs.get("content") != "fz_per_plate" \
                and st.sample_shape == (4,) and pos is not None:
            cells = np.asarray(st.read()[:n], float)
            mx, my = cells @ pos[:, 1], -(cells @ pos[:, 0])
            known = True
        elif fz.shape[1] == 1 and tf.cop_plate_m is not None:
            cop = np.nan_to_num(np.asarray(tf.cop_plate_m, float))
            mx, my = fz[:, 0] * cop[:, 1], -fz[:, 0] * cop[:, 0]
            known = True
        out.append(PlateSignals(st.name if st is not None else f"plate{k + 1}", fz[:, k], mx, my,
                                _corners(geo), known))
    return out


def _int_parameter(c, group: str, name: str, value: np.ndarray) -> None:
    """An integer C3D parameter. ezc3d's add_parameter stores numpy integers as floats, and C3D
    readers want FORCE_PLATFORM:USED/TYPE/CHANNEL as integers: build it with ezc3d's Parameter."""
    import ezc3d
    v = np.asarray(value)
    p = ezc3d.ezc3d.Parameter(name, "")
    p.set(ezc3d.ezc3d.VecInt([int(x) for x in v.reshape(-1, order="F")]), list(v.shape))
    c._storage["parameters"].add_parameter(group, p)


def export_c3d(trial_path, out_path) -> dict:
    """Write the C3D file; returns a summary (rates, counts, labels)."""
    import ezc3d

    from analysis.force.trial_force import TrialForceError, force_from_trial
    from analysis.joints import JOINT_NAMES
    from analysis.report.trial_view import kinematics_of
    from data.trial import open_trial

    with open_trial(trial_path) as t:
        try:
            tf = force_from_trial(t)
        except TrialForceError as exc:
            raise ExportError(str(exc)) from None
        plates = plate_signals(t, tf)
        kin, _ = kinematics_of(t)
    analog_rate = float(tf.rate_hz)
    have_points = kin is not None and kin.joints_lab_m is not None and len(kin.time_s) > 1
    if have_points:
        cam_rate = (len(kin.time_s) - 1) / (kin.time_s[-1] - kin.time_s[0])
        ratio = max(1, int(round(analog_rate / cam_rate)))
    else:
        ratio = 10
    point_rate = analog_rate / ratio
    n_frames = len(plates[0].fz_n) // ratio
    if n_frames < 1:
        raise ExportError(f"{trial_path}: too few force samples for a C3D file")
    n_analog = n_frames * ratio

    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = np.array([point_rate])
    c["parameters"]["ANALOG"]["RATE"]["value"] = np.array([analog_rate])
    if have_points:
        t_frames = np.arange(n_frames) / point_rate
        J = kin.joints_lab_m.shape[1]
        names = list(JOINT_NAMES[:J])
        pts = np.ones((4, J, n_frames))
        for j in range(J):
            for a in range(3):
                pts[a, j] = 1000.0 * np.interp(t_frames, kin.time_s, kin.joints_lab_m[:, j, a],
                                               left=np.nan, right=np.nan)
        c["parameters"]["POINT"]["LABELS"]["value"] = names
        c["parameters"]["POINT"]["DESCRIPTIONS"]["value"] = [
            f"joint centre, lab frame, from {kin.source}, interpolated to {point_rate:.4g} Hz"] * J
        c["data"]["points"] = pts
    else:
        c["data"]["points"] = np.ones((4, 0, n_frames))
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]

    labels, units, descs, chans = [], [], [], []
    analogs = np.zeros((1, 6 * len(plates), n_analog))
    for k, p in enumerate(plates):
        zeros = np.zeros(n_analog)
        sig = (zeros, zeros, p.fz_n[:n_analog], 1000.0 * p.mx_nm[:n_analog],
               1000.0 * p.my_nm[:n_analog], zeros)
        for i, (ch, unit, y) in enumerate(zip(CHANNELS, UNITS, sig)):
            analogs[0, 6 * k + i] = y
            labels.append(f"{ch}{k + 1}")
            units.append(unit)
            note = "" if p.cop_known or ch not in ("Mx", "My") else " (unknown: plate known by Fz only)"
            descs.append(f"{p.name} {ch}, ground reaction on the athlete, lab frame{note}")
        chans.append(list(range(6 * k + 1, 6 * k + 7)))
    c["parameters"]["ANALOG"]["LABELS"]["value"] = labels
    c["parameters"]["ANALOG"]["DESCRIPTIONS"]["value"] = descs
    c["parameters"]["ANALOG"]["UNITS"]["value"] = units
    c["data"]["analogs"] = analogs

    npl = len(plates)
    _int_parameter(c, "FORCE_PLATFORM", "USED", np.array([npl]))
    _int_parameter(c, "FORCE_PLATFORM", "TYPE", np.array([2] * npl))
    _int_parameter(c, "FORCE_PLATFORM", "ZERO", np.array([1, 0]))
    corners = np.stack([1000.0 * p.corners_lab_m.T for p in plates], axis=-1)      # (3, 4, n)
    c.add_parameter("FORCE_PLATFORM", "CORNERS", corners)
    c.add_parameter("FORCE_PLATFORM", "ORIGIN", np.zeros((3, npl)))
    _int_parameter(c, "FORCE_PLATFORM", "CHANNEL", np.array(chans).T)
    c.add_parameter("FORCE_PLATFORM", "CAL_MATRIX", np.stack([np.eye(6)] * npl, axis=-1))
    out_path = Path(out_path)
    c.write(str(out_path))
    return {"path": out_path, "point_rate_hz": point_rate, "analog_rate_hz": analog_rate,
            "points": len(c["parameters"]["POINT"]["LABELS"]["value"]) if have_points else 0,
            "frames": n_frames, "plates": npl, "analog_labels": labels}

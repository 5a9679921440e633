"""From the whole-body vertical force to the feet, the centre of pressure and the load cells.

Centre of pressure of the whole body (inverted-pendulum balance of moments about the COM, no
change of angular momentum assumed): COP_xy = COM_xy - z_com * a_xy / (g + a_z), kept inside the
support. The vertical force is split between the feet by the lever rule along the line joining
their support centres; each foot's COP lies on its own heel->toe line (the toe alone when the heel
is up), at the same fore-aft offset as the whole-body COP. Lab frame, N, m.
"""
from __future__ import annotations

import numpy as np

from analysis.constants import G
from analysis.joints import JOINT_INDEX
from drivers.plate_geometry import PlateGeometry, split_load_to_cells

HEEL_UP_M = 0.005     # the heel counts as lifted when it is this much higher than the toe


def _support_segment(joints, side):
    heel = joints[:, JOINT_INDEX[f"{side}_heel"], :]
    toe = joints[:, JOINT_INDEX[f"{side}_toe"], :]
    start = heel[:, :2].copy()
    lifted = heel[:, 2] > toe[:, 2] + HEEL_UP_M
    start[lifted] = toe[lifted, :2]
    return start, toe[:, :2]


def _project_on_segment(p, a, b):
    d = b - a
    L2 = np.sum(d * d, axis=1)
    s = np.where(L2 > 0, np.sum((p - a) * d, axis=1) / np.where(L2 > 0, L2, 1.0), 0.0)
    s = np.clip(s, 0.0, 1.0)
    return a + s[:, None] * d


def whole_body_cop(com_lab, fz_n, mass_kg, fs_hz):
    """(T,2) COP from the COM path (inverted-pendulum relation)."""
    acc = np.gradient(np.gradient(com_lab[:, :2], 1 / fs_hz, axis=0), 1 / fs_hz, axis=0)
    g_eff = np.maximum(fz_n / mass_kg, 0.2 * G)
    return com_lab[:, :2] - com_lab[:, 2:3] * acc / g_eff[:, None]


def split_feet(joints_lab, com_lab, fz_n, on_plate, fs_hz, mass_kg, support="both"):
    """Per-foot vertical force (T,2) and COP (T,2,2) (NaN when the foot carries nothing)."""
    T = fz_n.shape[0]
    foot_fz = np.zeros((T, 2))
    foot_cop = np.full((T, 2, 2), np.nan)
    segs = {s: _support_segment(joints_lab, s) for s in ("left", "right")}
    cop = whole_body_cop(com_lab, fz_n, mass_kg, fs_hz)
    if support == "both":
        cL = 0.5 * (segs["left"][0] + segs["left"][1])
        cR = 0.5 * (segs["right"][0] + segs["right"][1])
        d = cR - cL
        sR = np.clip(np.sum((cop - cL) * d, axis=1) / np.sum(d * d, axis=1), 0.0, 1.0)
        line_pt = cL + sR[:, None] * d
        off = cop - line_pt
        foot_fz[:, 0] = (1 - sR) * fz_n
        foot_fz[:, 1] = sR * fz_n
        for k, side in enumerate(("left", "right")):
            c = cL if side == "left" else cR
            foot_cop[:, k] = _project_on_segment(c + off, *segs[side])
    else:
        k = 0 if support == "left" else 1
        foot_fz[:, k] = fz_n
        foot_cop[:, k] = _project_on_segment(cop, *segs[support])
    unloaded = foot_fz <= 0.0
    foot_cop[unloaded] = np.nan
    foot_fz[~on_plate] = 0.0
    return foot_fz, foot_cop


def cell_loads(foot_fz_n, foot_cop_lab, plates) -> list:
    """Per-load-cell vertical loads (T,4) N for each plate (drivers.plate_geometry's bilinear
    split). One plate: both feet on it. Two plates: plate1 under the left foot, plate2 under the
    right. The cells of a plate always sum to the force on it."""
    fz = np.asarray(foot_fz_n, dtype=float)
    cop = np.nan_to_num(np.asarray(foot_cop_lab, dtype=float))
    if len(plates) == 1:
        g: PlateGeometry = plates[0]
        total = fz.sum(axis=1)
        w = np.where(total > 0, total, 1.0)
        c = (fz[:, :, None] * cop).sum(axis=1) / w[:, None]
        c = c - np.asarray(g.centre_lab_m[:2], float)
        return [split_load_to_cells(total, c, g)]
    if len(plates) == 2:
        out = []
        for k, g in enumerate(plates):
            c = cop[:, k] - np.asarray(g.centre_lab_m[:2], float)
            c[fz[:, k] <= 0] = 0.0
            out.append(split_load_to_cells(fz[:, k], c, g))
        return out
    raise ValueError("one or two plates")

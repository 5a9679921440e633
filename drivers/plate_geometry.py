"""Geometry of a load-cell force plate and the split of a vertical load over its cells.

Lab frame (STATION.md): origin at the centre of the plate's top surface (of plate 1 when there
are two plates, unless a layout says otherwise), x to the athlete's right, y forward (the
direction the athlete faces in the reference set-up), z up. Units: m, N.
Cells are numbered 0..3: 0 = (+x,+y), 1 = (-x,+y), 2 = (-x,-y), 3 = (+x,-y) relative to the
plate centre.
"""
from __future__ import annotations

from dataclasses import dataclass, field, asdict

import numpy as np


@dataclass(frozen=True)
class PlateGeometry:
    length_x_m: float = 0.60          # top size along lab x
    width_y_m: float = 0.40           # top size along lab y
    cell_half_x_m: float = 0.26       # |x| of the load cells from the plate centre
    cell_half_y_m: float = 0.16       # |y| of the load cells from the plate centre
    centre_lab_m: tuple = (0.0, 0.0, 0.0)   # plate top centre in the lab frame
    name: str = "plate1"

    @property
    def cell_positions_plate_m(self) -> np.ndarray:
        """(4, 2) x, y of each cell relative to the plate centre."""
        a, b = self.cell_half_x_m, self.cell_half_y_m
        return np.array([[a, b], [-a, b], [-a, -b], [a, -b]], dtype=float)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["centre_lab_m"] = list(self.centre_lab_m)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PlateGeometry":
        d = dict(d)
        d["centre_lab_m"] = tuple(d.get("centre_lab_m", (0.0, 0.0, 0.0)))
        return cls(**d)


def split_load_to_cells(fz_n: np.ndarray, cop_plate_m: np.ndarray, geom: PlateGeometry) -> np.ndarray:
    """Per-cell vertical loads (T, 4) N for a total load fz (T,) acting at cop (T, 2) (plate frame).

    Bilinear split: the unique split that reproduces Fz and both moments and is linear in the
    centre of pressure; fz = sum of cells exactly."""
    fz = np.asarray(fz_n, dtype=float)
    cop = np.asarray(cop_plate_m, dtype=float)
    u = cop[..., 0] / geom.cell_half_x_m
    v = cop[..., 1] / geom.cell_half_y_m
    sx = np.array([1, -1, -1, 1], dtype=float)
    sy = np.array([1, 1, -1, -1], dtype=float)
    w = 0.25 * (1 + sx * u[..., None]) * (1 + sy * v[..., None])
    return fz[..., None] * w


def cells_to_force_and_cop(cells_n: np.ndarray, geom: PlateGeometry, min_fz_n: float = 20.0):
    """Inverse of split_load_to_cells: Fz (T,) and centre of pressure (T, 2) in the plate frame.
    COP is NaN where Fz < min_fz_n (undefined when unloaded)."""
    cells = np.asarray(cells_n, dtype=float)
    fz = cells.sum(axis=-1)
    pos = geom.cell_positions_plate_m
    with np.errstate(invalid="ignore", divide="ignore"):
        cop = (cells @ pos) / fz[..., None]
    cop[fz < min_fz_n] = np.nan
    return fz, cop

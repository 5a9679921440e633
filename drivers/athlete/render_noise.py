"""RealSense D400-like depth noise: noise-free depth (metres) -> z16 depth (uint16 mm).

Model (the parameters are `DepthNoise` fields):
- RMS depth error of a stereo camera: sigma_z = z^2 * subpixel / (fx * baseline)
  (Intel's D400 depth-RMS formula; baseline 50 mm for a D435, subpixel ~0.08 px); gaussian.
- quantised to the depth unit (1 mm) by rounding.
- out of range (z < min_z or z > max_z, or nothing hit) -> 0 (invalid).
- the D400 "invalid depth band" on the LEFT of the image: a pixel in column u is invalid where
  u < fx * baseline / z (the scene there is not seen by the right imager).
- holes at depth discontinuities: pixels next to a jump larger than max(edge_jump_m,
  edge_jump_rel * z) (grazing surfaces far away are not edges) are zeroed
  with probability `edge_hole_fraction` (mixed pixels the camera rejects).
- random single-pixel dropouts with probability `dropout_fraction`.
All randomness comes from the `rng` argument (np.random.Generator): same state, same image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drivers.camera_model import D400_SUBPIXEL_PX, D435_STEREO_BASELINE_M, d400_depth_rms_m


@dataclass(frozen=True)
class DepthNoise:
    baseline_m: float = D435_STEREO_BASELINE_M
    subpixel: float = D400_SUBPIXEL_PX
    min_z_m: float = 0.28
    max_z_m: float = 10.0
    depth_unit_m: float = 0.001
    edge_jump_m: float = 0.05               # a jump counts as an edge above max(this, edge_jump_rel * z)
    edge_jump_rel: float = 0.04
    edge_hole_fraction: float = 0.35
    dropout_fraction: float = 0.002
    left_band: bool = True

    def sigma_m(self, z_m, fx: float):
        """RMS depth error (m) at depth z (m) for a depth camera of focal length fx (px)."""
        return d400_depth_rms_m(z_m, fx, self.baseline_m, self.subpixel)


def quantise_depth(z_m: np.ndarray, noise: DepthNoise = DepthNoise()) -> np.ndarray:
    """Noise-free z16: round to the depth unit, 0 where invalid (out of range / no hit)."""
    z = np.asarray(z_m, dtype=float)
    valid = np.isfinite(z) & (z >= noise.min_z_m) & (z <= noise.max_z_m)
    out = np.zeros(z.shape, dtype=np.uint16)
    out[valid] = np.rint(z[valid] / noise.depth_unit_m).astype(np.uint16)
    return out


def noisy_depth(z_m: np.ndarray, fx: float, rng: np.random.Generator, noise: DepthNoise = DepthNoise(),
                col0: int = 0) -> np.ndarray:
    """z16 (uint16, depth units) of a noise-free depth patch z_m (h, w) metres (inf = nothing hit)
    whose first column is image column col0 (for the left invalid band)."""
    z = np.asarray(z_m, dtype=float)
    h, w = z.shape
    valid = np.isfinite(z) & (z >= noise.min_z_m) & (z <= noise.max_z_m)
    zf = np.where(valid, z, 0.0)
    zn = zf + noise.sigma_m(zf, fx) * rng.standard_normal((h, w))
    out = np.rint(zn / noise.depth_unit_m)
    np.clip(out, 1, 65535, out=out)
    out = out.astype(np.uint16)
    out[~valid] = 0
    # holes at depth discontinuities (nothing-hit counts as far)
    zd = np.where(np.isfinite(z), z, 1e3)
    edge = np.zeros((h, w), dtype=bool)
    thr = np.maximum(noise.edge_jump_m, noise.edge_jump_rel * np.minimum(zd, noise.max_z_m))
    jx = np.abs(np.diff(zd, axis=1)) > thr[:, 1:]
    jy = np.abs(np.diff(zd, axis=0)) > thr[1:, :]
    edge[:, 1:] |= jx
    edge[:, :-1] |= jx
    edge[1:, :] |= jy
    edge[:-1, :] |= jy
    ey, ex = np.nonzero(edge)
    drop = rng.random(ey.size) < noise.edge_hole_fraction
    out[ey[drop], ex[drop]] = 0
    # random dropouts
    n = rng.binomial(h * w, noise.dropout_fraction)
    out.reshape(-1)[rng.integers(0, h * w, size=n)] = 0
    # left invalid band: column u invalid where u < fx * baseline / z
    if noise.left_band:
        band_max = int(np.ceil(fx * noise.baseline_m / noise.min_z_m))
        if col0 < band_max:
            nb = min(band_max - col0, w)
            u = (col0 + np.arange(nb))[None, :]
            with np.errstate(divide="ignore"):
                lim = fx * noise.baseline_m / np.where(valid[:, :nb], zf[:, :nb], np.inf)
            out[:, :nb][u < lim] = 0
    return out

"""Analytic pieces of the centre-of-mass vertical trajectory: quintic polynomials (exact boundary
position, velocity and acceleration), an optional smooth impact pulse on top, and ballistic
flight. Each piece gives z, z', z'' in closed form at any time, so the force m (g + z'') and the
motion it integrates to agree by construction (impulse = change of momentum, exactly)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.constants import G


def quintic_coefficients(T, z0, v0, a0, z1, v1, a1):
    """Coefficients c0..c5 of z(s) = sum c_k s^k on [0, T] meeting both boundary states."""
    c0, c1, c2 = z0, v0, a0 / 2.0
    A = np.array([[T ** 3, T ** 4, T ** 5],
                  [3 * T ** 2, 4 * T ** 3, 5 * T ** 4],
                  [6 * T, 12 * T ** 2, 20 * T ** 3]], dtype=float)
    b = np.array([z1 - (c0 + c1 * T + c2 * T ** 2),
                  v1 - (c1 + 2 * c2 * T),
                  a1 - 2 * c2])
    c3, c4, c5 = np.linalg.solve(A, b)
    return np.array([c0, c1, c2, c3, c4, c5])


def _pulse(s, amplitude, width):
    """sin^2 pulse of acceleration starting at s=0: returns (z, v, a) contributions."""
    s = np.asarray(s, dtype=float)
    w, A = width, amplitude
    inside = s < w
    sc = np.clip(s, 0.0, w)
    a = np.where(inside, A * np.sin(np.pi * sc / w) ** 2, 0.0)
    v_in = A * (sc / 2 - w / (4 * np.pi) * np.sin(2 * np.pi * sc / w))
    z_in = A * (sc ** 2 / 4 + w ** 2 / (8 * np.pi ** 2) * (np.cos(2 * np.pi * sc / w) - 1))
    v = v_in
    z = z_in + np.where(inside, 0.0, A * w / 2 * (s - w))
    return z, v, a


@dataclass
class Piece:
    """One phase of the COM vertical trajectory on [t0, t1]."""
    t0: float
    t1: float
    kind: str                 # "contact" (on the plate), "flight" (ballistic), "box" (on the box)
    coeffs: np.ndarray | None = None      # quintic (contact/box)
    pulse_amplitude: float = 0.0
    pulse_width: float = 0.0
    z0: float = 0.0
    v0: float = 0.0           # ballistic start state (flight)
    wiggle: "Wiggle | None" = None   # small smooth oscillation added on a hold (sway, breathing)

    @property
    def duration(self) -> float:
        return self.t1 - self.t0

    def evaluate(self, t):
        """(z, v, a) at absolute times t (arrays)."""
        s = np.asarray(t, dtype=float) - self.t0
        if self.kind == "flight":
            return self.z0 + self.v0 * s - 0.5 * G * s ** 2, self.v0 - G * s, np.full_like(s, -G)
        c = self.coeffs
        z = c[0] + s * (c[1] + s * (c[2] + s * (c[3] + s * (c[4] + s * c[5]))))
        v = c[1] + s * (2 * c[2] + s * (3 * c[3] + s * (4 * c[4] + s * 5 * c[5])))
        a = 2 * c[2] + s * (6 * c[3] + s * (12 * c[4] + s * 20 * c[5]))
        if self.pulse_amplitude:
            zp, vp, ap = _pulse(s, self.pulse_amplitude, self.pulse_width)
            z, v, a = z + zp, v + vp, a + ap
        if self.wiggle is not None:
            zw, vw, aw = self.wiggle.evaluate(s, self.duration)
            z, v, a = z + zw, v + vw, a + aw
        return z, v, a

    def end_state(self):
        z, v, a = self.evaluate(np.array([self.t1]))
        return float(z[0]), float(v[0]), float(a[0])


def quintic_piece(t0, T, start, end, kind="contact", pulse_amplitude=0.0, pulse_width=0.0) -> Piece:
    """Contact piece from state start=(z, v, a) to end=(z, v, a) over T seconds, with an optional
    sin^2 acceleration pulse starting at t0 (the quintic absorbs what the pulse adds)."""
    z0, v0, a0 = start
    z1, v1, a1 = end
    if pulse_amplitude:
        zp, vp, ap = _pulse(np.array([T]), pulse_amplitude, pulse_width)
        z1, v1, a1 = z1 - zp[0], v1 - vp[0], a1 - ap[0]
    c = quintic_coefficients(T, z0, v0, a0, z1, v1, a1)
    return Piece(t0, t0 + T, kind, c, pulse_amplitude, pulse_width)


@dataclass
class Wiggle:
    """Sum of sinusoids amp*sin(2 pi f s + phase), faded in and out over `taper` seconds by a
    quintic smoothstep so that value, velocity and acceleration are zero at both ends."""
    amplitudes: np.ndarray
    frequencies_hz: np.ndarray
    phases: np.ndarray
    taper_s: float = 0.4

    def _sum(self, s):
        w = 2 * np.pi * self.frequencies_hz
        arg = np.multiply.outer(s, w) + self.phases
        n = np.sum(self.amplitudes * np.sin(arg), axis=-1)
        dn = np.sum(self.amplitudes * w * np.cos(arg), axis=-1)
        ddn = -np.sum(self.amplitudes * w ** 2 * np.sin(arg), axis=-1)
        return n, dn, ddn

    def _window(self, s, T):
        tau = min(self.taper_s, T / 2)
        def step(x):   # smoothstep on x in [0,1] with derivatives w.r.t. x
            x = np.clip(x, 0.0, 1.0)
            return (10 * x ** 3 - 15 * x ** 4 + 6 * x ** 5, 30 * x ** 2 - 60 * x ** 3 + 30 * x ** 4,
                    60 * x - 180 * x ** 2 + 120 * x ** 3)
        a, da, dda = step(s / tau)
        b, db, ddb = step((T - s) / tau)
        return a * b, da / tau * b - a * db / tau, dda / tau ** 2 * b - 2 * da * db / tau ** 2 + a * ddb / tau ** 2

    def evaluate(self, s, T):
        n, dn, ddn = self._sum(s)
        w, dw, ddw = self._window(s, T)
        return w * n, dw * n + w * dn, ddw * n + 2 * dw * dn + w * ddn


def hold_piece(t0, T, z, kind="contact", wiggle: Wiggle | None = None) -> Piece:
    return Piece(t0, t0 + T, kind, np.array([z, 0.0, 0.0, 0.0, 0.0, 0.0]), wiggle=wiggle)


def flight_piece(t0, z0, v0, z_land) -> Piece:
    """Ballistic flight from (z0, v0) at t0 until the COM comes down to z_land."""
    disc = v0 ** 2 + 2 * G * (z0 - z_land)
    if disc < 0:
        raise ValueError("the flight never reaches the landing height")
    T = (v0 + np.sqrt(disc)) / G
    return Piece(t0, t0 + T, "flight", None, 0.0, 0.0, z0, v0)


def evaluate_pieces(pieces, t):
    """(z, v, a, kind_index) on times t; kind_index indexes ('contact','flight','box')."""
    t = np.asarray(t, dtype=float)
    z = np.empty_like(t)
    v = np.empty_like(t)
    a = np.empty_like(t)
    kind = np.zeros(t.shape, dtype=np.int8)
    kinds = {"contact": 0, "flight": 1, "box": 2}
    bounds = np.array([p.t0 for p in pieces[1:]])
    which = np.searchsorted(bounds, t, side="right")
    for i, p in enumerate(pieces):
        m = which == i
        if np.any(m):
            z[m], v[m], a[m] = p.evaluate(t[m])
            kind[m] = kinds[p.kind]
    return z, v, a, kind

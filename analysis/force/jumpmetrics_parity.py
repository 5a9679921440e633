"""JumpMetrics' event definitions, for the parity check only (tests, docs/FORCE_ANALYSIS.md).

The station's own events are in events.py. This module re-implements, from JumpMetrics' public
description (Hirsch & Howarth, JOSS; package jumpmetrics 0.2), the events it uses, so that our
metric code can be run on exactly its events and each metric compared where the definitions
match. Its events differ from ours on purpose:
- takeoff on the FILTERED force: first 0.25 s run of |F| < 10 N after F first reaches 1000 N;
  the filter's undershoot delays this (F02_CTRL1: 8.8235 s vs 8.8103 s on raw force);
- landing on the filtered force: first 15 ms run of F >= 20 N after takeoff;
- body weight: mean of the first `weighing_s` of the 2 s before takeoff, and COM velocity
  integrated from the start of those 2 s (v = 0 there);
- CMJ unweighting start: Savitzky-Golay-smoothed force (0.2 s, cubic) below the mean - 5 SD of
  the first 0.5 s of the 2 s window, held for 0.175 s;
- SJ propulsion start: smoothed force above the mean + 10 SD of the first 1 s, held 0.1 s.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import savgol_filter

from analysis.force.signal_tools import lowpass


@dataclass
class JumpMetricsEvents:
    filtered: np.ndarray        # the low-passed total force the events were found on
    window_start: int           # 2 s before takeoff: integration starts here (v = 0)
    takeoff: int                # first airborne sample
    landing: int                # first sample of the landing
    body_weight_n: float
    movement_start: int         # CMJ unweighting start, or SJ propulsion start


def _held(mask: np.ndarray, start: int, n: int) -> int | None:
    run = 0
    for i in range(start, len(mask)):
        run = run + 1 if mask[i] else 0
        if run >= n:
            return i - n + 1
    return None


def jumpmetrics_events(fz: np.ndarray, rate_hz: float, jump_type: str, weighing_s: float,
                       lowpass_hz: float) -> JumpMetricsEvents:
    ff = lowpass(np.asarray(fz, dtype=float), rate_hz, lowpass_hz, 4)
    first_loaded = int(np.flatnonzero(ff >= 1000.0)[0])
    takeoff = _held(np.abs(ff) < 10.0, first_loaded, int(0.25 * rate_hz))
    landing = _held(ff >= 20.0, takeoff, int(0.015 * rate_hz))
    start = max(takeoff - int(2.0 * rate_hz), 0)
    window = ff[start:takeoff]
    bw = float(window[:int(weighing_s * rate_hz)].mean())
    smooth = savgol_filter(window, int(0.2 * rate_hz), 3)
    if jump_type == "countermovement":
        q = int(0.5 * rate_hz)
        thr = window[:q].mean() - 5 * window[:q].std()
        k = _held(smooth < thr, q, int(0.175 * rate_hz))
    else:
        q = int(1.0 * rate_hz)
        thr = window[:q].mean() + 10 * window[:q].std()
        k = _held(smooth > thr, q, int(0.1 * rate_hz))
    return JumpMetricsEvents(ff, start, takeoff, landing, bw, start + (k if k is not None else 0))

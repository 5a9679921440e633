"""Start and stop triggers on the live vertical force (N, host time s), as a protocol step names
them (station/protocol.py: start = immediate | step_on | still; stop = duration |
stable_after_landing | reps_done; every trial also stops at its timeout).

Each trigger is a small object fed with the force as it arrives, `update(t_s, fz_n)` (arrays,
any block size, total Fz of all plates), that returns the host time at which it fired (or None).
They keep only what their rule needs (at most `window_s` of samples), so feeding them for an hour
costs no memory. Thresholds (field definitions: shared/STATION.md):

* step_on: Fz > 20 % of body weight, or > 200 N when the body weight is not known yet.
* still:   somebody on the plate (as step_on) and the SD of Fz over the last 1 s below
           max(2 % BW, 5 N) (quiet standing on the virtual plate: SD ~1 N; people sway more).
* immediate: fires on the first sample.
* duration: `duration_s` after the start.
* stable_after_landing: after a flight (Fz below the 20 N contact threshold for >= 50 ms, then
  back on the plate), Fz stays within +-5 % BW for 1 s (time to stabilisation, STATION.md).
  Without a known body weight, the mean of that second is taken as BW and the SD rule of `still`
  applies.
* reps_done: squat reps counted on the live force: a squat's bottom (deceleration of the
  descent, then the push up) is one hump of Fz above BW; a rep is counted when Fz rises above
  BW + max(1.5 % BW, 6 N) after having been below it. Fires once `reps` humps were counted and
  the athlete has then stood still (`still` rule) for 1 s. A step whose sync_event is `stomp`
  (calibration/event_sync.py) opens with a stomp, which is no rep: counting starts
  STOMP_SETTLE_S after the stomp's impact (Fz rising faster than STOMP_SLOPE_BW_S BW/s).
* timeout: `timeout_s` after the start (the trial is then marked: it did not finish).
"""
from __future__ import annotations

from collections import deque

import numpy as np

STEP_ON_BW_FRACTION = 0.20
STEP_ON_MIN_N = 200.0
STILL_WINDOW_S = 1.0
STILL_SD_BW_FRACTION = 0.02
STILL_SD_MIN_N = 5.0
CONTACT_N = 20.0
FLIGHT_MIN_S = 0.05
STABLE_BAND_BW = 0.05
STABLE_S = 1.0
REP_HUMP_BW = 0.015
REP_HUMP_MIN_N = 6.0
STOMP_SLOPE_BW_S = 20.0        # as calibration/force_onset.MIN_STOMP_SLOPE_BW_S
STOMP_SETTLE_S = 1.0


class _Window:
    """The last `length_s` seconds of (t, fz)."""

    def __init__(self, length_s: float):
        self.length_s = length_s
        self._t: deque = deque()
        self._f: deque = deque()
        self._n = 0

    def add(self, t, f) -> None:
        if len(t):
            self._t.append(np.asarray(t, float))
            self._f.append(np.asarray(f, float))
            self._n += len(t)
            while len(self._t) > 1 and self._t[1][0] <= self._t[-1][-1] - self.length_s:
                self._n -= len(self._t.popleft())
                self._f.popleft()

    def arrays(self):
        if not self._t:
            return np.zeros(0), np.zeros(0)
        t = np.concatenate(self._t)
        f = np.concatenate(self._f)
        keep = t > t[-1] - self.length_s
        return t[keep], f[keep]

    def span_s(self) -> float:
        if not self._t:
            return 0.0
        return float(self._t[-1][-1] - self._t[0][0])


def on_plate_threshold_n(body_weight_n: float | None) -> float:
    return STEP_ON_BW_FRACTION * body_weight_n if body_weight_n else STEP_ON_MIN_N


def still_sd_limit_n(body_weight_n: float | None) -> float:
    return max(STILL_SD_BW_FRACTION * (body_weight_n or 0.0), STILL_SD_MIN_N)


class Trigger:
    name = "trigger"
    fired_at: float | None = None

    def update(self, t_s, fz_n) -> float | None:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


class Immediate(Trigger):
    name = "immediate"

    def update(self, t_s, fz_n):
        if self.fired_at is None and len(t_s):
            self.fired_at = float(t_s[0])
        return self.fired_at


class StepOn(Trigger):
    name = "step_on"

    def __init__(self, body_weight_n: float | None = None):
        self.threshold_n = on_plate_threshold_n(body_weight_n)

    def update(self, t_s, fz_n):
        if self.fired_at is None and len(t_s):
            above = np.flatnonzero(np.asarray(fz_n) > self.threshold_n)
            if len(above):
                self.fired_at = float(t_s[above[0]])
        return self.fired_at


class Still(Trigger):
    """Somebody on the plate, standing still for `window_s`."""
    name = "still"

    def __init__(self, body_weight_n: float | None = None, window_s: float = STILL_WINDOW_S):
        self.body_weight_n = body_weight_n
        self.window_s = window_s
        self._w = _Window(window_s + 0.05)
        self.mean_n: float | None = None

    def update(self, t_s, fz_n):
        if self.fired_at is not None:
            return self.fired_at
        self._w.add(t_s, fz_n)
        t, f = self._w.arrays()
        if len(t) < 10 or t[-1] - t[0] < self.window_s * 0.98:
            return None
        sel = t >= t[-1] - self.window_s
        m, sd = float(f[sel].mean()), float(f[sel].std())
        bw = self.body_weight_n or m
        if m > on_plate_threshold_n(self.body_weight_n) and f[sel].min() > CONTACT_N \
                and sd < still_sd_limit_n(bw):
            self.mean_n = m
            self.fired_at = float(t[-1])
        return self.fired_at


class Duration(Trigger):
    name = "duration"

    def __init__(self, start_s: float, duration_s: float):
        self.end_s = start_s + duration_s

    def update(self, t_s, fz_n):
        if self.fired_at is None and len(t_s) and t_s[-1] >= self.end_s:
            self.fired_at = float(self.end_s)
        return self.fired_at


class StableAfterLanding(Trigger):
    name = "stable_after_landing"

    def __init__(self, body_weight_n: float | None = None, stable_s: float = STABLE_S):
        self.body_weight_n = body_weight_n
        self.stable_s = stable_s
        self._off_since: float | None = None
        self.flights = 0
        self.landed_at: float | None = None
        self._w = _Window(stable_s + 0.05)

    def update(self, t_s, fz_n):
        if self.fired_at is not None or not len(t_s):
            return self.fired_at
        t_s = np.asarray(t_s, float)
        fz_n = np.asarray(fz_n, float)
        on = fz_n > CONTACT_N
        # flights: runs of "off" at least FLIGHT_MIN_S long followed by contact
        changes = np.flatnonzero(np.diff(np.concatenate([[on[0]], on]).astype(int)))
        edges = [0] + list(changes) + [len(on)]
        for a, b in zip(edges[:-1], edges[1:]):
            if b <= a:
                continue
            if not on[a]:
                if self._off_since is None:
                    self._off_since = float(t_s[a])
            else:
                if self._off_since is not None and t_s[a] - self._off_since >= FLIGHT_MIN_S:
                    self.flights += 1
                    self.landed_at = float(t_s[a])
                    self._w = _Window(self.stable_s + 0.05)
                self._off_since = None
        if self.flights == 0:
            return None
        sel = t_s >= self.landed_at
        self._w.add(t_s[sel], fz_n[sel])
        t, f = self._w.arrays()
        if len(t) < 10 or t[-1] - t[0] < self.stable_s * 0.98 or (f <= CONTACT_N).any():
            return None
        win = t >= t[-1] - self.stable_s
        if self.body_weight_n:
            ok = np.all(np.abs(f[win] - self.body_weight_n) <= STABLE_BAND_BW * self.body_weight_n)
        else:
            m = float(f[win].mean())
            ok = np.all(np.abs(f[win] - m) <= STABLE_BAND_BW * m) and f[win].std() < still_sd_limit_n(m)
        if ok:
            self.fired_at = float(t[-1])
        return self.fired_at


class RepsDone(Trigger):
    name = "reps_done"

    def __init__(self, reps: int, body_weight_n: float | None = None, after_stomp: bool = False):
        self.reps = int(reps)
        self.body_weight_n = body_weight_n
        self.count = 0
        self._below = False
        self._still = None
        self._wait_stomp = bool(after_stomp)
        self._count_from = None
        self._last = None

    def _skip_stomp(self, t_s, fz_n, bw):
        """(t, fz) left to count once the stomp has been seen and has settled; empty before."""
        t_s = np.asarray(t_s, float)
        if self._count_from is None:
            tt = t_s if self._last is None else np.concatenate([[self._last[0]], t_s])
            ff = fz_n if self._last is None else np.concatenate([[self._last[1]], fz_n])
            self._last = (float(t_s[-1]), float(fz_n[-1]))
            if len(tt) < 2:
                return t_s[:0], fz_n[:0]
            slope = np.diff(ff) / np.maximum(np.diff(tt), 1e-6)
            hit = np.flatnonzero(slope > STOMP_SLOPE_BW_S * bw)
            if not len(hit):
                return t_s[:0], fz_n[:0]
            self._count_from = float(tt[hit[0] + 1]) + STOMP_SETTLE_S
        keep = t_s >= self._count_from
        if not keep.any():
            return t_s[:0], fz_n[:0]
        self._wait_stomp = False
        return t_s[keep], fz_n[keep]

    def update(self, t_s, fz_n):
        if self.fired_at is not None or not len(t_s):
            return self.fired_at
        fz_n = np.asarray(fz_n, float)
        if self.body_weight_n is None:
            # not weighed: the first still second sets the body weight
            if self._still is None:
                self._still = Still(None)
            if self._still.update(t_s, fz_n) is None:
                return None
            self.body_weight_n = self._still.mean_n
            self._still = None
            return None
        bw = self.body_weight_n
        if self._wait_stomp:
            t_s, fz_n = self._skip_stomp(t_s, fz_n, bw)
            if not len(t_s):
                return None
        hi = bw + max(REP_HUMP_BW * bw, REP_HUMP_MIN_N)
        lo = bw - max(REP_HUMP_BW * bw, REP_HUMP_MIN_N)
        for v in fz_n if self.count < self.reps else ():
            if v < lo:
                self._below = True
            elif v > hi and self._below:
                self.count += 1
                self._below = False
                if self.count >= self.reps:
                    break
        if self.count >= self.reps:
            if self._still is None:
                self._still = Still(bw)
            self.fired_at = self._still.update(t_s, fz_n)
        return self.fired_at

    def describe(self) -> str:
        return f"reps_done ({self.count}/{self.reps} reps)"


class Timeout(Trigger):
    name = "timeout"

    def __init__(self, start_s: float, timeout_s: float):
        self.end_s = start_s + timeout_s

    def update(self, t_s, fz_n):
        if self.fired_at is None and len(t_s) and t_s[-1] >= self.end_s:
            self.fired_at = float(self.end_s)
        return self.fired_at


def start_trigger(step, body_weight_n: float | None) -> Trigger:
    if step.start == "immediate":
        return Immediate()
    if step.start == "step_on":
        return StepOn(body_weight_n)
    if step.start == "still":
        return Still(body_weight_n)
    raise ValueError(f"unknown start trigger {step.start!r}")


def stop_trigger(step, start_s: float, body_weight_n: float | None) -> Trigger:
    if step.stop == "duration":
        return Duration(start_s, step.duration_s)
    if step.stop == "stable_after_landing":
        return StableAfterLanding(body_weight_n)
    if step.stop == "reps_done":
        return RepsDone(step.reps, body_weight_n,
                        after_stomp=getattr(step, "sync_event", None) == "stomp")
    raise ValueError(f"unknown stop trigger {step.stop!r}")

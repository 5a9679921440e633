"""The technician's live view while capturing: one block of text redrawn in place.

`render_status(status)` turns a LiveStatus into lines (pure, testable); `StatusDisplay` redraws
them in a terminal (ANSI cursor-up) or, when the output is not a terminal (a log, CI), prints a
one-line summary at most every few seconds.
"""
from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field

import numpy as np

_BARS = " ▁▂▃▄▅▆▇█"


@dataclass
class LiveStatus:
    step: str = ""
    prompt: str = ""
    state: str = "waiting"                  # waiting | recording | analysing | done | fault
    elapsed_s: float = 0.0
    camera_fps: float | None = None         # None: no camera in this capture
    camera_nominal_fps: float | None = None
    camera_drops: int = 0
    plate_rate_hz: float | None = None
    plate_nominal_hz: float | None = None
    plate_lost: int = 0
    plate_crc_errors: int = 0
    force_trace_n: np.ndarray = field(default_factory=lambda: np.zeros(0))
    body_weight_n: float | None = None
    athlete_in_view: bool | None = None
    sync_ms: float | None = None
    message: str = ""
    last_result: str = ""


def sparkline(values: np.ndarray, width: int, top: float | None = None) -> str:
    """Unicode bar trace of the last `width` values (0 .. top)."""
    v = np.asarray(values, float)[-width:]
    if v.size == 0:
        return ""
    top = top or max(float(np.nanmax(v)), 1.0)
    idx = np.clip(np.nan_to_num(v / top) * (len(_BARS) - 1), 0, len(_BARS) - 1).astype(int)
    return "".join(_BARS[i] for i in idx)


def _rate(actual, nominal, unit):
    if actual is None:
        return "off"
    text = f"{actual:6.1f} {unit}"
    if nominal:
        text += f" ({100 * actual / nominal:5.1f}%)"
    return text


def render_status(s: LiveStatus, width: int = 80) -> list[str]:
    yes_no = {True: "yes", False: "NO", None: "-"}
    bw = f"{s.body_weight_n:.0f} N ({s.body_weight_n / 9.81:.1f} kg)" if s.body_weight_n else "-"
    sync = f"{s.sync_ms:.1f} ms" if s.sync_ms is not None else "-"
    peak = float(np.nanmax(s.force_trace_n)) if len(s.force_trace_n) else 0.0
    top = max(peak, 2.5 * (s.body_weight_n or 0.0), 100.0)
    lines = [
        f"[{s.state.upper():<9}] step {s.step}  {s.elapsed_s:5.1f} s",
        f"  > {s.prompt}"[:width],
        f"  camera {_rate(s.camera_fps, s.camera_nominal_fps, 'fps')}  drops {s.camera_drops}"
        f"   athlete in view: {yes_no[s.athlete_in_view]}",
        f"  plate  {_rate(s.plate_rate_hz, s.plate_nominal_hz, 'Hz')}  lost {s.plate_lost}"
        f"  crc errors {s.plate_crc_errors}",
        f"  body weight {bw}   sync {sync}",
        f"  force |{sparkline(s.force_trace_n, width - 20, top)}| {top:.0f} N",
    ]
    if s.message:
        lines.append(f"  ! {s.message}"[:width])
    if s.last_result:
        lines.append(f"  = {s.last_result}"[:width])
    return lines


class StatusDisplay:
    def __init__(self, stream=None, min_interval_s: float = 0.2, log_interval_s: float = 5.0):
        self.stream = stream or sys.stdout
        self.is_tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.min_interval_s = min_interval_s if self.is_tty else log_interval_s
        self._last = 0.0
        self._drawn = 0

    def show(self, status: LiveStatus, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.min_interval_s:
            return
        self._last = now
        width = min(shutil.get_terminal_size((100, 20)).columns, 120)
        lines = render_status(status, width)
        if self.is_tty:
            if self._drawn:
                self.stream.write(f"\x1b[{self._drawn}F")
            for line in lines:
                self.stream.write("\x1b[2K" + line + "\n")
            self._drawn = len(lines)
        else:
            summary = (f"{status.step}: {status.state}, {status.elapsed_s:.1f} s, camera "
                       f"{_rate(status.camera_fps, status.camera_nominal_fps, 'fps')} drops "
                       f"{status.camera_drops}, plate {_rate(status.plate_rate_hz, status.plate_nominal_hz, 'Hz')} "
                       f"lost {status.plate_lost}")
            self.stream.write(summary + (f" | {status.message}" if status.message else "") + "\n")
        self.stream.flush()

    def release(self) -> None:
        """Leave the last drawn block on screen and continue below it."""
        self._drawn = 0

    def say(self, text: str) -> None:
        self.release()
        self.stream.write(text + "\n")
        self.stream.flush()

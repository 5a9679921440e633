"""Units of result keys: the station's keys end with their unit (docs/CONTRACTS.md), e.g.
`flight_time_s`, `peak_force_n`, `fppa_max_deg`. `unit_of(key)` turns the suffix into the unit
written in table headers ("s", "N", "deg", ...)."""
from __future__ import annotations

# longest suffix first: "_m_s" before "_s", "_bw_s" before "_s", "_n_s" before "_s" ...
_SUFFIXES = (
    ("_m_s", "m/s"), ("_bw_s", "BW/s"), ("_n_s", "N*s"), ("_m2", "m^2"), ("_deg", "deg"),
    ("_pct", "%"), ("_bw", "BW"), ("_kg", "kg"), ("_hz", "Hz"), ("_rad", "rad"),
    ("_w", "W"), ("_n", "N"), ("_m", "m"), ("_s", "s"),
)
_SPECIAL = {"rsi": "m/s", "rsi_modified": "m/s", "rep": "", "kind": "",
            "tracking_quality": "fraction", "separation_ratio_min": "ratio"}


def unit_of(key: str) -> str:
    """The unit of a result key from its suffix ('' for counts, names and plain ratios)."""
    if key in _SPECIAL:
        return _SPECIAL[key]
    if key.startswith("rfd_") and key.endswith("_n_s"):
        return "N/s"                     # rate of force development, not an impulse
    for suffix, unit in _SUFFIXES:
        if key.endswith(suffix):
            return unit
    return ""


def header(key: str) -> str:
    """A table header with the unit: 'flight_time_s [s]'; bare key when unitless."""
    u = unit_of(key)
    return f"{key} [{u}]" if u else key


def key_of_header(h: str) -> str:
    """Inverse of header(): 'flight_time_s [s]' -> 'flight_time_s'."""
    return h.split(" [", 1)[0]

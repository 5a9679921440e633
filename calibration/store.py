"""Where calibrations live and how a calibration file is named, written and aged.

Folder: $STATION_HOME/calibration, else ~/.station/calibration. One JSON file per calibration,
`<kind>_<device serial>_<UTC stamp>.json`; an existing file is never overwritten.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path


def calibration_dir() -> Path:
    home = os.environ.get("STATION_HOME")
    base = Path(home) if home else Path.home() / ".station"
    return base / "calibration"


def save_calibration_json(kind: str, serial: str, date_utc: str, data: dict,
                          folder: str | Path | None = None) -> Path:
    """Write `data` as a new file for this device and date; returns its path."""
    folder = Path(folder) if folder else calibration_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = date_utc.replace(":", "").replace("-", "").split("+")[0]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in serial)
    path = folder / f"{kind}_{safe}_{stamp}.json"
    k = 1
    while path.exists():
        k += 1
        path = folder / f"{kind}_{safe}_{stamp}_{k}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def age_days(date_utc: str, now: _dt.datetime | None = None) -> float:
    """Days since an ISO date (naive dates are taken as UTC)."""
    t = _dt.datetime.fromisoformat(date_utc)
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return (now - t).total_seconds() / 86400.0


def load_calibration_json(kind: str, path: str | Path, from_dict):
    """Read a calibration file with `from_dict`; a missing or damaged file is a one-line error
    that says how to make a new one."""
    from station.errors import UserError
    try:
        cal = from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"cannot read {kind} calibration {path}: {exc}; "
                        f"run `station calibrate {kind}` to make a new one") from None
    cal.path = str(path)
    return cal

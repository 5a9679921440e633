"""Sessions: an athlete, a protocol, and one trial file per attempt in
`<data>/<athlete>/<YYYY-MM-DD>_<n>/`, listed with verdicts in `session.json`.

Nothing is ever overwritten: a new session takes the next free number, a new trial the next free
file name, and session.json is replaced atomically (write + rename) after every trial, so a killed
process leaves a session file that lists every trial finished before the kill.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from station import __version__
from station.errors import UserError
from station.protocol import Protocol

SESSION_FILE = "session.json"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class Athlete:
    id: str
    height_m: float | None = None
    dominant_leg: str | None = None     # "left" | "right"
    mass_kg: float | None = None        # from the weighing step

    def __post_init__(self):
        if not _SAFE_ID.match(self.id or ""):
            raise UserError(f"athlete id {self.id!r} is not usable as a folder name: use letters, "
                            "digits, '-', '_' or '.' (at most 64 characters)")
        if self.dominant_leg not in (None, "left", "right"):
            raise UserError("dominant leg must be 'left' or 'right'")
        if self.height_m is not None and not 0.8 <= self.height_m <= 2.5:
            raise UserError(f"athlete height {self.height_m} m is implausible: give metres (e.g. 1.78)")


@dataclass
class Verdict:
    complete: bool
    tracked: bool | None = None          # None: not checked (no camera, or step does not need it)
    synced: bool | None = None
    quiet: bool | None = None
    reasons: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.complete and all(v is not False for v in (self.tracked, self.synced, self.quiet))

    def label(self) -> str:
        return "ok" if self.ok else "redo: " + "; ".join(self.reasons or ["incomplete"])

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ok"] = self.ok
        return d


@dataclass
class TrialRecord:
    file: str                 # relative to the session folder
    step: str
    kind: str
    attempt: int
    status: str               # complete | aborted
    verdict: Verdict
    started_utc: str
    key_numbers: dict = field(default_factory=dict)
    sync: dict = field(default_factory=dict)
    faults: list = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["verdict"] = self.verdict.to_dict()
        return d


class Session:
    def __init__(self, folder: Path, athlete: Athlete, protocol: Protocol, started_utc: str):
        self.folder = folder
        self.athlete = athlete
        self.protocol = protocol
        self.started_utc = started_utc
        self.trials: list[TrialRecord] = []
        self.clock_fit: dict = {}
        self.start_checks: dict = {}     # calibration checks at the session's start

    @classmethod
    def create(cls, data_dir: Path, athlete: Athlete, protocol: Protocol, now: datetime | None = None) -> "Session":
        now = now or datetime.now(timezone.utc)
        base = Path(data_dir) / athlete.id
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the athlete folder {base}: {exc.strerror}; "
                            "choose another folder with --data") from None
        day = now.strftime("%Y-%m-%d")
        n = 1
        while True:
            folder = base / f"{day}_{n}"
            try:
                folder.mkdir()        # atomic: two stations can never share a session folder
                break
            except FileExistsError:
                n += 1
        session = cls(folder, athlete, protocol, now.isoformat(timespec="seconds"))
        session.save()
        return session

    def trial_path(self, step_id: str, attempt: int) -> Path:
        """A file name no earlier trial has: <nn>_<step>_<attempt>.h5 (nn counts every attempt)."""
        n = len(self.trials) + 1
        while True:
            path = self.folder / f"{n:02d}_{step_id}_{attempt}.h5"
            if not path.exists():
                return path
            n += 1

    def add_trial(self, record: TrialRecord) -> None:
        self.trials.append(record)
        self.save()

    def to_dict(self) -> dict:
        return {
            "format": "station-session", "version": 1,
            "software_version": __version__,
            "athlete": asdict(self.athlete),
            "protocol": self.protocol.to_dict(),
            "started_utc": self.started_utc,
            "start_checks": self.start_checks,
            "trials": [t.to_dict() for t in self.trials],
            "clock_fit": self.clock_fit,
        }

    def save(self) -> None:
        path = self.folder / SESSION_FILE
        tmp = path.with_suffix(".json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, default=_json_default)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def load_session(folder: Path) -> dict:
    path = Path(folder) / SESSION_FILE
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise UserError(f"{folder} is not a session folder (no {SESSION_FILE})") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is damaged: {exc.msg} at line {exc.lineno}") from None
    if data.get("format") != "station-session":
        raise UserError(f"{path} is not a station session file")
    return data

"""Saved camera -> plate calibrations: JSON files next to the plate calibrations.

Folder: calibration.store.calibration_dir() ($STATION_HOME/calibration, else
~/.station/calibration). File: camera_<serial>_<UTC time>.json. Poses are 4x4 row-major lists
named T_<to>_from_<from>; lengths in metres; the errors dict keeps its units in its keys
(_px, _mm, _deg).

    cal = latest_camera_calibration(serial)       # or load_camera_calibration(serial): raises if none
    cal.T_lab_from_depth, cal.T_lab_from_color    # (4, 4) numpy
    attrs, arrays = cal.trial_record()            # -> TrialWriter.add_calibration("camera", attrs, arrays)
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calibration.store import age_days, calibration_dir, load_calibration_json, save_calibration_json
from drivers.camera_model import Intrinsics
from station.errors import UserError

FORMAT = "station.camera_calibration/1"


def _now_utc_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class CameraCalibration:
    camera_serial: str
    method: str                                 # "board" or "boardless"
    T_lab_from_depth: np.ndarray
    T_lab_from_color: np.ndarray
    T_color_from_depth: np.ndarray              # the camera's reported extrinsic, as used
    depth_intrinsics: Intrinsics
    color_intrinsics: Intrinsics
    errors: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    # the plate as the boardless estimator saw it at calibration time (T_lab_from_depth by
    # that estimator): the self-check compares against this, so its own bias cancels
    self_check_reference: dict = field(default_factory=dict)
    date_utc: str = field(default_factory=_now_utc_iso)
    software_version: str = ""
    path: str | None = None

    def to_dict(self) -> dict:
        return {"format": FORMAT, "camera_serial": self.camera_serial, "date_utc": self.date_utc,
                "method": self.method, "software_version": self.software_version,
                "T_lab_from_depth": np.asarray(self.T_lab_from_depth, float).tolist(),
                "T_lab_from_color": np.asarray(self.T_lab_from_color, float).tolist(),
                "T_color_from_depth": np.asarray(self.T_color_from_depth, float).tolist(),
                "depth_intrinsics": self.depth_intrinsics.to_dict(),
                "color_intrinsics": self.color_intrinsics.to_dict(),
                "errors": _jsonable(self.errors), "details": _jsonable(self.details),
                "self_check_reference": _jsonable(self.self_check_reference)}

    @classmethod
    def from_dict(cls, d: dict) -> "CameraCalibration":
        if d.get("format") != FORMAT:
            raise ValueError(f"not a camera calibration (format {d.get('format')!r})")
        return cls(camera_serial=str(d["camera_serial"]), method=d["method"],
                   T_lab_from_depth=np.asarray(d["T_lab_from_depth"], float),
                   T_lab_from_color=np.asarray(d["T_lab_from_color"], float),
                   T_color_from_depth=np.asarray(d["T_color_from_depth"], float),
                   depth_intrinsics=Intrinsics.from_dict(d["depth_intrinsics"]),
                   color_intrinsics=Intrinsics.from_dict(d["color_intrinsics"]),
                   errors=d.get("errors", {}), details=d.get("details", {}),
                   self_check_reference=d.get("self_check_reference", {}),
                   date_utc=d["date_utc"], software_version=d.get("software_version", ""))

    def save(self, folder: str | Path | None = None) -> Path:
        path = save_calibration_json("camera", self.camera_serial, self.date_utc, self.to_dict(), folder)
        self.path = str(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "CameraCalibration":
        return load_calibration_json("camera", path, cls.from_dict)

    def age_days(self, now: _dt.datetime | None = None) -> float:
        return age_days(self.date_utc, now)

    def trial_record(self) -> tuple[dict, dict]:
        """(attrs, arrays) for TrialWriter.add_calibration("camera", attrs, arrays): the whole
        calibration as JSON in attrs["json"], plus the two poses as arrays."""
        attrs = {"kind": "camera_pose", "camera_serial": self.camera_serial, "date_utc": self.date_utc,
                 "method": self.method, "source_file": self.path or "",
                 "json": json.dumps(self.to_dict())}
        arrays = {"T_lab_from_depth": np.asarray(self.T_lab_from_depth, float),
                  "T_lab_from_color": np.asarray(self.T_lab_from_color, float)}
        return attrs, arrays

    @classmethod
    def from_trial_record(cls, attrs: dict) -> "CameraCalibration":
        """Inverse of trial_record (from the attrs stored in a trial's /calibration/camera)."""
        return cls.from_dict(json.loads(attrs["json"]))


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return x


def latest_camera_calibration(camera_serial: str, folder: str | Path | None = None) -> CameraCalibration | None:
    """The newest saved calibration of this camera, or None."""
    folder = Path(folder) if folder else calibration_dir()
    best = None
    for f in folder.glob("camera_*.json"):
        try:
            cal = CameraCalibration.from_dict(json.loads(f.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if cal.camera_serial != camera_serial:
            continue
        if best is None or cal.date_utc > best.date_utc or (cal.date_utc == best.date_utc and str(f) > best.path):
            cal.path = str(f)
            best = cal
    return best


def load_camera_calibration(camera_serial: str, folder: str | Path | None = None) -> CameraCalibration:
    """The newest calibration of this camera; UserError if there is none."""
    cal = latest_camera_calibration(camera_serial, folder)
    if cal is None:
        where = Path(folder) if folder else calibration_dir()
        raise UserError(f"no camera calibration for camera {camera_serial} in {where}; "
                        "run `station calibrate camera`")
    return cal

"""The trial file schema, version 1, as data: what the writer creates and the validator checks.

The human version of the same rules is data/SCHEMA.md; keep the two in step.
"""
from __future__ import annotations

import re

FORMAT_NAME = "station-trial"
SCHEMA_VERSION = 1

# Root attributes.
STATUS_RECORDING = "recording"      # the writer has the file open (or was killed while it had)
STATUS_COMPLETE = "complete"
STATUS_ABORTED = "aborted"
STATUSES = (STATUS_RECORDING, STATUS_COMPLETE, STATUS_ABORTED)
ROOT_ATTRS = ("format", "schema_version", "status", "status_reason", "created_by")

# Groups every trial has (possibly empty).
REQUIRED_GROUPS = ("/metadata", "/devices", "/raw", "/calibration", "/quality",
                   "/quality/streams", "/quality/faults", "/results")

# /metadata attributes: name -> type the validator expects.
METADATA_ATTRS = {
    "athlete_id": str,
    "protocol": str,
    "step": str,
    "trial_kind": str,
    "start_time_utc": str,          # ISO-8601 with +00:00
    "end_time_utc": str,            # "" until the writer closes the trial
    "software_version": str,        # station.__version__ of the writer
    "settings": str,                # JSON object
}
METADATA_REQUIRED_FROM_CALLER = ("athlete_id", "trial_kind")

# /quality/faults: parallel 1-D datasets, one row per fault, fixed-length UTF-8 strings.
FAULT_FIELDS = {
    "time_host_s": ("float64", None),
    "stream": ("S", 64),
    "kind": ("S", 64),
    "message": ("S", 512),
}

# /quality/streams/<stream> counters, created with every stream (so they can be updated while
# the file is in SWMR mode). name -> (dtype, initial value)
QUALITY_COUNTERS = {
    "dropped": ("int64", 0),
    "crc_errors": ("int64", 0),
    "achieved_rate_hz": ("float64", float("nan")),
    "clock_fit_residual_ms": ("float64", float("nan")),
}

# /raw/<stream> datasets: name -> dtype (None = the stream's own sample dtype).
STREAM_DATASETS_REQUIRED = {
    "data": None,
    "sequence": "int64",
    "time_device_s": "float64",
    "time_host_s": "float64",
}
STREAM_DATASETS_OPTIONAL = {"time_arrival_s": "float64"}   # NaN where not recorded
STREAM_ATTRS = ("kind", "unit", "frame", "nominal_rate_hz", "device", "columns", "image")

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

# Stream kinds. units: allowed values of the unit attr (None = any non-empty string);
# dtypes: allowed sample dtypes; image: stored one frame per chunk, Blosc-LZ4 + bitshuffle;
# sample_ndim / channels: shape of one sample; needs_frame: the frame attr must name a frame.
_INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32")
_FLOATS = ("float32", "float64")
STREAM_KINDS = {
    "force": dict(units=("count", "N", "mixed"), dtypes=_INTS + _FLOATS, image=False,
                  needs_frame=False,
                  doc="load-cell channels (raw ADC counts) or forces/moments in N (unit 'mixed' "
                      "+ column_units attr for N, N*m, m columns)"),
    "depth": dict(units=("mm",), dtypes=("uint16",), image=True, sample_ndim=2, needs_frame=True,
                  doc="z16 depth image, 1 count = 1 mm along the camera z axis; 0 = no depth"),
    "color": dict(units=("rgb8", "bgr8"), dtypes=("uint8",), image=True, sample_ndim=3,
                  channels=3, needs_frame=True, doc="8-bit colour image (H, W, 3)"),
    "ir": dict(units=("y8", "y16"), dtypes=("uint8", "uint16"), image=True, sample_ndim=2,
               needs_frame=True, doc="infrared intensity image"),
    "accel": dict(units=("m/s^2",), dtypes=_FLOATS, image=False, needs_frame=True,
                  doc="IMU accelerometer (x, y, z) in the named frame"),
    "gyro": dict(units=("rad/s",), dtypes=_FLOATS, image=False, needs_frame=True,
                 doc="IMU gyroscope (x, y, z) in the named frame"),
    "signal": dict(units=None, dtypes=_INTS + _FLOATS, image=False, needs_frame=False,
                   doc="any other numeric stream (analog voltages, imported markers, ...)"),
}

# Images: Blosc with LZ4 + bitshuffle (hdf5plugin). clevel 1 measured fastest on 848x480 depth
# with noise (396 fps, 1.81x smaller) against clevel 5 (370 fps, 1.86x) and 9 (352 fps, 1.90x).
BLOSC_FILTER_ID = 32001
IMAGE_BLOSC_CLEVEL = 1

# Numeric streams: uncompressed (readable without plugins), chunked for appends.
NUMERIC_CHUNK_SECONDS = 1.0
NUMERIC_CHUNK_MAX_BYTES = 256 * 1024

# Attributes stored as JSON strings: their names are listed in the object's `json_attrs` attr.
JSON_ATTRS_LIST = "json_attrs"

RESULT_ATTRS = ("software_version", "created_utc", "settings")

# /results/<name> groups with a fixed meaning: attr -> (type, required). float accepts ints and
# NaN; other attrs are allowed. /results/sync: the measured camera <-> plate time offset
# (calibration.time_sync), written after capture by write_results(path, "sync", attrs=...).
RESULT_SPECS = {
    "sync": {
        "offset_s": (float, True),          # t_plate - t_camera for the same instant, s
        "uncertainty_s": (float, True),     # 1-sigma, s (NaN if unknown)
        "method": (str, True),              # e.g. "passive_com_acceleration", "stomp"
        "offset_applied_s": (float, False), # the offset analysis applies (e.g. session fit)
        "correlation": (float, False),      # peak normalised cross-correlation, 0..1
        "windows": (int, False),            # movement windows that contributed
        "mid_time_host_s": (float, False),  # host time the offset refers to (Unix epoch s)
        "ok": (bool, False),                # passed the recorder's checks
        "why": (str, False),                # why not ok
        "truth_offset_s": (float, False),   # simulator only: the injected offset
        "truth_plate_host_error_s": (float, False),  # simulator only: recorded - true plate host time
        "truth_alignment_offset_s": (float, False),  # simulator only: the two summed, the target
    },
}

"""Opening a file as a trial, with one clear reason when it is not one.

Cases: missing path, a directory, not HDF5, an HDF5 file that is truncated, an HDF5 file of
another kind, a trial of another schema version. A trial whose writer is still running or was
killed (SWMR consistency flags still set) is opened as an SWMR reader, and checked for
truncation by hand because HDF5 skips that check in SWMR mode.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (registers the Blosc filter used by image streams)

from data import schema
from data.h5_tree import to_str
from data.trial_errors import TrialError


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300]


def superblock_eof(path: Path) -> int | None:
    """The end-of-file address stored in an HDF5 superblock of version 2 or 3 (else None)."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if len(head) < 12 or head[:8] != b"\x89HDF\r\n\x1a\n" or head[8] not in (2, 3):
        return None
    size_of_offsets = head[9]
    if size_of_offsets != 8 or len(head) < 12 + 4 * 8:
        return None
    _base, _ext, eof, _root = struct.unpack("<4Q", head[12:44])
    return eof


def _check_not_truncated(path: Path) -> None:
    eof = superblock_eof(path)
    size = os.path.getsize(path)
    if eof is not None and size < eof:
        raise TrialError(f"{path}: truncated trial file ({size} of {eof} bytes); "
                         f"the file was cut short (incomplete copy or full disk)")


def open_h5(path, live: bool = False) -> tuple[h5py.File, bool]:
    """Open `path` for reading as HDF5. Returns (file, opened_as_swmr_reader)."""
    p = Path(path)
    if not p.exists():
        raise TrialError(f"{p}: no such file")
    if p.is_dir():
        raise TrialError(f"{p}: is a directory, not a trial file")
    if p.stat().st_size == 0:
        raise TrialError(f"{p}: empty file, not a trial")
    try:
        is_hdf5 = h5py.is_hdf5(str(p))
    except OSError as exc:
        raise TrialError(f"{p}: cannot read ({_one_line(exc)})") from None
    if not is_hdf5:
        raise TrialError(f"{p}: not an HDF5 file (no HDF5 signature), so not a trial")
    if live:
        try:
            return h5py.File(p, "r", libver="latest", swmr=True), True
        except OSError as exc:
            raise TrialError(f"{p}: cannot open for live reading ({_one_line(exc)})") from None
    try:
        return h5py.File(p, "r"), False
    except OSError as exc:
        msg = str(exc)
        if "truncated file" in msg:
            _check_not_truncated(p)
            raise TrialError(f"{p}: truncated HDF5 file ({_one_line(exc)})") from None
        if "unable to lock file" in msg:
            raise TrialError(f"{p}: locked by a process writing it (a writer that has not started "
                             f"streaming yet?); try again in a moment") from None
        if "already open for write" not in msg:
            raise TrialError(f"{p}: cannot open as HDF5 ({_one_line(exc)})") from None
    # The writer is still running or was killed: read it the SWMR way.
    _check_not_truncated(p)
    try:
        return h5py.File(p, "r", libver="latest", swmr=True), True
    except OSError as exc:
        raise TrialError(f"{p}: cannot open the unfinished trial ({_one_line(exc)})") from None


def check_trial_identity(f: h5py.File, path) -> int:
    """Raise TrialError unless `f` is a station trial of the supported schema version."""
    fmt = f.attrs.get("format")
    if fmt is None or to_str(fmt) != schema.FORMAT_NAME:
        found = "no 'format' attribute" if fmt is None else f"format {to_str(fmt)!r}"
        raise TrialError(f"{path}: an HDF5 file of another kind ({found}), "
                         f"not a station trial")
    version = f.attrs.get("schema_version")
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise TrialError(f"{path}: trial without a readable schema_version attribute") from None
    if version != schema.SCHEMA_VERSION:
        raise TrialError(f"{path}: trial schema version {version}; this station reads version "
                         f"{schema.SCHEMA_VERSION} (use the station version that wrote it)")
    return version

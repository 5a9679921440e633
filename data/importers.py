"""Importers of external force recordings: delimited text, OpenSim storage (.mot/.sto/CSV with
`endheader`), C3D with force platforms. They return vertical force per plate in newtons.

Column selection (COLS): comma-separated, one item per plate; an item is a header name
(case-insensitive) or a 1-based column number, and several joined with '+' are summed
(e.g. "FZ1,FZ2", "3,9", "3+9", "ground_force2_vy,ground_force1_vy"). For C3D an item is a
force-platform number (1-based: its Fz from the platform parameters) or an analog label.
The sampling rate comes from a time column when there is one (first column named time / t /
time[s] ...), else from --rate.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class ImportError_(ValueError):
    """The file cannot be imported (one-line reason the user can act on)."""


@dataclass
class ImportedForce:
    fz_n: np.ndarray                    # (T, n_plates) N
    rate_hz: float
    time_s: np.ndarray                  # (T,) from 0
    labels: list[str]                   # one per plate: the COLS item
    source_format: str
    header: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_TIME_NAMES = re.compile(r"^\s*(time|t|times|frame_time)\s*(\[s\]|\(s\))?\s*$", re.IGNORECASE)


def _split(line: str, delim: str | None) -> list[str]:
    parts = line.split(delim) if delim else line.split()
    return [p.strip().lstrip("\ufeff") for p in parts]


def _is_number(tok: str) -> bool:
    try:
        float(tok)
        return True
    except ValueError:
        return False


def _sniff_delimiter(line: str) -> str | None:
    for d in ("\t", ",", ";"):
        if d in line:
            return d
    return None


def read_table(path: Path) -> tuple[list[str], np.ndarray, str]:
    """(header names or [], data (T, C) float, format name) of a delimited text file, with an
    optional OpenSim header ending in `endheader`."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise ImportError_(f"cannot read {path}: {exc.strerror or exc}") from None
    lines = text.splitlines()
    fmt = "text"
    start = 0
    for i, line in enumerate(lines[:200]):
        if line.strip().strip(",;\t").lower() == "endheader":
            start, fmt = i + 1, "opensim"
            break
    while start < len(lines) and not lines[start].strip().strip(",;\t"):
        start += 1
    if start >= len(lines):
        raise ImportError_(f"{path}: no data rows")
    first = lines[start]
    delim = _sniff_delimiter(first)
    toks = _split(first, delim)
    header: list[str] = []
    if not all(_is_number(t) for t in toks if t):
        header = toks
        start += 1
    rows = []
    for ln, line in enumerate(lines[start:], start=start + 1):
        if not line.strip().strip(",;\t"):
            continue
        toks = _split(line, delim)
        try:
            rows.append([float(t) if t else np.nan for t in toks])
        except ValueError:
            raise ImportError_(f"{path}:{ln}: not a number in {line.strip()[:60]!r}") from None
    if not rows:
        raise ImportError_(f"{path}: no data rows")
    width = min(len(r) for r in rows)
    data = np.array([r[:width] for r in rows], dtype=float)
    return header[:width] if header else [], data, fmt


def _column_index(ref: str, header: list[str], ncols: int, path: Path) -> int:
    ref = ref.strip()
    if ref.isdigit():
        k = int(ref)
        if not 1 <= k <= ncols:
            raise ImportError_(f"{path}: column {k} does not exist (the file has {ncols} columns)")
        return k - 1
    low = [h.lower() for h in header]
    if ref.lower() in low:
        return low.index(ref.lower())
    if not header:
        raise ImportError_(f"{path}: the file has no header, so give column numbers (1..{ncols}), "
                           f"not {ref!r}")
    raise ImportError_(f"{path}: no column {ref!r}; columns: {', '.join(header)}")


def parse_cols(cols: str) -> list[list[str]]:
    items = [[p.strip() for p in item.split("+")] for item in cols.split(",")]
    if not cols.strip() or any(not p for item in items for p in item):
        raise ImportError_(f"--fz {cols!r}: give column names or numbers, comma-separated "
                           "(one per plate), '+' to sum")
    return items


def _rate_from_time(t: np.ndarray, path: Path) -> float:
    dt = np.diff(t)
    if len(dt) < 2 or not np.all(dt > 0):
        raise ImportError_(f"{path}: the time column does not increase steadily")
    rate = 1.0 / float(np.median(dt))
    if np.max(np.abs(dt - 1.0 / rate)) > 0.01 / rate:
        raise ImportError_(f"{path}: the time column is not evenly spaced (steps "
                           f"{dt.min():.6g}..{dt.max():.6g} s); resample it first")
    return rate


def _check_rate(rate_time: float | None, rate_arg: float | None, path: Path) -> float:
    if rate_time is None and rate_arg is None:
        raise ImportError_(f"{path}: no time column; give the sampling rate with --rate HZ")
    if rate_time is not None and rate_arg is not None and abs(rate_time - rate_arg) > 0.01 * rate_arg:
        raise ImportError_(f"{path}: --rate {rate_arg:g} Hz disagrees with the time column "
                           f"({rate_time:.6g} Hz); drop --rate or fix it")
    return float(rate_time if rate_time is not None else rate_arg)


def import_text(path: Path, cols: str, rate_hz: float | None) -> ImportedForce:
    header, data, fmt = read_table(path)
    items = parse_cols(cols)
    idx = [[_column_index(r, header, data.shape[1], path) for r in item] for item in items]
    fz = np.stack([data[:, item].sum(axis=1) for item in idx], axis=1)
    if not np.all(np.isfinite(fz)):
        raise ImportError_(f"{path}: the force columns have empty or non-numeric cells")
    rate_time = None
    if header and _TIME_NAMES.match(header[0]):
        rate_time = _rate_from_time(data[:, 0], path)
    rate = _check_rate(rate_time, rate_hz, path)
    t = np.arange(len(fz)) / rate
    return ImportedForce(fz, rate, t, ["+".join(i) for i in items], fmt, header)


def import_c3d(path: Path, cols: str | None, rate_hz: float | None) -> ImportedForce:
    import ezc3d
    try:
        c = ezc3d.c3d(str(path), extract_forceplat_data=True)
    except Exception as exc:  # ezc3d raises plain RuntimeError/ValueError for bad files
        raise ImportError_(f"{path}: not a readable C3D file ({' '.join(str(exc).split())[:120]})") from None
    rate = float(c["header"]["analogs"]["frame_rate"])
    if rate_hz is not None and abs(rate - rate_hz) > 0.01 * rate_hz:
        raise ImportError_(f"{path}: --rate {rate_hz:g} Hz disagrees with the C3D analog rate "
                           f"({rate:g} Hz)")
    analogs = np.asarray(c["data"]["analogs"])[0]          # (channels, T)
    labels = list(c["parameters"]["ANALOG"]["LABELS"]["value"]) if analogs.size else []
    platforms = c["data"].get("platform", [])
    items = parse_cols(cols) if cols else [[str(k + 1)] for k in range(len(platforms))]
    if not items:
        raise ImportError_(f"{path}: no force platform in the C3D; give analog labels with --fz")
    out = []
    for item in items:
        total = None
        for ref in item:
            if ref.isdigit():
                k = int(ref) - 1
                if not 0 <= k < len(platforms):
                    raise ImportError_(f"{path}: no force platform {ref} (the file has "
                                       f"{len(platforms)})")
                sig = np.asarray(platforms[k]["force"], dtype=float)[2]
            else:
                low = [s.strip().lower() for s in labels]
                if ref.lower() not in low:
                    raise ImportError_(f"{path}: no analog channel {ref!r}; channels: "
                                       f"{', '.join(s.strip() for s in labels)}")
                sig = analogs[low.index(ref.lower())].astype(float)
            total = sig if total is None else total + sig
        out.append(total)
    fz = np.stack(out, axis=1)
    return ImportedForce(fz, rate, np.arange(len(fz)) / rate, ["+".join(i) for i in items], "c3d",
                         labels)


def import_force_file(path, cols: str | None, rate_hz: float | None = None) -> ImportedForce:
    p = Path(path)
    if not p.is_file():
        raise ImportError_(f"{p}: no such file")
    if p.suffix.lower() == ".c3d":
        return import_c3d(p, cols, rate_hz)
    if not cols:
        raise ImportError_(f"{p}: say which columns hold vertical force with --fz COLS")
    return import_text(p, cols, rate_hz)

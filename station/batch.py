"""Batch re-analysis: many trials (files or folders searched for *.h5) analysed with the same
settings, in parallel across processes (concurrent.futures.ProcessPoolExecutor) or on a Dask
cluster (distributed.Client(address)), with a textual progress bar on stderr. A broken file is
skipped and reported (its one-line reason), never stops the others. The combined table (CSV, one
row per rep, units in the headers) comes from analysis/report/metrics.py.

The same worker function (`analyze_one`) runs in every mode; results come back in the order of
the inputs, so a process-pool run and a Dask run of the same trials give identical outcomes.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from station.errors import UserError


@dataclass
class Outcome:
    trial: str
    ok: bool
    result: dict | None = None       # station.commands.analyze.analyze_trial output (JSON-ready)
    error: str | None = None         # one line, when not ok
    athlete_id: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def collect_trials(inputs) -> list[Path]:
    """Trial files from files and folders (folders: every *.h5 below them, sorted), each once."""
    out, seen = [], set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*.h5") if q.is_file())
        elif p.exists():
            found = [p]
        else:
            raise UserError(f"{p}: no such trial file or folder")
        for q in found:
            key = q.resolve()
            if key not in seen:
                seen.add(key)
                out.append(q)
    if not out:
        raise UserError(f"no trial files (*.h5) in {', '.join(str(i) for i in inputs)}")
    return out


def analyze_one(path: str, settings: dict, kind: str | None = None, write: bool = True,
                skeleton: bool = True, skeleton_settings: dict | None = None) -> Outcome:
    """Analyse one trial; never raises: failures come back as Outcome(ok=False, error=...)."""
    from analysis.force.settings import ForceSettings
    from station.commands.analyze import analyze_trial
    try:
        res = analyze_trial(str(path), ForceSettings.from_dict(settings), kind, write,
                            skeleton=skeleton, skeleton_settings=skeleton_settings)
        return Outcome(str(path), True, res, athlete_id=_athlete_of(path))
    except UserError as exc:
        return Outcome(str(path), False, error=" ".join(str(exc).split()))
    except Exception as exc:          # a bug or a damaged file the readers did not foresee
        msg = " ".join(str(exc).split())[:300]
        return Outcome(str(path), False, error=f"{path}: {type(exc).__name__}: {msg}")


def _athlete_of(path) -> str:
    from data.trial import open_trial
    with open_trial(path) as t:
        return str(t.metadata.get("athlete_id", ""))


class ProgressBar:
    """`analyze [#####.....] 5/10 trials, 1 skipped` on stderr: redrawn in place on a terminal,
    one line per finished trial otherwise (logs, pipes)."""

    def __init__(self, total: int, stream=None, width: int = 30):
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()

    def update(self, outcome: Outcome) -> None:
        self.done += 1
        self.failed += 0 if outcome.ok else 1
        fill = int(self.width * self.done / max(self.total, 1))
        text = (f"analyze [{'#' * fill}{'.' * (self.width - fill)}] {self.done}/{self.total} trials"
                + (f", {self.failed} skipped" if self.failed else "")
                + f", {time.perf_counter() - self.t0:.1f} s")
        if self.tty:
            self.stream.write("\r" + text + ("\n" if self.done == self.total else ""))
        else:
            self.stream.write(text + f"  {Path(outcome.trial).name}\n")
        self.stream.flush()


def _run_pool(paths, args, workers: int, on_done) -> list[Outcome]:
    from concurrent.futures import ProcessPoolExecutor, as_completed
    results: list[Outcome | None] = [None] * len(paths)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(analyze_one, str(p), *args): i for i, p in enumerate(paths)}
        for fut in as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            on_done(results[i])
    return results


def _run_dask(paths, args, address: str, on_done) -> list[Outcome]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UserError("--dask needs the 'distributed' package; install it or use --workers") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise UserError(f"cannot reach the Dask scheduler at {address} "
                        f"({' '.join(str(exc).split())[:120]}); check the address") from None
    try:
        futures = [client.submit(analyze_one, str(p), *args, pure=False) for p in paths]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Outcome | None] = [None] * len(paths)
        for fut in as_completed(futures):
            i = index[fut.key]
            results[i] = fut.result()
            on_done(results[i])
        return results
    finally:
        client.close()


def run_batch(paths, settings: dict, kind: str | None = None, write: bool = True,
              skeleton: bool = True, workers: int = 0, dask_address: str | None = None,
              progress: ProgressBar | None = None, skeleton_settings: dict | None = None) -> list[Outcome]:
    """Analyse every trial; Outcomes in the order of `paths`. workers=0: in this process;
    workers >= 1: that many worker processes; dask_address: on that Dask scheduler.
    skeleton_settings: analysis.skeleton_pipeline settings for every trial (e.g. cutoff_hz)."""
    args = (dict(settings), kind, write, skeleton, dict(skeleton_settings or {}))
    on_done = progress.update if progress else (lambda o: None)
    if dask_address:
        return _run_dask(paths, args, dask_address, on_done)
    if workers and workers >= 1:
        return _run_pool(paths, args, workers, on_done)
    out = []
    for p in paths:
        out.append(analyze_one(str(p), *args))
        on_done(out[-1])
    return out


def table_rows(outcomes: list[Outcome]) -> list[dict]:
    """The combined table: one row per rep of every trial that was analysed."""
    from analysis.report.metrics import rep_rows
    rows = []
    for o in outcomes:
        if not o.ok:
            continue
        r = o.result
        kin = (r.get("kinematics") or {}).get("reps")
        rows += rep_rows(r, kin, trial=o.trial, athlete_id=o.athlete_id,
                         trial_kind=r.get("trial_kind_metadata", ""))
    return rows


def write_combined_table(outcomes: list[Outcome], path) -> Path:
    from analysis.report.metrics import columns_of
    from analysis.report.units import header
    from data.export_csv import write_table
    rows = table_rows(outcomes)
    cols = columns_of(rows) if rows else ["trial"]
    return write_table(Path(path), [header(c) for c in cols], [[r.get(c) for c in cols] for r in rows])

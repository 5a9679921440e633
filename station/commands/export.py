"""`station export TRIAL --format csv|c3d [--out PATH]`: a trial for other tools.

csv: tidy tables with units in the headers (data/export_csv.py): <stem>_metrics.csv,
<stem>_force.csv and, with skeleton results, <stem>_kinematics.csv, written into the folder PATH
(default: <stem>_csv/ beside the trial). c3d: skeleton points and force platforms
(data/export_c3d.py) into the file PATH (default: <stem>.c3d beside the trial)."""
from __future__ import annotations

from pathlib import Path

from station.errors import UserError


def add_arguments(parser):
    parser.add_argument("trial", metavar="TRIAL", help="trial file (.h5)")
    parser.add_argument("--format", choices=("csv", "c3d"), required=True, help="what to write")
    parser.add_argument("--out", metavar="PATH", default=None,
                        help="csv: a folder for the tables; c3d: the .c3d file (never overwritten)")


def run(args) -> int:
    from data.trial import TrialError

    trial = Path(args.trial)
    if not trial.is_file():
        raise UserError(f"{trial}: no such trial file")
    try:
        if args.format == "csv":
            from data.export_csv import export_csv
            out = Path(args.out) if args.out else trial.with_name(trial.stem + "_csv")
            if out.exists() and not out.is_dir():
                raise UserError(f"--out {out} is a file; csv export writes a folder of tables")
            for p in export_csv(trial, out):
                print(p)
        else:
            from data.export_c3d import ExportError, export_c3d
            out = Path(args.out) if args.out else trial.with_suffix(".c3d")
            if out.suffix.lower() != ".c3d":
                raise UserError(f"--out {out}: give a file name ending in .c3d")
            if out.exists():
                raise UserError(f"{out} already exists; choose another --out")
            try:
                s = export_c3d(trial, out)
            except ExportError as exc:
                raise UserError(str(exc)) from None
            print(f"{out}: {s['points']} point(s) at {s['point_rate_hz']:.4g} Hz, {s['plates']} force "
                  f"platform(s) ({len(s['analog_labels'])} analog channels at "
                  f"{s['analog_rate_hz']:g} Hz), {s['frames']} frames")
    except TrialError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write the export: {exc.strerror or exc}; choose another --out") from None
    return 0

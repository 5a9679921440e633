"""`station report TRIAL_OR_SESSION_FOLDER [--out FILE.html]`: one self-contained HTML report of a
trial (.h5) or of a session folder (session.json + its trials): figures, metrics, left/right
comparison with flags against cited reference ranges, quality verdicts (analysis/report/)."""
from __future__ import annotations

from pathlib import Path

from station.errors import UserError


def add_arguments(parser):
    parser.add_argument("target", metavar="TRIAL_OR_SESSION_FOLDER",
                        help="a trial file (.h5) or a session folder")
    parser.add_argument("--out", metavar="FILE.html", default=None,
                        help="report file (default: <trial>_report.html beside the trial, or "
                             "report.html in the session folder)")


def default_out(target: Path) -> Path:
    return target / "report.html" if target.is_dir() else target.with_name(target.stem + "_report.html")


def run(args) -> int:
    from analysis.report.html import build_report
    from data.trial import TrialError

    target = Path(args.target)
    if not target.exists():
        raise UserError(f"{target}: no such trial file or session folder")
    if target.is_dir() and not (target / "session.json").exists() and not any(target.glob("*.h5")):
        raise UserError(f"{target}: neither a session folder (no session.json) nor a folder of "
                        f"trial files (*.h5)")
    out = Path(args.out) if args.out else default_out(target)
    if out.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"--out {out}: give a file name ending in .html")
    try:
        text, report = build_report(target)
    except TrialError as exc:
        raise UserError(str(exc)) from None
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror}; choose another --out") from None
    print(f"{out}: {len(report.figures)} figure(s), {len(report.tables)} table(s), "
          f"{len(report.flags)} flag(s)")
    return 0

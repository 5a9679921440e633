"""`station recover TRIAL [--out FILE]`: finish a trial whose writer never closed it.

A writer that was killed (or stopped by a full disk) leaves status 'recording' and HDF5's
"open for writing" flags in the file: analysis cannot write results into it and plain HDF5 tools
need `h5clear`. This command leaves the original untouched and writes `<name>.recovered.h5`:
every complete sample flushed before the stop, status 'aborted', reason 'writer killed
(recovered on <date>)' and a `writer_killed` fault (see data/trial_recover.py).
"""
from __future__ import annotations


def add_arguments(parser):
    parser.add_argument("file", help="trial file left with status 'recording' (.h5)")
    parser.add_argument("--out", default=None,
                        help="where to write the finished trial (default <name>.recovered.h5 "
                             "beside it; never overwritten)")


def run(args) -> int:
    from data.trial_recover import recover_trial
    s = recover_trial(args.file, args.out)        # TrialError is a UserError: one line
    counts = ", ".join(f"{k} {v}" for k, v in s["samples"].items()) or "no streams"
    cut = sum(s["dropped_partial"].values())
    print(f"wrote {s['out']}: status aborted ({s['status_reason']}); samples kept: {counts}"
          + (f"; {cut} incomplete trailing samples left out" if cut else "")
          + f". The original {args.file} is unchanged.")
    return 0

"""`station import PATH --fz COLS [--rate HZ] [--kind K] [--out FILE]`: an external force
recording (delimited text, OpenSim .mot/.sto/CSV with endheader, C3D) -> a trial file.

The trial holds one force stream 'force' (unit N, one column of vertical force per plate,
attribute content='fz_per_plate'), the source file and columns in the metadata settings.
Imports have no wall clock: host and device times count from 0 s at the first sample.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from station.errors import UserError

# = analysis.force.classify.KINDS (a test checks it), spelled out so `station --help` needs no scipy
KINDS = ("cmj", "sj", "drop_jump", "landing", "squats", "quiet")


def add_arguments(parser):
    parser.add_argument("path", metavar="PATH", help="force recording: .txt/.csv/.tsv, .mot/.sto, .c3d")
    parser.add_argument("--fz", metavar="COLS", default=None,
                        help="vertical force columns: names or 1-based numbers, comma-separated "
                             "(one per plate), '+' to sum (e.g. 'FZ1,FZ2', '3,9', '3+9'); "
                             "for C3D platform numbers or analog labels (default: all platforms)")
    parser.add_argument("--rate", metavar="HZ", type=float, default=None,
                        help="sampling rate, needed when the file has no time column")
    parser.add_argument("--kind", choices=KINDS, default=None, help="what the trial holds (default: detect)")
    parser.add_argument("--athlete", default="imported", help="athlete id stored in the trial")
    parser.add_argument("--out", metavar="FILE", default=None,
                        help="trial file to write (default: PATH's name with .h5 in the current folder)")


def run(args) -> int:
    from data.importers import ImportError_, import_force_file
    from data.trial import TrialError, TrialWriter

    if args.rate is not None and args.rate <= 0:
        raise UserError("--rate must be a positive number of Hz")
    try:
        imp = import_force_file(args.path, args.fz, args.rate)
    except ImportError_ as exc:
        raise UserError(str(exc)) from None
    src = Path(args.path)
    out = Path(args.out) if args.out else Path.cwd() / (src.stem + ".h5")
    n_plates = imp.fz_n.shape[1]
    meta = {"athlete_id": args.athlete, "protocol": "import", "step": args.kind or "",
            "trial_kind": args.kind or "unknown",
            "settings": {"import": {"source": str(src.resolve()), "format": imp.source_format,
                                    "fz": args.fz or "", "plate_columns": imp.labels,
                                    "rate_hz": imp.rate_hz}}}
    try:
        with TrialWriter(out, metadata=meta) as w:
            w.add_device("plates", kind="force_plate",
                         description={"source_file": src.name, "format": imp.source_format,
                                      "plates": n_plates})
            s = w.create_stream("force", kind="force", device="plates", sample_shape=(n_plates,),
                                dtype="float64", unit="N", frame=None,
                                nominal_rate_hz=imp.rate_hz,
                                columns=[f"fz_plate{k + 1}" for k in range(n_plates)],
                                attrs={"content": "fz_per_plate", "source_columns": imp.labels})
            k = np.arange(len(imp.fz_n), dtype=np.int64)
            s.append(imp.fz_n, sequence=k, time_device_s=imp.time_s, time_host_s=imp.time_s)
            w.set_quality("force", dropped=0, achieved_rate_hz=imp.rate_hz)
    except TrialError as exc:
        raise UserError(str(exc)) from None
    print(f"{out}: {len(imp.fz_n)} samples at {imp.rate_hz:g} Hz "
          f"({len(imp.fz_n) / imp.rate_hz:.2f} s), {n_plates} plate(s): {', '.join(imp.labels)}")
    return 0

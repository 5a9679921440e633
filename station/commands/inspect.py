"""`station inspect FILE [--json]`: a human summary of a trial file."""
from __future__ import annotations

import json

from station.errors import UserError


def add_arguments(parser):
    parser.add_argument("file", help="trial file (.h5)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def _fmt(x, spec=".1f", none="-"):
    return none if x is None else format(x, spec)


def _print_human(s: dict) -> None:
    md = s["metadata"]
    status = s["status"] + (f" ({s['status_reason']})" if s["status_reason"] else "")
    if s["status"] == "recording":
        status += (" - the writer has not closed it (still recording, or it was killed: "
                   f"`station recover {s['path']}` finishes a copy)")
    print(f"trial   {s['path']}")
    print(f"status  {status}")
    print(f"athlete {md.get('athlete_id', '')}  protocol {md.get('protocol', '')}  "
          f"step {md.get('step', '')}  kind {md.get('trial_kind', '')}")
    print(f"started {md.get('start_time_utc', '')}  ended {md.get('end_time_utc', '') or '-'}  "
          f"software {md.get('software_version', '')}  schema v{s['schema_version']}")
    print()
    print("streams")
    print(f"  {'name':<12} {'kind':<7} {'unit':<6} {'frame':<14} {'samples':>8} {'dur s':>8} "
          f"{'rate Hz':>9} {'nominal':>8} {'gaps':>5} {'dropped':>7} {'crc':>5}")
    for st in s["streams"]:
        q = st["quality"]
        print(f"  {st['name']:<12} {st['kind']:<7} {st['unit']:<6} {st['frame'] or '-':<14} "
              f"{st['samples']:>8} {_fmt(st['duration_s'], '.3f'):>8} "
              f"{_fmt(st['achieved_rate_hz'], '.2f'):>9} {_fmt(st['nominal_rate_hz'], '.1f'):>8} "
              f"{st['sequence_gaps']:>5} {q.get('dropped', '-'):>7} {q.get('crc_errors', '-'):>5}")
    if not s["streams"]:
        print("  (none)")
    print()
    faults = s["faults"]
    kinds = ", ".join(f"{k}: {v}" for k, v in faults["by_kind"].items())
    print(f"faults  {faults['count']}" + (f" ({kinds})" if kinds else ""))
    for f in faults["first"]:
        print(f"  t={f['time_host_s']:.3f} {f['stream']} {f['kind']}: {f['message']}")
    print("devices")
    for name, attrs in s["devices"].items():
        extra = ", ".join(f"{k}={v}" for k, v in attrs.items() if k != "kind" and not isinstance(v, (dict, list)))
        print(f"  {name:<12} {attrs.get('kind', ''):<14} {extra}")
    print("calibrations" + ("" if s["calibrations"] else "  (none)"))
    for name, c in s["calibrations"].items():
        print(f"  {name:<12} attrs: {', '.join(c['attrs']) or '-'}; arrays: {', '.join(c['arrays']) or '-'}")
    print("results" + ("" if s["results"] else "  (none)"))
    for name, r in s["results"].items():
        scalars = {k: v for k, v in r["attrs"].items() if isinstance(v, (int, float, str))
                   and k not in ("software_version", "created_utc")}
        print(f"  {name:<12} {len(r['arrays'])} arrays; "
              + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in scalars.items()))
    if s["truth"] is not None:
        print(f"truth   simulator ground truth: {len(s['truth'])} arrays")
    if s["problems"]:
        print(f"schema problems ({len(s['problems'])}):")
        for p in s["problems"]:
            print(f"  - {p}")
    else:
        print("schema  valid")


def run(args) -> int:
    from data.trial import TrialError, open_trial, validate_trial
    from data.trial_summary import trial_summary
    try:
        with open_trial(args.file) as trial:
            summary = trial_summary(trial, validate_trial(args.file))
    except TrialError as exc:
        raise UserError(str(exc)) from None
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_human(summary)
    return 0

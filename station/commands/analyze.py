"""`station analyze TRIAL_OR_FOLDER... [--json] [--kind K] [settings] [--workers N | --dask ADDRESS]
[--table OUT.csv]`: force events and metrics of each trial, printed as a table (or JSON) and
written into the trial under /results/force (raw data untouched); with camera streams, the
skeleton and kinematics under /results/skeleton (analysis/skeleton_pipeline, when available).
Settings are the fields of analysis.force.settings.ForceSettings.

One trial file and no batch option: as before (a bad file is an error). Several trials, a folder,
--workers, --dask or --table: batch mode (station/batch.py): progress bar on stderr, broken files
skipped and named, exit code 1 when any was skipped, the combined table written with --table."""
from __future__ import annotations

import functools
import json
import math
import sys
from pathlib import Path

import numpy as np

from analysis.report.method_notes import method_lines, setup_warnings
from station.errors import UserError

# = analysis.force.classify.KINDS (a test checks it), spelled out so `station --help` needs no scipy
KINDS = ("cmj", "sj", "drop_jump", "landing", "squats", "quiet")


def add_arguments(parser):
    parser.add_argument("trials", nargs="+", metavar="TRIAL_OR_FOLDER",
                        help="trial file(s) (.h5) or folders searched for *.h5")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--kind", choices=KINDS, default=None,
                        help="analyse as this kind instead of the detected one")
    parser.add_argument("--no-write", action="store_true", help="do not write results into the trial")
    parser.add_argument("--preset", choices=("station", "jumpmetrics"), default="station",
                        help="starting settings: ours, or JumpMetrics' weighing window and "
                             "26.64 Hz low-pass (events stay on raw force)")
    parser.add_argument("--lowpass", type=float, metavar="HZ", default=None,
                        help="low-pass for peaks/RFD (0 = raw force)")
    parser.add_argument("--threshold", type=float, metavar="N", default=None,
                        help="contact threshold for takeoff/landing on raw force")
    parser.add_argument("--quiet-window", type=float, metavar="S", default=None,
                        help="length of the body-weight window")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="any other force setting, e.g. --set onset_sd_factor=8")
    parser.add_argument("--static", metavar="STATIC_TRIAL", default=None,
                        help="the athlete's static standing trial (zero of the dorsiflexion, bone "
                             "lengths); default: the static trial in the same session folder")
    parser.add_argument("--joint-cutoff", type=float, metavar="HZ", default=None,
                        help="low-pass cut-off of the camera's joints (default: 4 Hz for squats and "
                             "standing, 12 Hz for jumps); the result's filter line shows the "
                             "residual analysis to judge it by")
    rule = parser.add_mutually_exclusive_group()
    rule.add_argument("--landing-joints-own-side", action="store_true",
                      help="the depth frames just before a landing's contact take the joints from their "
                           "own side of the contact, not from a line through it (foot."
                           "no_interpolation_across_contact). Default: chosen by the camera's expected "
                           "depth noise at the plate (own side below 20 mm RMS, e.g. a D455 at 2.5 m; "
                           "the line for a D435 there); on the virtual jumps it fixed a +2..3 deg "
                           "contact bias with half the D435's depth noise and made the D435 worse "
                           "(docs/SKELETON.md)")
    rule.add_argument("--landing-joints-line", action="store_true",
                      help="the line across the contact whatever the camera (the D435's rule)")
    parser.add_argument("--no-skeleton", action="store_true",
                        help="force analysis only, even for trials with camera streams")
    parser.add_argument("--workers", type=int, metavar="N", default=None,
                        help="analyse in N worker processes (batch mode)")
    parser.add_argument("--dask", metavar="ADDRESS", default=None,
                        help="analyse on the Dask scheduler at ADDRESS, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--table", metavar="OUT.csv", default=None,
                        help="write the combined table of every rep of every trial (batch mode)")


def build_settings(args):
    from analysis.force.settings import ForceSettings
    s = ForceSettings.jumpmetrics() if args.preset == "jumpmetrics" else ForceSettings()
    d = s.to_dict()
    if args.lowpass is not None:
        d["lowpass_hz"] = None if args.lowpass <= 0 else args.lowpass
    if args.threshold is not None:
        d["contact_threshold_n"] = args.threshold
    if args.quiet_window is not None:
        d["quiet_window_s"] = args.quiet_window
    for item in args.set:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in d:
            raise UserError(f"--set {item!r}: use NAME=VALUE with NAME one of {', '.join(d)}")
        old = d[name]
        try:
            if value.strip().lower() in ("none", ""):
                d[name] = None
            elif isinstance(old, str):
                d[name] = value.strip()
            elif isinstance(old, int) and not isinstance(old, bool):
                d[name] = int(value)
            else:
                d[name] = float(value)
        except ValueError:
            raise UserError(f"--set {item!r}: {value!r} is not a number") from None
    return ForceSettings.from_dict(d)


def analyze_trial(path: str, settings, kind: str | None, write: bool, skeleton: bool = True,
                  static_trial: str | None = None, skeleton_settings: dict | None = None) -> dict:
    from analysis.force import ForceAnalysisError, analyze_force
    from analysis.force.trial_force import TrialForceError, force_from_trial
    from data.trial import TrialError, open_trial, write_results

    try:
        with open_trial(path) as t:
            force = force_from_trial(t)
            expected = t.metadata.get("trial_kind", "")
            has_camera = {"color", "depth"} <= {s.kind for s in t.streams().values()}
    except (TrialError, TrialForceError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    try:
        res = analyze_force(force.fz_n, force.rate_hz, settings, kind=kind, cop=force.cop_plate_m)
    except ForceAnalysisError as exc:
        raise UserError(f"{path}: {exc}") from None
    out = res.to_dict()
    out = {"trial": str(path), **out, "trial_kind_metadata": expected, "streams": force.streams}
    out["warnings"].extend(force.notes)
    if expected in KINDS and kind is None and expected != res.kind_detected:
        out["warnings"].append(f"the trial says {expected!r} but the force looks like "
                               f"{res.kind_detected!r} (use --kind to override)")
    if write:
        try:
            write_results(path, "force", arrays=_rep_arrays(out["reps"]),
                          attrs={k: v for k, v in out.items() if k not in ("settings", "trial")},
                          settings=out["settings"])
        except TrialError as exc:
            raise UserError(str(exc)) from None
    # ==== KINEMATICS HOOK: skeleton + kinematics results are added here =====================
    if skeleton and has_camera:
        add_kinematics(path, out, write, settings={"skeleton": dict(skeleton_settings or {})},
                       static_trial=static_trial)
    return out


def find_static_trial(path: str) -> str | None:
    """The static standing trial of the same session: the latest complete trial of kind
    'static' in the trial's folder that started before it (else the first one after it)."""
    from data.trial import TrialError, open_trial
    here = Path(path).resolve()
    candidates = []
    for other in sorted(here.parent.glob("*.h5")):
        if other == here:
            continue
        try:
            with open_trial(other) as t:
                if t.metadata.get("trial_kind") == "static" and t.status == "complete":
                    candidates.append((str(t.metadata.get("start_time_utc", "")), str(other)))
        except (TrialError, OSError):
            continue
    if not candidates:
        return None
    try:
        with open_trial(here) as t:
            start = str(t.metadata.get("start_time_utc", ""))
    except (TrialError, OSError):
        start = ""
    before = [c for c in candidates if c[0] <= start]
    return (max(before) if before else min(candidates))[1]


@functools.lru_cache(maxsize=8)
def _static_reference(static_path: str, mtime: float) -> dict:
    from analysis.skeleton_pipeline import static_reference_from_trial
    from data.trial import open_trial
    with open_trial(static_path) as t:
        ref = static_reference_from_trial(t)
    ref["trial"] = static_path
    return ref


def _merge_legs(reps: list[dict], kinematics: dict) -> None:
    """Per rep, the skeleton's `left` and `right` objects (angles at the force events, tracking
    quality) go beside the force metrics of the same rep."""
    by_rep = {k.get("rep"): k for k in kinematics.get("reps", [])}
    for i, rep in enumerate(reps):
        k = by_rep.get(rep.get("rep", i + 1))
        if k is None:
            continue
        for side in ("left", "right"):
            leg = dict(k.get(side) or {})
            verdict = (k.get("verdict") or {}).get(side)
            if verdict is not None:
                leg["verdict"] = verdict
            leg.setdefault("tracking_quality", (kinematics.get("tracking_quality") or {}).get(side))
            rep[side] = leg


def add_kinematics(path: str, out: dict, write: bool, settings: dict | None = None,
                   static_trial: str | None = None) -> None:
    """Run analysis.skeleton_pipeline.analyze_skeleton(trial, settings, force_events) on a trial
    with camera streams: out['kinematics'] gets its summary (per-rep angles at the force events,
    tracking quality, verdict) and /results/skeleton its arrays. Skipped, with a warning in
    out['warnings'], when the pipeline is not installed or says the trial cannot be analysed."""
    from data.trial import TrialError, open_trial, write_results
    try:
        from analysis.skeleton_pipeline import SkeletonError, analyze_skeleton
    except ImportError as exc:
        out["warnings"].append(f"kinematics skipped: the skeleton pipeline is not available ({exc})")
        return
    settings = dict(settings or {})
    static_trial = static_trial or find_static_trial(path)
    try:
        if static_trial and Path(static_trial).resolve() != Path(path).resolve():
            ref = _static_reference(str(Path(static_trial).resolve()), Path(static_trial).stat().st_mtime)
            settings["skeleton"] = {**settings.get("skeleton", {}), "static": ref}
        with open_trial(path) as t:
            sk_settings = dict(settings.get("skeleton", {}))
            if sk_settings.get("time_offset_s") is None:
                offset, source = trial_time_offset(t)
                if offset is not None:
                    sk_settings["time_offset_s"] = offset
                sk_settings["time_offset_source"] = source
            settings["skeleton"] = sk_settings
            sk = analyze_skeleton(t, settings, out)
    except (SkeletonError, TrialError, ValueError) as exc:      # SkeletonError: one-line reason
        out["warnings"].append(f"kinematics skipped: {' '.join(str(exc).split())[:300]}")
        return
    summary = {k: v for k, v in sk.items() if k not in ("arrays", "_landmarks", "timings_s")}
    out["warnings"] += setup_warnings(summary)
    summary["time_sync"] = {"offset_s": sk_settings.get("time_offset_s"),
                            "source": sk_settings.get("time_offset_source", "settings")}
    out["kinematics"] = summary
    _merge_legs(out["reps"], summary)
    if write:
        attrs = {k: v for k, v in summary.items() if k != "settings"}
        attrs["timings_s"] = sk.get("timings_s", {})
        try:
            write_results(path, "skeleton", arrays=sk["arrays"], attrs=attrs,
                          settings=sk.get("settings", {}))
        except TrialError as exc:
            raise UserError(str(exc)) from None


def trial_time_offset(trial) -> tuple[float | None, str]:
    """The camera->plate time offset (t_plate - t_camera, s) the kinematics should use, and
    where it comes from: the trial's own sync result (/results/sync, written by the capture
    session: the session clock fit's value when there is one, else the trial's own measured
    offset when it passed), else /calibration/time_sync, else none (the camera's host times
    are used as they are, and the source says so)."""
    res = trial.results()
    if "sync" in res:
        a = res["sync"].attrs
        if a.get("offset_applied_s") is not None and bool(a.get("ok", True)):
            return float(a["offset_applied_s"]), "results/sync offset_applied_s (" + str(
                a.get("source") or "session clock fit") + ")"
        if a.get("offset_s") is not None and bool(a.get("ok", False)):
            return float(a["offset_s"]), "results/sync offset_s (" + str(a.get("method", "")) + ")"
    cals = trial.calibrations()
    if "time_sync" in cals and cals["time_sync"].attrs.get("offset_s") is not None:
        return float(cals["time_sync"].attrs["offset_s"]), "calibration/time_sync"
    return None, "none: not time-synced (camera host times used as recorded)"


def _rep_arrays(reps: list[dict]) -> dict:
    """One float array per numeric rep key (NaN where a rep has no value)."""
    keys = []
    for r in reps:
        for k, v in r.items():
            if k not in keys and (isinstance(v, (int, float)) and not isinstance(v, bool)):
                keys.append(k)
    if not reps:
        return {}
    return {"reps": {k: np.array([_num(r.get(k)) for r in reps], dtype=float) for k in keys}}


def _num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


_JUMP_COLUMNS = [("rep", "rep", "{:d}"), ("kind", "kind", "{}"), ("flight s", "flight_time_s", "{:.3f}"),
                 ("h flight m", "jump_height_flight_time_m", "{:.3f}"),
                 ("h impulse m", "jump_height_impulse_m", "{:.3f}"),
                 ("v takeoff m/s", "takeoff_velocity_m_s", "{:.2f}"),
                 ("contact s", "contact_time_s", "{:.3f}"), ("RSI", "rsi", "{:.2f}"),
                 ("RSImod", "rsi_modified", "{:.2f}"), ("peak F N", "peak_force_n", "{:.0f}"),
                 ("depth m", "countermovement_depth_m", "{:.3f}"),
                 ("land peak xBW", "peak_landing_force_bw", "{:.2f}"),
                 ("load rate BW/s", "loading_rate_bw_s", "{:.1f}"),
                 ("TTS s", "time_to_stabilization_s", "{:.2f}")]
_SQUAT_COLUMNS = [("rep", "rep", "{:d}"), ("start s", "start_s", "{:.2f}"), ("bottom s", "bottom_s", "{:.2f}"),
                  ("end s", "end_s", "{:.2f}"), ("duration s", "duration_s", "{:.2f}"),
                  ("depth m", "countermovement_depth_m", "{:.3f}"), ("peak F N", "peak_force_n", "{:.0f}"),
                  ("min F N", "min_force_n", "{:.0f}")]
_LANDING_COLUMNS = [("rep", "rep", "{:d}"), ("landing s", "landing_s", "{:.3f}"),
                    ("peak N", "peak_landing_force_n", "{:.0f}"), ("peak xBW", "peak_landing_force_bw", "{:.2f}"),
                    ("t peak s", "time_to_peak_landing_force_s", "{:.3f}"),
                    ("load rate BW/s", "loading_rate_bw_s", "{:.1f}"), ("TTS s", "time_to_stabilization_s", "{:.2f}")]


def format_table(out: dict) -> str:
    lines = [f"{out['trial']}: {out['kind']}"
             + (f" (detected {out['kind_detected']})" if out['kind'] != out['kind_detected'] else "")
             + f", body weight {out['body_weight_n']:.1f} N ({out['body_mass_kg']:.1f} kg) from "
             f"{out['quiet_window_s'][0]:.2f}-{out['quiet_window_s'][1]:.2f} s, "
             f"{len(out['reps'])} rep(s)"]
    if out["reps"]:
        kind0 = out["reps"][0].get("kind")
        cols = (_SQUAT_COLUMNS if kind0 == "squat" else
                _LANDING_COLUMNS if kind0 == "landing" else _JUMP_COLUMNS)
        cells = [[h for h, _, _ in cols]]
        for r in out["reps"]:
            row = []
            for _, key, fmt in cols:
                v = r.get(key)
                row.append("-" if v is None else fmt.format(v))
            cells.append(row)
        widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
        for c in cells:
            lines.append("  " + "  ".join(s.rjust(w) for s, w in zip(c, widths)))
        if kind0 not in ("squat", "landing"):
            lines.append("  (h flight: g t^2/8 from the flight time on raw force; "
                         "h impulse: v^2/2g from the impulse from onset to takeoff)")
    kin = out.get("kinematics") or {}
    lines += _kinematics_lines(out.get("reps") or [], kin.get("frontal_plane"), kin.get("filter"),
                               kin.get("landing_joints"), kin.get("contact_dorsiflexion_precision"))
    for w in out.get("warnings", []):
        lines.append(f"  warning: {w}")
    return "\n".join(lines)


_KIN_COLUMNS = [("DF@IC", "dorsiflexion_at_contact_deg"), ("DF max", "dorsiflexion_max_deg"),
                ("FPPA@IC", "fppa_at_contact_deg"), ("FPPA max", "fppa_max_deg"),
                ("knee flex max", "knee_flexion_max_deg")]


def _kinematics_lines(reps: list[dict], frontal_plane: dict | None = None,
                      joint_filter: dict | None = None, landing_joints: dict | None = None,
                      contact_precision: dict | None = None) -> list[str]:
    """The camera's angles per rep and leg (degrees; IC = initial contact, a squat's bottom),
    with each leg's tracking quality and verdict, where FPPA's frontal plane came from, how
    the joints were low-passed and (landings) how the contact's depth frames got their joints
    and how precise that value is; nothing when the trial had no skeleton."""
    legs = [(r.get("rep", i + 1), side, r[side]) for i, r in enumerate(reps)
            for side in ("left", "right") if isinstance(r.get(side), dict) and r[side]]
    if not legs:
        return []
    cells = [["rep", "leg"] + [h for h, _ in _KIN_COLUMNS] + ["tracked", "verdict"]]
    reasons = []
    for rep, side, leg in legs:
        row = [str(rep), side]
        for _, key in _KIN_COLUMNS:
            v = leg.get(key)
            row.append("-" if not isinstance(v, (int, float)) or v != v else f"{v:.1f}")
        tq = leg.get("tracking_quality")
        row.append("-" if tq is None else f"{100 * tq:.0f}%")
        verdict = leg.get("verdict") or {}
        row.append(verdict.get("verdict", "-"))
        reasons += [f"rep {rep} {side}: {x}" for x in verdict.get("reasons", [])]
        cells.append(row)
    widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
    out = ["  kinematics (camera, degrees; IC = initial contact, squats: the bottom):"]
    out += ["  " + "  ".join(x.rjust(w) for x, w in zip(c, widths)) for c in cells]
    out += [f"  {x}" for x in reasons]
    out += [f"  {x}" for x in method_lines(reps, frontal_plane, joint_filter, landing_joints, contact_precision)]
    return out


def _print_results(results: list[dict], as_json: bool) -> None:
    if as_json:
        payload = results[0] if len(results) == 1 else results
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print("\n\n".join(format_table(r) for r in results))


def _is_batch(args) -> bool:
    from pathlib import Path
    return (len(args.trials) > 1 or any(Path(p).is_dir() for p in args.trials)
            or args.workers is not None or args.dask is not None or args.table is not None)


def skeleton_settings_from(args) -> dict:
    """The skeleton settings the command line gives (analysis.skeleton_pipeline)."""
    out = {}
    cutoff = getattr(args, "joint_cutoff", None)
    if cutoff is not None:
        if not cutoff > 0:
            raise UserError(f"--joint-cutoff {cutoff:g}: give a cut-off above 0 Hz (e.g. 6)")
        out["cutoff_hz"] = float(cutoff)
    if getattr(args, "landing_joints_own_side", False):
        out["foot"] = {"no_interpolation_across_contact": True}
    elif getattr(args, "landing_joints_line", False):
        out["foot"] = {"no_interpolation_across_contact": False}
    return out


def run(args) -> int:
    settings = build_settings(args)
    sk = skeleton_settings_from(args)
    if not _is_batch(args):
        results = [analyze_trial(p, settings, args.kind, not args.no_write, not args.no_skeleton,
                                 static_trial=args.static, skeleton_settings=sk)
                   for p in args.trials]
        _print_results(results, args.json)
        return 0
    return run_batch_command(args, settings, sk)


def run_batch_command(args, settings, skeleton_settings: dict | None = None) -> int:
    from station.batch import ProgressBar, collect_trials, run_batch, write_combined_table
    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be at least 1")
    if args.workers is not None and args.dask:
        raise UserError("give either --workers or --dask, not both")
    if args.table and not args.table.lower().endswith(".csv"):
        raise UserError(f"--table {args.table}: give a file name ending in .csv")
    paths = collect_trials(args.trials)
    outcomes = run_batch(paths, settings.to_dict(), args.kind, not args.no_write,
                         not args.no_skeleton, workers=args.workers or 0,
                         dask_address=args.dask, progress=ProgressBar(len(paths)),
                         skeleton_settings=skeleton_settings)
    good = [o.result for o in outcomes if o.ok]
    if good:
        _print_results(good, args.json)
    bad = [o for o in outcomes if not o.ok]
    for o in bad:
        print(f"station analyze: skipped {o.trial}: {o.error}", file=sys.stderr)
    if args.table:
        try:
            path = write_combined_table(outcomes, args.table)
        except OSError as exc:
            raise UserError(f"cannot write {args.table}: {exc.strerror}") from None
        print(f"station analyze: table of {len(good)} trial(s) written to {path}", file=sys.stderr)
    print(f"station analyze: {len(good)} of {len(outcomes)} trial(s) analysed"
          + (f", {len(bad)} skipped (named above)" if bad else ""), file=sys.stderr)
    return 1 if bad else 0

"""One self-contained HTML report (figures embedded as base64 PNG) of a trial or a session.

    build_report(path) -> (html_text, summary)       # path: a trial .h5 or a session folder

A session folder holds session.json (station/session.py) listing trials and their verdicts; a
folder of trials without it is reported the same way, verdicts then come from each trial's status
and faults. The session part: trial quality verdicts, the metrics table, the left/right
comparison with flags against cited reference ranges (reference_ranges.py), then one section per
trial with its force-time figure, angle curves and skeleton snapshots (or a note saying why not).
"""
from __future__ import annotations

import base64
import html as _html
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from analysis.report import figures
from analysis.report.metrics import kinematic_rep_values, match_kinematic_rep
from analysis.report.reference_ranges import CITATIONS, flags_for_rep
from analysis.report.trial_view import TrialView, color_frame_at, load_trial_view, snapshot_events
from analysis.report.units import unit_of

KEY_METRICS = ("jump_height_flight_time_m", "jump_height_impulse_m", "flight_time_s",
               "contact_time_s", "rsi", "rsi_modified", "peak_force_n", "peak_power_w",
               "peak_landing_force_bw", "loading_rate_bw_s", "time_to_stabilization_s",
               "countermovement_depth_m", "duration_s", "peak_force_bw")
LR_KINEMATICS = ("fppa_max_deg", "fppa_at_contact_deg", "fppa_at_peak_knee_flexion_deg",
                 "knee_flexion_max_deg", "dorsiflexion_max_deg", "shank_inclination_max_deg")
LR_FORCE = (("peak_propulsive_force_n", "asymmetry_peak_propulsive_force_pct"),
            ("propulsive_net_impulse_n_s", "asymmetry_propulsive_impulse_pct"),
            ("peak_landing_force_n", "asymmetry_peak_landing_force_pct"))

CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;border-bottom:2px solid #ddd;padding-top:10px}
h3{font-size:15px} table{border-collapse:collapse;margin:8px 0 16px 0;font-size:12px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right} th{background:#f0f0f0;font-size:11px;word-break:break-word}
td.l,th.l{text-align:left} .ok{color:#1a7f37;font-weight:bold} .redo{color:#c62828;font-weight:bold}
.flag{background:#ffe0e0} .note{color:#555;font-style:italic} img{max-width:100%}
.snaps img{max-width:48%;margin-right:1%} .refs li{font-size:12px;margin-bottom:4px}
.method li{font-size:12px;margin-bottom:2px} .method li.warn{color:#c62828}
"""


def esc(x) -> str:
    return _html.escape("" if x is None else str(x))


def fmt(v, key: str = "") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        a = abs(v)
        return f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.3f}" if a < 1 else f"{v:.2f}"
    return esc(v)


def img_tag(png: bytes, alt: str, cls: str = "figure") -> str:
    return (f'<img class="{cls}" alt="{esc(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">')


def table(headers: list, rows: list, left_cols: int = 1, row_classes: list | None = None,
          table_id: str = "") -> str:
    idattr = f' id="{table_id}"' if table_id else ""
    # long metric names may break after an underscore (<wbr>) so wide tables fit the page
    h = "".join(f'<th class="{"l" if i < left_cols else ""}">{esc(c).replace("_", "_<wbr>")}</th>'
                for i, c in enumerate(headers))
    body = []
    for j, r in enumerate(rows):
        cls = f' class="{row_classes[j]}"' if row_classes and row_classes[j] else ""
        cells = "".join(f'<td class="{"l" if i < left_cols else ""}">{c}</td>' for i, c in enumerate(r))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table{idattr}><tr>{h}</tr>{''.join(body)}</table>"


def athlete_sex(view: TrialView, session: dict | None = None) -> str | None:
    md = view.metadata
    settings = md.get("settings") if isinstance(md.get("settings"), dict) else {}
    for cand in (md.get("sex"), (settings.get("traits") or {}).get("sex"),
                 ((session or {}).get("athlete") or {}).get("sex")):
        if cand:
            return str(cand)
    return None


# ---------------------------------------------------------------------------------------------
class Report:
    """Collects sections and counts what it embedded (for the CLI summary and the tests)."""

    def __init__(self):
        self.parts: list[str] = []
        self.figures: list[str] = []      # alt texts
        self.tables: list[str] = []       # ids
        self.flags: list = []
        self.citations_used: set = set()

    def fig(self, png: bytes, alt: str, cls: str = "figure") -> str:
        self.figures.append(alt)
        return img_tag(png, alt, cls)

    def tab(self, table_id: str, headers, rows, **kw) -> str:
        self.tables.append(table_id)
        return table(headers, rows, table_id=table_id, **kw)


def quality_section(rep: Report, view: TrialView, record: dict | None, tid: str) -> str:
    out = ["<h3>Quality</h3>"]
    status = view.status + (f" ({view.status_reason})" if view.status_reason else "")
    if record is not None:
        v = record.get("verdict") or {}
        ok = bool(v.get("ok"))
        verdict = (f'<span class="ok">ok</span>' if ok else
                   f'<span class="redo">redo</span>: {esc("; ".join(v.get("reasons") or []))}')
        flags = ", ".join(f"{k}={v.get(k)}" for k in ("complete", "tracked", "synced", "quiet") if k in v)
        out.append(f"<p>Session verdict: {verdict} ({esc(flags)}); file status: {esc(status)}</p>")
    else:
        out.append(f"<p>File status: {esc(status)}; {len(view.faults)} fault(s) recorded</p>")
    rows = []
    for name, (kind, n, rate) in view.streams.items():
        q = view.quality.get(name, {})
        rows.append([esc(name), esc(kind), fmt(n), fmt(rate), fmt(q.get("dropped")),
                     fmt(q.get("crc_errors")), fmt(q.get("clock_fit_residual_ms"))])
    out.append(rep.tab(f"streams-{tid}", ["stream", "kind", "samples", "rate [Hz]", "dropped",
                                          "CRC errors", "clock fit residual [ms]"], rows, left_cols=2))
    if view.faults:
        frows = [[esc(f.kind), esc(f.stream), esc(f.message)] for f in view.faults[:50]]
        out.append(rep.tab(f"faults-{tid}", ["fault", "stream", "message"], frows, left_cols=3))
    return "\n".join(out)


def force_section(rep: Report, view: TrialView, tid: str) -> str:
    out = ["<h3>Force</h3>"]
    if view.force_fz_n is None:
        out.append(f'<p class="note">{esc(view.force_source)}</p>')
        return "\n".join(out)
    f = view.force or {}
    if view.force:
        out.append(f'<p class="note">Force results: {esc(view.force_source)}. Kind: {esc(f.get("kind"))}; '
                   f'body weight {fmt(f.get("body_weight_n"))} N ({fmt(f.get("body_mass_kg"))} kg). '
                   f'Jump heights: "flight" = g t&sup2;/8 from the flight time on raw force, '
                   f'"impulse" = v&sup2;/2g from the impulse from onset to takeoff.</p>')
    else:
        out.append(f'<p class="note">{esc(view.force_source)}</p>')
    png = figures.force_time_png(view.force_time_s, view.force_fz_n, f.get("reps") or [],
                                 f.get("body_weight_n"), title=f"Force - time: {view.label}")
    out.append(rep.fig(png, f"force-time {view.label}"))
    reps = f.get("reps") or []
    if reps:
        keys = [k for k in KEY_METRICS if any(r.get(k) is not None for r in reps)]
        headers = ["rep", "kind"] + [f"{k} [{unit_of(k)}]" if unit_of(k) else k for k in keys]
        rows = [[fmt(r.get("rep")), esc(r.get("kind"))] + [fmt(r.get(k), k) for k in keys] for r in reps]
        out.append(rep.tab(f"force-metrics-{tid}", headers, rows, left_cols=2))
    for w in f.get("warnings") or []:
        out.append(f'<p class="note">warning: {esc(w)}</p>')
    return "\n".join(out)


def kinematics_section(rep: Report, view: TrialView, tid: str) -> str:
    out = ["<h3>Kinematics</h3>"]
    kin = view.kinematics
    if kin is None:
        out.append(f'<p class="note">{esc(view.kinematics_note)}: no angle curves or skeleton '
                   f'snapshots.</p>')
        return "\n".join(out)
    reps_f = (view.force or {}).get("reps") or []
    events = figures.kinematic_events(reps_f, kin.reps)
    png = figures.angle_curves_png(kin.time_s, kin.curves, events,
                                   title=f"Dorsiflexion and FPPA per leg: {view.label} ({kin.source})")
    out.append(rep.fig(png, f"dorsiflexion and FPPA curves {view.label}"))
    if kin.method:
        items = "".join(f'<li class="{"warn" if x.startswith("warning: ") else "how"}">{esc(x)}</li>'
                        for x in kin.method)
        out.append(f'<p class="note">How these angles were made:</p><ul class="method">{items}</ul>')
    snaps = []
    if not view.has_color:
        out.append('<p class="note">no color stream in this trial: no skeleton snapshot</p>')
    else:
        from analysis.joints import JOINT_NAMES
        for label, t in snapshot_events(view):
            got = color_frame_at(view.path, view.time_origin_host_s, t)
            if got is None:
                continue
            rgb, t_frame = got
            px, note = None, view.camera_note
            if view.camera is not None and kin.joints_lab_m is not None and len(kin.time_s):
                i = int(np.argmin(np.abs(kin.time_s - t_frame)))
                if np.all(np.isfinite(kin.joints_lab_m[i])):
                    px = figures.project_joints(kin.joints_lab_m[i], view.camera)
                else:
                    note = "joints missing at this frame"
            png = figures.skeleton_snapshot_png(rgb, px, JOINT_NAMES,
                                                f"{label} (t = {t_frame:.3f} s)", note)
            snaps.append(rep.fig(png, f"skeleton snapshot at {label} {view.label}", cls="snap"))
        out.append(f'<div class="snaps">{"".join(snaps)}</div>')
    return "\n".join(out)


def lr_rows(view: TrialView, sex: str | None, report: Report):
    """Left/right comparison rows of one trial (+ flags found)."""
    rows, classes = [], []
    kin_reps = view.kinematics.reps if view.kinematics else []
    for r in (view.force or {}).get("reps") or []:
        kr = match_kinematic_rep(kin_reps, r.get("rep"))
        flags = []
        if kr:
            vals = kinematic_rep_values(kr)
            sides = {s: {k: vals.get(f"{s}_{k}") for k in LR_KINEMATICS} for s in ("left", "right")}
            flags = flags_for_rep(r.get("kind", ""), sides, vals.get("separation_ratio_min"), sex)
            report.flags.extend((view.label, r.get("rep"), f) for f in flags)
            for k in LR_KINEMATICS:
                lv, rv = sides["left"][k], sides["right"][k]
                if lv is None and rv is None:
                    continue
                fl = [f for f in flags if f.key == k]
                rows.append([esc(view.label), fmt(r.get("rep")), esc(k), fmt(lv), fmt(rv),
                             fmt(None if lv is None or rv is None else lv - rv), "",
                             esc("; ".join(f.message for f in fl)) or "-"])
                classes.append("flag" if fl else "")
            other = [f for f in flags if f.key not in LR_KINEMATICS]
            for f in other:
                rows.append([esc(view.label), fmt(r.get("rep")), esc(f.key), "-", "-", fmt(f.value), "",
                             esc(f.message)])
                classes.append("flag")
        for key, si in LR_FORCE:
            lv, rv = r.get(f"left_{key}"), r.get(f"right_{key}")
            if lv is None and rv is None:
                continue
            rows.append([esc(view.label), fmt(r.get("rep")), esc(key), fmt(lv), fmt(rv),
                         fmt(None if lv is None or rv is None else lv - rv), fmt(r.get(si)),
                         "no cited range: not flagged"])
            classes.append("")
        for f in flags:
            report.citations_used.add(f.citation)
    return rows, classes


def references_section(report: Report) -> str:
    items = "".join(f"<li>[{esc(k)}] {esc(v)}</li>" for k, v in CITATIONS.items())
    return (f'<h2>Reference ranges and sources</h2><p class="note">Flags compare the per-leg '
            f'peak knee FPPA of jump landings with the drop-jump ranges of Herrington &amp; Munro '
            f'2010 (women 7-13 deg, men 3-8 deg; the upper limit for the athlete\'s sex, the '
            f'higher one when the sex is not recorded), left-right differences with the smallest '
            f'detectable change of Munro 2012 (7.5-8.9 deg; 7.5 used), the knee-to-ankle '
            f'separation ratio with 0.6 (Noyes 2005). Markerless landing angles carry errors of '
            f'the order of 6.6 deg RMSE (Uhlrich 2023): read single flags with care. Force metrics '
            f'are not flagged.</p><ul class="refs">{items}</ul>')


def trial_block(report: Report, view: TrialView, record: dict | None, tid: str) -> str:
    md = view.metadata
    head = (f'<h2 id="trial-{tid}">Trial {esc(view.label)}</h2><p>athlete {esc(md.get("athlete_id"))}, '
            f'step {esc(md.get("step"))}, kind {esc(md.get("trial_kind"))}, started '
            f'{esc(md.get("start_time_utc"))}</p>')
    return "\n".join([head, quality_section(report, view, record, tid),
                      force_section(report, view, tid), kinematics_section(report, view, tid)])


def _page(title: str, body: str) -> str:
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    from station import __version__
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f'<style>{CSS}</style></head><body><h1>{esc(title)}</h1>'
            f'<p class="note">station {esc(__version__)}, written {esc(now)}. Angles in degrees, '
            f'other values in SI units.</p>{body}</body></html>')


def _lr_table(report: Report, views, sex_of) -> str:
    rows, classes = [], []
    for v in views:
        r, c = lr_rows(v, sex_of(v), report)
        rows += r
        classes += c
    if not rows:
        return '<p class="note">no left/right values: no skeleton results and no second plate</p>'
    return report.tab("left-right", ["trial", "rep", "metric", "left", "right", "left - right",
                                     "symmetry index [%]", "flag"], rows, left_cols=3,
                      row_classes=classes)


def render_trial(path) -> tuple[str, Report]:
    report = Report()
    view = load_trial_view(path)
    lr = _lr_table(report, [view], lambda v: athlete_sex(v))
    body = trial_block(report, view, None, "1") + "<h3>Left / right</h3>" + lr + references_section(report)
    return _page(f"Trial report: {view.label}", body), report


def _session_records(folder: Path) -> tuple[dict | None, list[dict]]:
    from station.session import SESSION_FILE, load_session
    if (folder / SESSION_FILE).exists():
        s = load_session(folder)
        return s, list(s.get("trials") or [])
    files = sorted(p.name for p in folder.glob("*.h5"))
    return None, [{"file": f} for f in files]


def render_session(folder) -> tuple[str, Report]:
    from data.trial import TrialError
    folder = Path(folder)
    session, records = _session_records(folder)
    report = Report()
    views, blocks, vrows, vclasses, mrows = [], [], [], [], []
    for i, rec in enumerate(records, start=1):
        path = folder / rec["file"]
        try:
            view = load_trial_view(path)
        except TrialError as exc:
            vrows.append([esc(rec["file"]), esc(rec.get("step")), esc(rec.get("kind")),
                          fmt(rec.get("attempt")), "unreadable", '<span class="redo">redo</span>',
                          esc(str(exc)), "-"])
            vclasses.append("flag")
            continue
        views.append(view)
        v = rec.get("verdict")
        if v is not None:
            ok = bool(v.get("ok"))
            reasons = "; ".join(v.get("reasons") or [])
        else:
            ok = view.status == "complete" and not view.faults
            reasons = "" if ok else f"status {view.status}" + (f", {len(view.faults)} fault(s)" if view.faults else "")
        vrows.append([f'<a href="#trial-{i}">{esc(rec["file"])}</a>',
                      esc(rec.get("step", view.metadata.get("step"))),
                      esc(rec.get("kind", view.metadata.get("trial_kind"))), fmt(rec.get("attempt")),
                      esc(rec.get("status", view.status)),
                      '<span class="ok">ok</span>' if ok else '<span class="redo">redo</span>',
                      esc(reasons) or "-", fmt(len(view.faults) + len(rec.get("faults") or []))])
        vclasses.append("" if ok else "flag")
        for r in (view.force or {}).get("reps") or []:
            mrows.append((view.label, r))
        blocks.append(trial_block(report, view, rec if v is not None else None, str(i)))
    athlete = (session or {}).get("athlete") or {}
    title = f"Session report: {athlete.get('id') or folder.parent.name} {folder.name}"
    parts = []
    if session:
        prot = (session.get("protocol") or {}).get("name", "")
        parts.append(f"<p>athlete {esc(athlete.get('id'))}, protocol {esc(prot)}, started "
                     f"{esc(session.get('started_utc'))}, {len(records)} trial(s)</p>")
    else:
        parts.append(f'<p class="note">{esc(folder)} has no session.json: verdicts from each '
                     f'trial\'s status and faults</p>')
    parts.append("<h2>Trial quality verdicts</h2>")
    parts.append(report.tab("verdicts", ["trial", "step", "kind", "attempt", "status", "verdict",
                                         "reasons", "faults"], vrows, left_cols=3,
                            row_classes=vclasses))
    parts.append("<h2>Metrics</h2>")
    keys = [k for k in KEY_METRICS if any(r.get(k) is not None for _, r in mrows)]
    rows = [[esc(lbl), fmt(r.get("rep")), esc(r.get("kind"))] + [fmt(r.get(k), k) for k in keys]
            for lbl, r in mrows]
    parts.append(report.tab("metrics", ["trial", "rep", "kind"] +
                            [f"{k} [{unit_of(k)}]" if unit_of(k) else k for k in keys], rows, left_cols=3))
    parts.append("<h2>Left / right comparison and flags</h2>")
    parts.append(_lr_table(report, views, lambda v: athlete_sex(v, session)))
    parts.append(references_section(report))
    parts.extend(blocks)
    return _page(title, "\n".join(parts)), report


def build_report(path) -> tuple[str, Report]:
    """HTML of a trial (.h5 file) or a session (folder)."""
    p = Path(path)
    return render_session(p) if p.is_dir() else render_trial(p)


def summary_json(report: Report) -> str:
    return json.dumps({"figures": report.figures, "tables": report.tables,
                       "flags": [f"{t} rep {r}: {f.message}" for t, r, f in report.flags]})

"""Report figures with matplotlib's Agg backend, returned as PNG bytes (html.py embeds them as
base64 data URIs, so the report stays one self-contained file).

- force_time_png: vertical force against time (total, and each plate with two), body weight,
  and the events of each rep (onset, takeoff, landing; squat start/bottom/end).
- angle_curves_png: dorsiflexion and FPPA per leg (degrees at this edge) with the events.
- skeleton_snapshot_png: a color frame with the joints projected through the camera intrinsics.
"""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

EVENT_STYLE = {   # rep key -> (label, color)
    "onset_s": ("onset", "tab:green"),
    "takeoff_s": ("takeoff", "tab:red"),
    "landing_s": ("landing / initial contact", "tab:blue"),
    "start_s": ("rep start", "tab:green"),
    "bottom_s": ("bottom", "tab:purple"),
    "end_s": ("rep end", "tab:gray"),
}
SIDE_COLOR = {"left": "tab:blue", "right": "tab:red"}
BONES = (("head", "neck"), ("neck", "left_shoulder"), ("neck", "right_shoulder"),
         ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
         ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
         ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip"),
         ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("left_ankle", "left_heel"),
         ("left_heel", "left_toe"), ("left_ankle", "left_toe"),
         ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("right_ankle", "right_heel"),
         ("right_heel", "right_toe"), ("right_ankle", "right_toe"))


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def rep_event_times(reps: list) -> list[tuple[str, str, float]]:
    """[(label, color, time_s)] of every event of every rep."""
    out = []
    for r in reps or []:
        for key, (label, color) in EVENT_STYLE.items():
            v = r.get(key)
            if isinstance(v, (int, float)) and np.isfinite(v):
                out.append((label, color, float(v)))
        if r.get("kind") == "drop_jump" and r.get("takeoff_s") and r.get("contact_time_s"):
            out.append(("drop landing", "tab:cyan", float(r["takeoff_s"] - r["contact_time_s"])))
    return out


def _mark_events(ax, events):
    seen = set()
    for label, color, t in events:
        ax.axvline(t, color=color, lw=1.0, ls="--", label=None if label in seen else label)
        seen.add(label)


def force_time_png(time_s: np.ndarray, fz_n: np.ndarray, reps: list, body_weight_n: float | None,
                   title: str = "") -> bytes:
    f = np.asarray(fz_n, float)
    fig, ax = plt.subplots(figsize=(9, 3.4))
    if f.ndim == 2 and f.shape[1] > 1:
        for k in range(f.shape[1]):
            ax.plot(time_s, f[:, k], lw=0.8, alpha=0.7,
                    label=("plate1 (left)", "plate2 (right)")[k] if f.shape[1] == 2 else f"plate{k + 1}")
        total = f.sum(axis=1)
    else:
        total = f.reshape(len(f), -1).sum(axis=1)
    ax.plot(time_s, total, color="k", lw=1.0, label="total Fz")
    if body_weight_n:
        ax.axhline(body_weight_n, color="0.5", lw=0.8, ls=":", label=f"body weight {body_weight_n:.0f} N")
    _mark_events(ax, rep_event_times(reps))
    ax.set_xlabel("time [s] from the first force sample")
    ax.set_ylabel("vertical force [N]")
    ax.set_title(title or "Force - time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    return _png(fig)


def kinematic_events(reps_force: list, reps_kin: list) -> list[tuple[str, str, float]]:
    """Initial contact / peak force / peak knee flexion per rep (skeleton events when present)."""
    out = []
    for kr in reps_kin or []:
        ev = kr.get("events") or {}
        if ev.get("contact_s") is not None:
            out.append(("initial contact" if ev.get("kind") != "squat" else "bottom", "tab:blue",
                        float(ev["contact_s"])))
        if ev.get("peak_force_s") is not None:
            out.append(("peak force", "tab:orange", float(ev["peak_force_s"])))
        for side in ("left", "right"):
            v = ev.get(f"{side}_peak_knee_flexion_s")
            if v is not None:
                out.append((f"{side} peak knee flexion", SIDE_COLOR[side], float(v)))
    if not out:
        out = [e for e in rep_event_times(reps_force) if e[0] in ("landing / initial contact",
                                                                  "takeoff", "bottom")]
    return out


def angle_curves_png(time_s: np.ndarray, curves: dict, events: list, names=("dorsiflexion", "fppa"),
                     title: str = "") -> bytes:
    """curves: {side: {name: (T,) rad}}; one panel per name, both legs, degrees."""
    labels = {"dorsiflexion": "ankle dorsiflexion [deg]", "fppa": "knee FPPA [deg] (+ = medial)",
              "knee_flexion": "knee flexion [deg]", "shank_inclination": "shank inclination [deg]"}
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 2.6 * len(names)), sharex=True)
    axes = np.atleast_1d(axes)
    for ax, name in zip(axes, names):
        for side in ("left", "right"):
            y = (curves.get(side) or {}).get(name)
            if y is not None:
                ax.plot(time_s, np.degrees(y), color=SIDE_COLOR[side], lw=1.2, label=f"{side}")
        _mark_events(ax, events)
        ax.set_ylabel(labels.get(name, name))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right", ncol=3)
    axes[0].set_title(title or "Joint angles per leg")
    axes[-1].set_xlabel("time [s] from the first force sample")
    return _png(fig)


def project_joints(joints_lab_m: np.ndarray, camera) -> np.ndarray:
    """(J, 3) lab-frame joints -> (J, 2) color pixels (NaN behind the camera)."""
    from drivers.camera_model import transform_points
    p = transform_points(camera.T_color_from_lab, np.asarray(joints_lab_m, float))
    uv = camera.color_intrinsics.project(p)
    uv[p[:, 2] <= 0] = np.nan
    return uv


def skeleton_snapshot_png(rgb: np.ndarray, joints_px: np.ndarray | None, joint_names, title: str,
                          note: str = "") -> bytes:
    h, w = rgb.shape[:2]
    fig, ax = plt.subplots(figsize=(4.6, 4.6 * h / w))
    ax.imshow(rgb)
    if joints_px is not None:
        idx = {n: i for i, n in enumerate(joint_names)}
        for a, b in BONES:
            if a in idx and b in idx:
                pa, pb = joints_px[idx[a]], joints_px[idx[b]]
                side = "left" if a.startswith("left") else "right" if a.startswith("right") else None
                ax.plot([pa[0], pb[0]], [pa[1], pb[1]], lw=2.2,
                        color=SIDE_COLOR.get(side, "yellow"))
        ax.scatter(joints_px[:, 0], joints_px[:, 1], s=12, color="yellow", edgecolor="k", zorder=3)
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    if note:
        ax.text(0.01, 0.01, note, transform=ax.transAxes, fontsize=7, color="w",
                bbox=dict(facecolor="k", alpha=0.6, lw=0))
    return _png(fig)

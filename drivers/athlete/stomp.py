"""The stomp: a time-sync event both the plate and the camera see (simulate_motion(...,
sync_event="stomp")). It opens a standing trial, before the movement:

    quiet stance on both feet (STOMP_QUIET_S)
    weight shift: the pelvis moves over the stance foot until the whole-body COM is over that
        foot's support centre (the other foot stays down but carries nothing), the knees bend
        from 7 to KNEE_STOMP (20 deg)                                            SHIFT_S
    the free foot is lifted straight up, flat, by lift_m (8-12 cm)               LIFT_S
    ... held up                                                                   HOLD_UP_S
    ... and driven down: its speed grows to speed_m_s (1.0-1.5 m/s) at contact, where its
        acceleration is zero again (v(s) = -v_c (3 s^2 - 2 s^3), s = 0..1 over 2 lift / v_c)
    impact: the heel pad stops the foot with a sin^2 deceleration pulse of PULSE_S; the foot
        sinks v_c PULSE_S / 2 (~7 mm) into its soft tissue, which then springs back (RECOIL_S)
    bilateral trials: the weight goes back to both feet (SHIFT_S) and the movement follows;
    single-leg trials: the free leg is lifted into the single-leg stance pose (SHIFT_S) instead.

Everything but the free leg keeps still while that leg moves, so the vertical force is the
body weight plus the free leg's momentum change: Fz = m (g + z''_COM) of the posed segments,
whose second derivative is taken numerically from the analytic pose (central differences with
a 0.1 ms step: the pose is a closed-form function of time). The impact shows on the plate as a
sharp rise of Fz on top of body weight at the contact instant, events['stomp_contact'].

Foot loads: both feet down -> the lever rule of drivers/athlete/forces.split_feet; from the end
of the weight shift the free foot carries nothing until it lands, then the part of Fz that
decelerates it (Fz - m g when positive: the rest of the body is still) and the stance foot the
rest; each foot's centre of pressure is on its own heel-toe line (the landed foot's at its
middle, it lands flat). Model choices, all in this file. Lab frame, SI units.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.constants import G
from drivers.athlete.pose import build_joints
from drivers.athlete.stance import C_STAND, StanceFamily

STOMP_QUIET_S = 1.0
SHIFT_S = 0.6
SETTLE_S = 0.25
LIFT_S = 0.35
HOLD_UP_S = 0.15
PULSE_S = 0.012       # impact transients of heel strikes rise in ~10-15 ms (model choice)
RECOIL_S = 0.20
AFTER_S = 0.35        # free foot resting on the plate before the weight goes back
FD_STEP_S = 1e-4      # central-difference step for the COM's velocity and acceleration
KNEE_STOMP = np.radians(20.0)   # knees bend this much while the weight shifts: the free leg then
#                                 has ~13 mm of slack to let its foot sink into the heel pad (<= 9 mm)


C_STOMP = StanceFamily.c_for_knee(KNEE_STOMP)


def _smooth5(x):
    """Quintic smoothstep with zero velocity and acceleration at both ends: (f, f', f'')."""
    x = np.clip(x, 0.0, 1.0)
    return (10 * x ** 3 - 15 * x ** 4 + 6 * x ** 5, 30 * x ** 2 - 60 * x ** 3 + 30 * x ** 4,
            60 * x - 180 * x ** 2 + 120 * x ** 3)


@dataclass
class StompPlan:
    stance: str                  # the foot that carries the body
    free: str                    # the foot that stomps
    lift_m: float
    speed_m_s: float
    t: dict                      # phase boundaries (s from the start of the motion)
    offset_xy_lab: np.ndarray    # pelvis displacement at full weight shift
    fam_both: object             # bilateral StanceFamily (quiet stance, weight shift)
    fam_end: object = None       # single-leg StanceFamily to end in (single-leg trials)
    info: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.t["end"]

    @property
    def contact_s(self) -> float:
        return self.t["contact"]

    @property
    def compression_m(self) -> float:
        return self.speed_m_s * PULSE_S / 2

    def phases(self) -> list:
        t = self.t
        last = "stomp_to_single_leg" if self.fam_end is not None else "stomp_weight_back"
        names = [("quiet", 0.0, t["shift0"]), ("stomp_weight_shift", t["shift0"], t["lift0"]),
                 ("stomp_lift", t["lift0"], t["down0"]), ("stomp_drive", t["down0"], t["contact"]),
                 ("stomp_impact", t["contact"], t["recoil1"]), ("stomp_rest", t["recoil1"], t["back0"]),
                 (last, t["back0"], t["end"])]
        return names

    def describe(self) -> dict:
        return {"stance_foot": self.stance, "stomping_foot": self.free, "lift_m": self.lift_m,
                "speed_at_contact_m_s": self.speed_m_s, "impact_pulse_s": PULSE_S,
                "compression_m": self.compression_m, "contact_s": self.contact_s,
                "duration_s": self.duration_s, "model": "drivers/athlete/stomp.py"}


def plan_stomp(fam_both, body, rng, free: str, fam_end=None) -> StompPlan:
    """Timing and amplitudes of one stomp with the `free` foot (lift 8-12 cm, 1.0-1.5 m/s at
    contact, drawn from rng); fam_end: the single-leg family the trial continues with."""
    lift = float(rng.uniform(0.08, 0.12))
    speed = float(rng.uniform(1.0, 1.5))
    drive = 2 * lift / speed
    t = {"shift0": STOMP_QUIET_S}
    t["shift1"] = t["shift0"] + SHIFT_S
    t["lift0"] = t["shift1"] + SETTLE_S
    t["lift1"] = t["lift0"] + LIFT_S
    t["down0"] = t["lift1"] + HOLD_UP_S
    t["contact"] = t["down0"] + drive
    t["pulse1"] = t["contact"] + PULSE_S
    t["recoil1"] = t["pulse1"] + RECOIL_S
    t["back0"] = t["recoil1"] + AFTER_S
    t["end"] = t["back0"] + SHIFT_S
    stance = "left" if free == "right" else "right"
    plan = StompPlan(stance, free, lift, speed, t, np.zeros(2), fam_both, fam_end)
    plan.offset_xy_lab = _weight_shift_offset(plan, body)
    return plan


def _support_centres(joints):
    from analysis.joints import JOINT_INDEX as JI
    out = {}
    for side in ("left", "right"):
        out[side] = 0.5 * (joints[:, JI[f"{side}_heel"], :2] + joints[:, JI[f"{side}_toe"], :2])
    return out


def _weight_shift_offset(plan, body) -> np.ndarray:
    """Pelvis displacement (lab xy) along the stance's right axis that puts the whole-body COM
    on the stance foot's support centre, as split_feet's lever rule sees it (share 0 or 1)."""
    fam = plan.fam_both
    right = np.asarray(fam.right[:2], float)

    def share(d):
        j = fam.pose(np.array([C_STOMP]), offset_xy=(d * right)[None, :])
        com = body.com_lab(j)[:, :2]
        c = _support_centres(j)
        v = c["right"] - c["left"]
        return float(np.sum((com - c["left"]) * v) / np.sum(v * v))

    target = 0.0 if plan.stance == "left" else 1.0
    d0, d1 = 0.0, (-0.05 if plan.stance == "left" else 0.05)
    f0, f1 = share(d0) - target, share(d1) - target
    for _ in range(30):
        if abs(f1 - f0) < 1e-15:
            break
        d0, d1, f0 = d1, d1 - f1 * (d1 - d0) / (f1 - f0), f1
        f1 = share(d1) - target
        if abs(f1) < 1e-12:
            break
    return d1 * right


def free_foot_height(plan: StompPlan, t) -> np.ndarray:
    """Height (m) of the free foot above its flat stance position (negative: the heel pad
    compressed at impact), a C2 function of time."""
    t = np.asarray(t, float)
    T = plan.t
    h = np.zeros_like(t)
    H, v = plan.lift_m, plan.speed_m_s
    m = (t >= T["lift0"]) & (t < T["down0"])
    h[m] = H * _smooth5((t[m] - T["lift0"]) / LIFT_S)[0]
    m = (t >= T["down0"]) & (t < T["contact"])
    Td = T["contact"] - T["down0"]
    s = (t[m] - T["down0"]) / Td
    h[m] = H - v * Td * (s ** 3 - s ** 4 / 2)
    m = (t >= T["contact"]) & (t < T["pulse1"])
    tau = t[m] - T["contact"]
    w = PULSE_S
    A = 2 * v / w                                  # sin^2 pulse that takes the speed v to zero
    h[m] = -v * tau + A * (tau ** 2 / 4 + w ** 2 / (8 * np.pi ** 2) * (np.cos(2 * np.pi * tau / w) - 1))
    m = (t >= T["pulse1"]) & (t < T["recoil1"])
    h[m] = -plan.compression_m * (1 - _smooth5((t[m] - T["pulse1"]) / RECOIL_S)[0])
    return h


def _shift_fraction(plan, t):
    T = plan.t
    up = _smooth5((t - T["shift0"]) / SHIFT_S)[0]
    if plan.fam_end is not None:
        return up
    return up * (1 - _smooth5((t - T["back0"]) / SHIFT_S)[0])


def stomp_joints(plan: StompPlan, t) -> np.ndarray:
    """Joint centres (T, J, 3), lab frame, at times t inside the stomp block."""
    t = np.atleast_1d(np.asarray(t, float))
    fam = plan.fam_both
    frac = _shift_fraction(plan, t)
    c = C_STAND + (C_STOMP - C_STAND) * frac
    off = frac[:, None] * plan.offset_xy_lab[None, :]
    p = fam.pose_params(c, offset_xy=off)
    k = 0 if plan.free == "left" else 1
    ankles = p["ankles"].copy()
    ankles[:, k, 2] += free_foot_height(plan, t)
    p["ankles"] = ankles
    if plan.fam_end is not None:
        q = plan.fam_end.pose_params(np.array([C_STAND]))
        s = _smooth5((t - plan.t["back0"]) / SHIFT_S)[0]
        for key in ("mid_hip", "trunk_lean", "ankles", "foot_pitch", "knee_medial"):
            a = np.asarray(p[key], float)
            b = np.broadcast_to(np.asarray(q[key], float)[0], a.shape[1:])
            sh = (-1,) + (1,) * (a.ndim - 1)
            p[key] = a + s.reshape(sh) * (b[None] - a)
    return build_joints(fam.body, **p)


def stomp_block(plan: StompPlan, t) -> dict:
    """Joints, COM and its vertical velocity and acceleration (central differences of the
    analytic pose, step FD_STEP_S) at times t of the stomp block."""
    t = np.asarray(t, float)
    body = plan.fam_both.body
    joints = stomp_joints(plan, t)
    com = body.com_lab(joints)
    zp = body.com_lab(stomp_joints(plan, t + FD_STEP_S))[:, 2]
    zm = body.com_lab(stomp_joints(plan, t - FD_STEP_S))[:, 2]
    vz = (zp - zm) / (2 * FD_STEP_S)
    az = (zp - 2 * com[:, 2] + zm) / FD_STEP_S ** 2
    return {"joints": joints, "com": com, "vz": vz, "az": az}


def stomp_feet(plan: StompPlan, t, joints, com, fz, mass_kg, fs_hz):
    """Per-foot vertical force (T,2) and COP (T,2,2) in the stomp block (see the module doc)."""
    from drivers.athlete.forces import _project_on_segment, _support_segment, split_feet, whole_body_cop
    t = np.asarray(t, float)
    on = np.ones(t.shape, bool)
    foot_fz, foot_cop = split_feet(joints, com, fz, on, fs_hz, mass_kg, "both")
    T = plan.t
    release = T["end"] if plan.fam_end is not None else T["back0"]
    m = (t >= T["shift1"]) & (t < release)
    if not np.any(m):
        return foot_fz, foot_cop
    ks, kf = (0, 1) if plan.stance == "left" else (1, 0)
    f_free = np.where(t[m] >= T["contact"], np.clip(fz[m] - mass_kg * G, 0.0, None), 0.0)
    if plan.fam_end is not None:
        f_free = np.where(t[m] < T["back0"], f_free, 0.0)
    f_stance = fz[m] - f_free
    seg_s = _support_segment(joints[m], plan.stance)
    seg_f = _support_segment(joints[m], plan.free)
    cop_free = 0.5 * (seg_f[0] + seg_f[1])
    cop_all = whole_body_cop(com, fz, mass_kg, fs_hz)[m]
    want = (cop_all * fz[m, None] - cop_free * f_free[:, None]) / np.maximum(f_stance, 1e-9)[:, None]
    fzs = np.zeros((m.sum(), 2))
    cops = np.full((m.sum(), 2, 2), np.nan)
    fzs[:, ks], fzs[:, kf] = f_stance, f_free
    cops[:, ks] = _project_on_segment(want, *seg_s)
    cops[:, kf] = np.where((f_free > 0)[:, None], cop_free, np.nan)
    foot_fz[m], foot_cop[m] = fzs, cops
    return foot_fz, foot_cop

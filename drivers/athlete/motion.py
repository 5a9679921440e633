"""Movements of the virtual athlete: joint centres, centre of mass and ground reaction force,
generated at a high internal rate (FS_HZ) and sampled at any time afterwards.

    from drivers.athlete.motion import simulate_motion
    m = simulate_motion("cmj", traits, seed=1, reps=1)        # a Motion
    m.joints_at(frame_times_s)        -> (T, J, 3) lab frame, linear interpolation at 2 kHz
    m.fz_at(times_s)                  -> (T,) total vertical force on the plate(s), N
    m.cell_loads_at(times_s)          -> [(T, 4) N per PlateGeometry in m.plates]

How the physics agrees with itself: the COM height z(t) is a chain of analytic pieces (quintics
with an optional smooth impact pulse while on the plate, exact ballistic parabolas in flight).
The vertical force is m (g + z'') while on the plate and exactly 0 otherwise; the body is posed by
solving the crouch parameter of the stance family (drivers/athlete/stance.py) so that the COM of
the posed segments equals z(t) (Newton, to ~1e-9 m); in flight the posed body is translated so
its segment COM is on the parabola. Hence impulse-momentum and the ballistic law hold exactly.

Time zero is the start of the motion; kinds: stand, static, squat, single-leg-squat, cmj, sj, dj.

Time-sync events (`sync_event`): "stomp" opens a standing trial (not a drop jump) with a stomp of
the free foot (drivers/athlete/stomp.py; its contact time is events['stomp_contact']); "landing"
is a jump's own landing (cmj, sj, dj: nothing is added). None (the default) leaves every motion
exactly as it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.constants import G
from drivers.athlete.body import Body
from drivers.athlete.stance import C_HEEL, C_STAND, StanceFamily
from drivers.athlete.traits import Traits
from drivers.athlete.trajectory import (Piece, Wiggle, evaluate_pieces, flight_piece, hold_piece,
                                        quintic_piece)
from drivers.plate_geometry import PlateGeometry

FS_HZ = 2000.0
KINDS = ("stand", "static", "squat", "single-leg-squat", "cmj", "sj", "dj")
SYNC_EVENTS = ("stomp", "landing")
C_TAKEOFF = StanceFamily.c_for_knee(np.radians(8.0))   # takeoff: knees 8 deg, heels fully up
C_LAND = StanceFamily.c_for_knee(np.radians(20.0))     # initial contact: toes first
DYNAMIC_PHASES = ("propulsion", "landing", "braking")   # heels free to rise (stance w = 1)
BOX_GAP_M = 0.10         # box front edge to the plate's rear edge (as drivers/athlete/scene.py)
FLOOR_Z_M = -0.05        # the floor is one plate thickness below the plate top (scene.py)


@dataclass
class Motion:
    kind: str
    traits: Traits
    body: Body
    plates: list
    fs_hz: float
    t_s: np.ndarray              # (N,) s from the start of the motion
    joints_lab: np.ndarray       # (N, J, 3)
    com_lab: np.ndarray          # (N, 3) COM of the posed segments
    com_design_lab: np.ndarray   # (N, 3) designed COM (z exact analytic on the plate and in
    #                              flight; x/y, and z on the box, are those of the segments)
    com_velocity_z: np.ndarray   # (N,) analytic dz/dt of the design
    com_accel_z: np.ndarray      # (N,) analytic d2z/dt2 of the design
    on_plate: np.ndarray         # (N,) bool: the athlete touches the plate(s)
    fz_n: np.ndarray             # (N,) total vertical force on the plate(s)
    foot_fz_n: np.ndarray        # (N, 2) left, right foot vertical force
    foot_cop_lab: np.ndarray     # (N, 2, 2) left, right foot centre of pressure (x, y), NaN unloaded
    events: dict                 # name -> list of times (s): contact, takeoff, landing, peak_landing...
    phases: list                 # [(name, t0, t1)]
    box: dict | None = None      # {"centre_lab_m": [x,y,z], "size_m": [sx,sy,sz]} (top at z = sz)
    support: str = "both"
    info: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1])

    def _interp(self, values, times_s):
        times = np.asarray(times_s, dtype=float)
        flat = values.reshape(values.shape[0], -1)
        out = np.empty((times.size, flat.shape[1]))
        for k in range(flat.shape[1]):
            out[:, k] = np.interp(times.ravel(), self.t_s, flat[:, k])
        return out.reshape(times.shape + values.shape[1:])

    def joints_at(self, times_s) -> np.ndarray:
        """Joint centres (T, J, 3), lab frame, at any times (e.g. camera frame times)."""
        return self._interp(self.joints_lab, times_s)

    def com_at(self, times_s) -> np.ndarray:
        return self._interp(self.com_lab, times_s)

    def fz_at(self, times_s) -> np.ndarray:
        return self._interp(self.fz_n, times_s)

    def foot_loads_at(self, times_s):
        """(fz (T,2), cop (T,2,2)) per foot at any times; cop NaN where the foot is unloaded."""
        fz = self._interp(self.foot_fz_n, times_s)
        cop = self._interp(np.nan_to_num(self.foot_cop_lab), times_s)
        cop[fz < 1e-9] = np.nan
        return fz, cop

    def cell_loads_at(self, times_s) -> list:
        """Per-load-cell vertical loads, N, one (T, 4) array per plate in self.plates. One plate
        carries both feet; with two plates plate1 carries the left foot and plate2 the right."""
        from drivers.athlete.forces import cell_loads
        fz, cop = self.foot_loads_at(times_s)
        return cell_loads(fz, cop, self.plates)


# ---- helpers --------------------------------------------------------------------------------
def default_plates(n: int = 1) -> list:
    if n == 1:
        return [PlateGeometry()]
    if n == 2:
        # plate1 at the lab origin, plate2 to its right; the athlete straddles the seam
        a = PlateGeometry(length_x_m=0.40, width_y_m=0.60, cell_half_x_m=0.16, cell_half_y_m=0.26,
                          centre_lab_m=(0.0, 0.0, 0.0), name="plate1")
        b = PlateGeometry(length_x_m=0.40, width_y_m=0.60, cell_half_x_m=0.16, cell_half_y_m=0.26,
                          centre_lab_m=(0.42, 0.0, 0.0), name="plate2")
        return [a, b]
    raise ValueError("one or two plates")


def _feet_mid(plates) -> np.ndarray:
    c = np.mean([np.asarray(p.centre_lab_m, float) for p in plates], axis=0)
    return np.array([c[0], c[1], c[2]])


def _wiggle(rng, scale=1.0) -> Wiggle:
    """Vertical COM micro-motion of quiet standing: breathing (~0.25 Hz) and the heartbeat's
    ballistic recoil (~1.1 Hz) plus slow drift; amplitudes of fractions of a millimetre (model
    choice giving a force SD of a few newtons, which is what quiet-standing plates show)."""
    f = np.array([0.07, 0.25, 1.1, 2.3]) * rng.uniform(0.9, 1.1, 4)
    amp = np.array([0.3e-3, 0.5e-3, 0.25e-3, 0.05e-3]) * scale
    return Wiggle(amp, f, rng.uniform(0, 2 * np.pi, 4))


def _sway(rng, t, holds):
    """Horizontal pelvis sway (T,2), lab frame, during quiet holds only (tapered to zero at the
    ends of each hold): sum of sinusoids 0.05-0.8 Hz, at most 12 mm AP and 6 mm ML (model choice:
    COP standard deviations of a few millimetres, as quiet-standing plates show)."""
    out = np.zeros((t.size, 2))
    freqs = np.array([0.05, 0.11, 0.23, 0.41, 0.77])
    amps = 1.0 / np.sqrt(freqs / freqs[0])
    amps = amps / amps.sum()
    for axis, total in ((0, 6e-3), (1, 12e-3)):
        ph = rng.uniform(0, 2 * np.pi, freqs.size)
        w = Wiggle(total * amps, freqs * rng.uniform(0.9, 1.1, freqs.size), ph, taper_s=0.4)
        for (t0, t1) in holds:
            m = (t >= t0) & (t <= t1)
            out[m, axis] += w.evaluate(t[m] - t0, t1 - t0)[0]
    return out


class _Builder:
    """Appends COM pieces one after the other, tracking the end state."""

    def __init__(self):
        self.pieces: list[Piece] = []
        self.phases: list = []
        self.t = 0.0
        self.holds: list = []

    def add(self, piece: Piece, phase: str):
        self.pieces.append(piece)
        self.phases.append((phase, piece.t0, piece.t1))
        self.t = piece.t1
        if phase in ("quiet", "rest", "hold", "static", "box"):
            self.holds.append((piece.t0, piece.t1))
        return piece

    def state(self):
        return self.pieces[-1].end_state()


def _best_quintic(t0, start, end, durations, min_accel=-G, **kw):
    """The quintic piece over one of `durations` with the smallest peak |a| that never pulls on
    the plate (a >= min_accel)."""
    best = None
    for T in durations:
        p = quintic_piece(t0, T, start, end, **kw)
        s = np.linspace(p.t0, p.t1, 400)
        a = p.evaluate(s)[2]
        if a.min() < min_accel - 1e-9:
            continue
        score = np.abs(a).max()
        if best is None or score < best[0]:
            best = (score, p)
    if best is None:
        raise RuntimeError("no feasible phase duration")
    return best[1]


def _landing_piece(t0, start, end, traits, durations, target_peak_bw):
    """Landing from contact: a sin^2 impact pulse (width set by landing stiffness) on top of a
    quintic. For each braking duration the pulse amplitude is found (bisection) that brings the
    peak force to target_peak_bw x BW; the piece whose peak comes closest to the target (early in
    the phase, never pulling on the plate) is kept. The smooth part alone may already exceed a
    soft target when the landing is shallow: then the closest feasible peak is used."""
    width = 0.10 - 0.05 * traits.landing_stiffness
    best = None
    for T in durations:
        lo, hi = 0.0, 200.0
        p = None
        for _ in range(28):
            A = 0.5 * (lo + hi)
            p = quintic_piece(t0, T, start, end, pulse_amplitude=A, pulse_width=width)
            a = p.evaluate(np.linspace(p.t0, p.t1, 400))[2]
            if (a.max() + G) / G < target_peak_bw:
                lo = A
            else:
                hi = A
        a = p.evaluate(np.linspace(p.t0, p.t1, 400))[2]
        if a.min() < -G - 1e-9 or int(np.argmax(a)) >= 0.5 * a.size:
            continue
        miss = abs((a.max() + G) / G - target_peak_bw)
        if best is None or miss < best[0] - 1e-3:
            best = (miss, p)
    if best is None:
        raise RuntimeError("no feasible landing")
    return best[1]


def landing_peak_bw(traits: Traits, v_land: float) -> float:
    """Wanted landing impact peak (x BW): 2.0 (soft) to 4.5 (stiff) BW for a landing at 2.2 m/s
    (a drop from ~25 cm), scaled by the landing speed. Model choice inside the 2-5 BW range of
    STATION.md for drop landings."""
    return float(np.clip((2.0 + 2.5 * traits.landing_stiffness) * abs(v_land) / 2.2, 1.5, 6.5))


# ---- movements ---------------------------------------------------------------------------------
def simulate_motion(kind: str, traits: Traits | None = None, *, seed: int = 0, reps: int | None = None,
                    duration_s: float | None = None, plates: list | None = None,
                    box_height_m: float = 0.30, side: str = "left", yaw_rad: float = 0.0,
                    fs_hz: float = FS_HZ, sync_event: str | None = None) -> Motion:
    """Simulate one trial's movement. `side` selects the stance leg of a single-leg squat;
    `duration_s` applies to stand/static (default 5 s / 3 s); `reps` to squats and jumps (drop
    jump: 1 per trial). `sync_event`: None, "stomp" (a stomp before the movement, any kind but
    dj) or "landing" (cmj, sj, dj: the jump's landing is the event; the motion is unchanged)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if sync_event is not None and sync_event not in SYNC_EVENTS:
        raise ValueError(f"sync_event must be None or one of {', '.join(SYNC_EVENTS)}")
    if sync_event == "stomp" and kind == "dj":
        raise ValueError("a drop jump starts on the box, off the plate: use its landing "
                         "(sync_event='landing') instead of a stomp")
    if sync_event == "landing" and kind not in ("cmj", "sj", "dj"):
        raise ValueError(f"a {kind} trial has no landing: use sync_event='stomp'")
    traits = traits or Traits()
    plates = plates or default_plates(1)
    rng = np.random.default_rng(seed)
    body = Body.from_traits(traits)
    mid = _feet_mid(plates)
    b = _Builder()
    support = "both"
    arms = "sides"
    if kind == "single-leg-squat":
        if side not in ("left", "right"):
            raise ValueError("side must be left or right")
        support = side
        arms = "hips"
    elif kind == "squat":
        arms = "forward"
    elif kind in ("cmj", "sj", "dj"):
        arms = "hips"
    elif kind == "static":
        arms = "apose"

    knee_peak = {"stand": 0.0, "static": 0.0,
                 "squat": np.radians(traits.squat_depth_knee_deg),
                 "single-leg-squat": np.radians(traits.single_leg_depth_knee_deg),
                 "cmj": np.radians(max(traits.cmj_depth_knee_deg, traits.landing_depth_knee_deg)),
                 "sj": np.radians(max(traits.cmj_depth_knee_deg, traits.landing_depth_knee_deg)),
                 "dj": np.radians(traits.landing_depth_knee_deg)}[kind]
    c_peak = StanceFamily.c_for_knee(knee_peak)
    if kind in ("cmj", "sj", "dj"):
        shallow = min(traits.cmj_depth_knee_deg, traits.landing_depth_knee_deg,
                      0.8 * traits.landing_depth_knee_deg if kind == "dj" else 90.0)
        if StanceFamily.c_for_knee(np.radians(shallow)) < C_HEEL:
            raise ValueError("jump and landing depths must reach 60 deg of knee flexion (the heels "
                             "are down from 45 deg on)")
    fam = StanceFamily(body, traits, mid, yaw=yaw_rad, support=support, arms=arms,
                       c_peak=c_peak if c_peak > 0.05 else None)
    z_stand = float(fam.com_z(np.array([C_STAND]))[0])
    quiet = _wiggle(rng)
    events: dict = {"contact": [], "takeoff": [], "landing": [], "peak_landing_force": [],
                    "bottom": [], "movement_onset": []}
    flights = []            # (piece, c_start, c_end, posture schedule)
    box = None
    m = body.mass_kg

    def hold(T, z, phase, wig=True):
        b.add(hold_piece(b.t, T, z, wiggle=_wiggle(rng) if wig else None), phase)

    stomp = None
    if sync_event == "stomp":
        from drivers.athlete.stomp import plan_stomp
        # bilateral trials stomp with the right foot; single-leg ones with the free foot
        fam_both = fam if support == "both" else StanceFamily(body, traits, mid, yaw=yaw_rad,
                                                              support="both", arms=arms)
        free = "right" if support in ("both", "left") else "left"
        stomp = plan_stomp(fam_both, body, rng, free, fam_end=None if support == "both" else fam)
        # placeholder for the pieces' chain: the stomp block is posed, not designed (stomp.py)
        b.add(hold_piece(0.0, stomp.duration_s, z_stand), "stomp")
        events["stomp_contact"] = [stomp.contact_s]

    if kind in ("stand", "static"):
        T = duration_s or (5.0 if kind == "stand" else 3.0)
        hold(T, z_stand, "quiet" if kind == "stand" else "static")
    elif kind in ("squat", "single-leg-squat"):
        n = reps or 5
        z_bottom = float(fam.com_z(np.array([c_peak]))[0])
        hold(1.5, z_stand, "quiet")
        for i in range(n):
            half = traits.tempo_s / 2
            events["movement_onset"].append(b.t)
            b.add(quintic_piece(b.t, half, (z_stand, 0, 0), (z_bottom, 0, 0)), f"rep{i + 1}_down")
            events["bottom"].append(b.t)
            b.add(quintic_piece(b.t, half, (z_bottom, 0, 0), (z_stand, 0, 0)), f"rep{i + 1}_up")
            hold(traits.rest_s if i < n - 1 else 1.5, z_stand, "rest")
    elif kind in ("cmj", "sj"):
        n = reps or 1
        h = traits.jump_height_m * (1.0 if kind == "cmj" else traits.sj_height_ratio)
        v0 = np.sqrt(2 * G * h)
        z_to = float(fam.com_z(np.array([C_TAKEOFF]), w=1.0)[0])
        z_land = float(fam.com_z(np.array([C_LAND]), w=1.0)[0])
        c_bottom = fam.c_for_knee(np.radians(traits.cmj_depth_knee_deg))
        z_bottom = float(fam.com_z(np.array([c_bottom]))[0])
        c_lb = fam.c_for_knee(np.radians(traits.landing_depth_knee_deg))
        z_lb = float(fam.com_z(np.array([c_lb]))[0])
        hold(2.0, z_stand, "quiet")
        for i in range(n):
            if kind == "cmj":
                events["movement_onset"].append(b.t)
                b.add(_best_quintic(b.t, (z_stand, 0, 0), (z_bottom, 0, 0.9 * G),
                                    np.linspace(0.45, 0.8, 15), min_accel=-0.85 * G), "countermovement")
                events["bottom"].append(b.t)
                prop_start = (z_bottom, 0.0, 0.9 * G)
            else:
                b.add(quintic_piece(b.t, 1.2, (z_stand, 0, 0), (z_bottom, 0, 0)), "descent")
                hold(2.0, z_bottom, "hold")
                events["movement_onset"].append(b.t)
                prop_start = (z_bottom, 0.0, 0.0)
            prop_T = np.linspace(0.22, 0.36, 15) if kind == "cmj" else np.linspace(0.26, 0.42, 17)
            b.add(_best_quintic(b.t, prop_start, (z_to, v0, -G), prop_T),
                  "propulsion")
            _jump_and_land(b, events, flights, z_to, v0, z_land, z_lb, z_stand, traits, m)
            hold(2.5 if i < n - 1 else 2.0, z_stand, "rest")
    elif kind == "dj":
        if reps not in (None, 1):
            raise ValueError("a drop-jump trial holds one jump; record one trial per jump")
        box = _box_geometry(plates, box_height_m, body, fam)
        h = traits.jump_height_m * traits.dj_height_ratio
        v0 = np.sqrt(2 * G * h)
        z_to = float(fam.com_z(np.array([C_TAKEOFF]), w=1.0)[0])
        z_land = float(fam.com_z(np.array([C_LAND]), w=1.0)[0])
        c_lb = fam.c_for_knee(np.radians(traits.landing_depth_knee_deg))
        z_lb = float(fam.com_z(np.array([c_lb]))[0])
        # bottom of the drop landing: deeper when the landing is soft (model choice)
        c_db = fam.c_for_knee(np.radians(traits.landing_depth_knee_deg
                                         * (1.0 - 0.2 * traits.landing_stiffness)))
        z_db = float(fam.com_z(np.array([c_db]))[0])
        # standing on the box, not on the plate
        b.add(hold_piece(0.0, 2.0, z_stand + box["top_z_lab_m"], kind="box", wiggle=_wiggle(rng)),
              "box")
        lean = _step_off_lean(fam, body, box, z_land)
        box["step_off"] = lean
        events["movement_onset"].append(b.t - lean["duration_s"])
        drop = flight_piece(b.t, lean["com_lab"][2], lean["com_velocity_z"], z_land)
        b.add(drop, "drop")
        flights.append(dict(piece=drop, c0=C_STAND, c1=C_LAND, w0=0.0, com_start=np.asarray(lean["com_lab"]),
                            theta0=lean["theta_rad"]))
        events["contact"].append(drop.t1)
        v_land = drop.end_state()[1]
        peak = landing_peak_bw(traits, v_land)
        p = _landing_piece(b.t, (z_land, v_land, -G), (z_db, 0.0, 1.2 * G), traits,
                           np.linspace(0.10, 0.40, 16), peak)
        b.add(p, "braking")
        events["peak_landing_force"].append(_peak_time(p))
        events["bottom"].append(b.t)
        b.add(_best_quintic(b.t, (z_db, 0.0, 1.2 * G), (z_to, v0, -G), np.linspace(0.14, 0.24, 11)),
              "propulsion")
        _jump_and_land(b, events, flights, z_to, v0, z_land, z_lb, z_stand, traits, m)
        hold(2.5, z_stand, "rest")
    if stomp is not None:
        b.phases[0:1] = stomp.phases()
    return _assemble(kind, traits, body, plates, fam, b, events, flights, box, rng, fs_hz, support,
                     stomp)


def _peak_time(piece: Piece) -> float:
    s = np.linspace(piece.t0, piece.t1, 4001)
    return float(s[np.argmax(piece.evaluate(s)[2])])


def _jump_and_land(b, events, flights, z_to, v0, z_land, z_lb, z_stand, traits, m):
    events["takeoff"].append(b.t)
    fl = flight_piece(b.t, z_to, v0, z_land)
    b.add(fl, "flight")
    flights.append(dict(piece=fl, c0=C_TAKEOFF, c1=C_LAND, w0=1.0, com_start=None, theta0=0.0))
    events["landing"].append(fl.t1)
    v_land = fl.end_state()[1]
    peak = landing_peak_bw(traits, v_land)
    p = _landing_piece(b.t, (z_land, v_land, -G), (z_lb, 0.0, 0.3 * G), traits,
                       np.linspace(0.15, 0.45, 16), peak)
    b.add(p, "landing")
    events["peak_landing_force"].append(_peak_time(p))
    b.add(_best_quintic(b.t, (z_lb, 0.0, 0.3 * G), (z_stand, 0.0, 0.0), np.linspace(0.5, 1.5, 21)),
          "recovery")


STEP_OFF_S = 0.35        # the athlete tips forward over the box edge for this long before leaving
LANDING_DRIFT_TAU_S = 0.05   # horizontal momentum at landing dies out with this time constant


def _rotate_forward(joints, pivot, right, theta):
    """Tip joints (T, J, 3) or (J, 3) forward by theta (T,) rad about the horizontal axis
    `right` through `pivot` ((3,) or (T, 1, 3)); returns (T, J, 3)."""
    from drivers.athlete.pose import rotate_about
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    j = np.asarray(joints, dtype=float)
    if j.ndim == 2:
        j = np.broadcast_to(j, (theta.size,) + j.shape)
    rel = j - pivot
    T, J, _ = rel.shape
    flat = rel.reshape(-1, 3)
    axis = np.broadcast_to(np.asarray(right, float), flat.shape)
    return rotate_about(flat, axis, np.repeat(-theta, J)).reshape(T, J, 3) + pivot


def _step_off_lean(fam, body, box, z_land):
    """Stepping off the box: the upright athlete tips forward about the toes with
    theta(t) = theta_max (t/T)^2 over T = STEP_OFF_S, then leaves the box with the COM velocity
    of that tipping. theta_max is chosen so that this forward speed carries the COM, in the
    ballistic drop, exactly to where the landing posture on the plate puts it."""
    from analysis.joints import JOINT_INDEX as JI
    off = np.asarray(box["offset_lab_m"], float)
    upright = fam.pose(np.array([C_STAND]))[0] + off
    pivot = 0.5 * (upright[JI["left_toe"]] + upright[JI["right_toe"]])
    com_box = body.com_lab(upright)
    com_land = body.com_lab(fam.pose(np.array([C_LAND]), w=1.0)[0])
    fwd = fam.forward
    best = None
    for theta in np.linspace(0.0, 0.4, 161):
        j = _rotate_forward(upright, pivot, fam.right, np.array([theta, theta + 1e-6]))
        com = body.com_lab(j)
        dcom = (com[1] - com[0]) / 1e-6 * (2 * theta / STEP_OFF_S)      # d/dt at t = T
        fl = flight_piece(0.0, com[0, 2], dcom[2], z_land)
        need = (com_land - com[0]) @ fwd / fl.duration
        err = abs(dcom @ fwd - need)
        if best is None or err < best[0]:
            best = (err, theta, com[0], dcom)
    _, theta, com, dcom = best
    return {"theta_rad": float(theta), "duration_s": STEP_OFF_S, "pivot_lab_m": pivot.tolist(),
            "com_lab": com.tolist(), "com_velocity_z": float(dcom[2]),
            "com_velocity_forward": float(dcom @ fwd)}


def _box_geometry(plates, h, body, fam):
    """The drop-jump box (height h above the floor, placed like drivers/athlete/scene.py places
    it: behind plate1, BOX_GAP_M from its rear edge) and the translation from standing on the
    plate to standing on the box (toes 3 cm behind the box's front edge)."""
    p = plates[0]
    ymin = p.centre_lab_m[1] - p.width_y_m / 2
    size = (0.50, 0.40, h)
    cx = float(p.centre_lab_m[0])
    cy = ymin - BOX_GAP_M - size[1] / 2
    top = FLOOR_Z_M + h
    toe_y = max(fam.toe_flat["left"][1], fam.toe_flat["right"][1])
    dy = (ymin - BOX_GAP_M - 0.03) - toe_y
    return {"centre_lab_m": [cx, cy, FLOOR_Z_M + h / 2], "size_m": list(size), "top_z_lab_m": top,
            "gap_m": BOX_GAP_M, "offset_lab_m": [0.0, dy, top]}


def _assemble(kind, traits, body, plates, fam, b, events, flights, box, rng, fs_hz, support,
              stomp=None):
    pieces = b.pieces
    t_end = pieces[-1].t1
    n = int(np.floor(t_end * fs_hz)) + 1
    t = np.arange(n) / fs_hz
    z, vz, az, kind_idx = evaluate_pieces(pieces, t)
    sway = _sway(rng, t, b.holds)
    drifts = []
    for fl in flights:   # horizontal momentum left at landing, absorbed by the stance leg(s)
        fl["com_end"] = body.com_lab(fam.pose(np.array([fl["c1"]]), w=1.0))[0]
        if fl["com_start"] is None:
            fl["com_start"] = body.com_lab(fam.pose(np.array([fl["c0"]]), w=fl["w0"]))[0]
        v_h = (fl["com_end"][:2] - fl["com_start"][:2]) / fl["piece"].duration
        after = (t >= fl["piece"].t1) & (kind_idx == 0)
        sl = t[after] - fl["piece"].t1
        sway[after] += v_h[None, :] * (sl * np.exp(-sl / LANDING_DRIFT_TAU_S))[:, None]
        drifts.append(v_h.tolist())
    on_plate = kind_idx == 0
    joints = np.zeros((n, 18, 3))
    # stance (plate) and box samples: solve the crouch so the posed COM is exactly z
    stand_mask = kind_idx != 1
    box_offset = np.asarray(box["offset_lab_m"], float) if box else np.zeros(3)
    z_stance = z - np.where(kind_idx == 2, box_offset[2], 0.0)
    idx = np.flatnonzero(stand_mask)
    heel_w = np.zeros(n)
    for name, t0, t1 in b.phases:
        if name in DYNAMIC_PHASES:
            heel_w[(t >= t0) & (t < t1)] = 1.0
    if idx.size:
        c = fam.solve_c(z_stance[idx], sway[idx], heel_w[idx])
        joints[idx] = fam.pose(c, sway[idx], heel_w[idx])
        boxed = kind_idx[idx] == 2
        joints[idx[boxed]] += box_offset
    if box and "step_off" in box:       # tipping forward over the box edge
        lean = box["step_off"]
        t_off = flights[0]["piece"].t0
        m = (t >= t_off - lean["duration_s"]) & (kind_idx == 2)
        th = lean["theta_rad"] * ((t[m] - (t_off - lean["duration_s"])) / lean["duration_s"]) ** 2
        joints[m] = _rotate_forward(joints[m], np.asarray(lean["pivot_lab_m"]), fam.right, th)
    # flight: posture schedule, tipped back upright about the COM, translated onto the parabola
    for fl in flights:
        piece = fl["piece"]
        m = (t >= piece.t0) & (t < piece.t1) & (kind_idx == 1)
        if not np.any(m):
            continue
        s = (t[m] - piece.t0) / piece.duration
        tuck = 0.35 * np.sin(np.pi * s) ** 2
        ramp = 3 * s ** 2 - 2 * s ** 3
        c = fl["c0"] + (fl["c1"] - fl["c0"]) * ramp + tuck
        pose = fam.pose(c, w=fl["w0"] + (1.0 - fl["w0"]) * ramp)
        if fl["theta0"]:
            theta = fl["theta0"] * (1 - ramp)
            pose = _rotate_forward(pose, body.com_lab(pose)[:, None, :], fam.right, theta)
        com_pose = body.com_lab(pose)
        target_xy = fl["com_start"][:2] + (fl["com_end"][:2] - fl["com_start"][:2]) * s[:, None]
        shift = np.zeros((s.size, 3))
        shift[:, :2] = target_xy - com_pose[:, :2]
        shift[:, 2] = z[m] - com_pose[:, 2]
        joints[m] = pose + shift[:, None, :]
    in_stomp = None
    if stomp is not None:       # posed block: the COM follows the pose, not a designed z(t)
        from drivers.athlete.stomp import stomp_block
        in_stomp = t < stomp.duration_s
        blk = stomp_block(stomp, t[in_stomp])
        joints[in_stomp] = blk["joints"]
        z, vz, az = z.copy(), vz.copy(), az.copy()
        z[in_stomp], vz[in_stomp], az[in_stomp] = blk["com"][:, 2], blk["vz"], blk["az"]
    com = body.com_lab(joints)
    fz = np.where(on_plate, body.mass_kg * (G + az), 0.0)
    from drivers.athlete.forces import split_feet
    foot_fz, foot_cop = split_feet(joints, com, fz, on_plate, fs_hz, body.mass_kg, support)
    if in_stomp is not None:
        from drivers.athlete.stomp import stomp_feet
        foot_fz[in_stomp], foot_cop[in_stomp] = stomp_feet(
            stomp, t[in_stomp], joints[in_stomp], com[in_stomp], fz[in_stomp], body.mass_kg, fs_hz)
    design = com.copy()
    design[:, 2] = np.where(kind_idx == 2, com[:, 2], z)   # on the box: tipping off, not designed
    from analysis.angles import ankle_shank_foot_angle
    upright = fam.pose(np.array([C_STAND]))
    info = {"z_stand_m": float(body.com_lab(upright)[0, 2]), "c_peak": fam.c_peak, "pieces": pieces,
            "landing_horizontal_velocity_m_s": drifts,
            "static_ankle_angle_rad": {s: float(ankle_shank_foot_angle(upright, s)[0])
                                       for s in ("left", "right")}}
    if stomp is not None:
        info["stomp"] = stomp.describe()
    return Motion(kind, traits, body, list(plates), fs_hz, t, joints, com, design, vz, az, on_plate,
                  fz, foot_fz, foot_cop, events, b.phases, box, support, info)

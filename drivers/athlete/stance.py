"""The stance posture family: every standing, squatting, push-off and landing pose of the
virtual athlete as a function of one crouch parameter c in [-1, 1].

    c = 0   knees KNEE_STAND flexed (C_STAND: upright standing, knees 7 deg)
    c = 1   knees KNEE_MAX flexed (deepest crouch)
and a heel weight w: w = 0 keeps the heels down (standing, squats, countermovement, recovery);
w = 1 is the dynamic path of push-off and landing, where the heels rise as the knees extend
below C_HEEL (knee flexion 45 deg), up to RHO_MAX at c = 0. Heel rise and knee extension happen
together, as in a real push-off, so the COM never has to move fast with straight knees.

For each c the family sets knee flexion, heel rise and shank inclination (limited by the ankle's
dorsiflexion range: the restricted ankle keeps the knee back and lets it fall medially instead),
then solves trunk lean and pelvis side shift so that the whole-body COM sits over the support (AP
target) and at the wanted left/right load share (ML target). The COM height decreases
monotonically with c, so a designed COM height is met exactly by solving for c (Newton).
"""
from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

from analysis import angles
from drivers.athlete.body import Body
from drivers.athlete.pose import (ArmPose, UP, SIDE_SIGN, ankle_on_toe, build_joints, foot_points,
                                  heading_axes)

KNEE_STAND = np.radians(3.0)     # knee flexion at c = 0 (the straightest pose)
C_MIN = 0.0                      # lowest crouch parameter used (knees 3 deg)
KNEE_MAX = np.radians(125.0)
C_STAND = (np.radians(7.0) - KNEE_STAND) / (KNEE_MAX - KNEE_STAND)  # quiet standing (model choice)
C_HEEL = (np.radians(45.0) - KNEE_STAND) / (KNEE_MAX - KNEE_STAND)   # heels down from here on
RHO_MAX = np.radians(38.0)       # heel rise (foot pitch) at c = 0 on the dynamic path
SHANK_DEMAND = 0.36              # shank inclination wanted per unit knee flexion (model choice)
SHANK_STAND = np.radians(2.0)    # forward shank tilt standing (COM ahead of the ankle)
TOE_OUT = np.radians(7.0)        # foot progression angle


def smooth_min(a, b, s=np.radians(2.0)):
    return -s * np.logaddexp(-a / s, -b / s)


class StanceFamily:
    """Poses for one movement: bilateral (support='both') or single-leg (support='left'/'right')."""

    def __init__(self, body: Body, traits, feet_mid_lab, yaw=0.0, support="both",
                 arms="sides", c_peak=None):
        self.body = body
        self.traits = traits
        self.yaw = float(yaw)
        self.support = support
        self.arms = arms
        right, forward = heading_axes(np.array([self.yaw]))
        self.right, self.forward = right[0], forward[0]
        mid = np.asarray(feet_mid_lab, dtype=float)
        half = traits.stance_width / 2
        r = body.foot_radius_m
        a_f, a_u = body.ankle_in_foot_m
        self.foot_fwd = {}
        self.ankle_flat = {}
        self.toe_flat = {}
        for side in ("left", "right"):
            sgn = SIDE_SIGN[side]
            ff = heading_axes(np.array([self.yaw - sgn * TOE_OUT]))[1][0]
            self.foot_fwd[side] = ff
            centre = mid + sgn * half * self.right
            ankle = centre + (a_f - body.heel_toe_m / 2) * ff
            ankle[2] = r + a_u
            self.ankle_flat[side] = ankle
            self.toe_flat[side] = foot_points(body, ankle[None], ff[None], np.zeros(1))[1][0]
        self.limit = traits.ankle_limit_rad
        self.normal_limit = np.radians(42.0)
        self.beta_base = {"left": 0.0, "right": 0.0}
        self.beta_comp = {"left": 0.0, "right": 0.0}
        self.c_peak = c_peak
        self._lean = None
        self._shift = None
        self._solve_grid()
        if c_peak is not None:
            self._calibrate_valgus(c_peak)
            self._solve_grid()

    # ---- scalar schedules of c ----------------------------------------------------------------
    @staticmethod
    def knee(c):
        return KNEE_STAND + (KNEE_MAX - KNEE_STAND) * np.asarray(c, dtype=float)

    @staticmethod
    def heel_rise(c, w=0.0):
        c = np.asarray(c, dtype=float)
        return np.asarray(w, dtype=float) * RHO_MAX * np.clip(1.0 - c / C_HEEL, 0.0, 1.0) ** 2

    def shank_demand(self, c, w=0.0):
        # on the toes the shank tilts back a little to keep the hip over the forefoot
        return (SHANK_STAND + SHANK_DEMAND * self.knee(c)
                - 0.25 * self.heel_rise(c, w))

    def shank(self, c, limit=None, w=0.0):
        return smooth_min(self.shank_demand(c, w), self.limit if limit is None else limit)

    def deficit(self, c):
        """Shank inclination the ankle could not give (rad): demand minus achieved."""
        return self.shank_demand(c) - self.shank(c)

    def knee_medial(self, c, side):
        c = np.asarray(c, dtype=float)
        k_peak = self.knee(self.c_peak) if self.c_peak is not None else KNEE_MAX
        w = np.clip((self.knee(c) - KNEE_STAND) / max(k_peak - KNEE_STAND, 1e-6), 0.0, 1.2)
        d_peak = float(self.deficit(self.c_peak)) if self.c_peak is not None else 0.0
        comp = np.clip(self.deficit(c) / d_peak, 0.0, 1.2) if d_peak > 1e-6 else np.zeros_like(c)
        return np.clip(self.beta_base[side] * w + self.beta_comp[side] * comp, -0.7, 0.7)

    def arm_pose(self, c):
        c = np.asarray(c, dtype=float)
        if self.arms == "hips":
            return ArmPose(hands_on_hips=True)
        if self.arms == "forward":
            x = np.clip(c / 0.4, 0.0, 1.0)
            f = 1.35 * (3 * x ** 2 - 2 * x ** 3)
            return ArmPose(shoulder_flexion=f, shoulder_abduction=0.1, elbow_flexion=0.15)
        if self.arms == "apose":
            return ArmPose(shoulder_flexion=0.0, shoulder_abduction=0.35, elbow_flexion=0.1)
        return ArmPose(shoulder_flexion=0.05, shoulder_abduction=0.1, elbow_flexion=0.15)

    # ---- poses --------------------------------------------------------------------------------
    def stance_sides(self):
        return ("left", "right") if self.support == "both" else (self.support,)

    def joints(self, c, lean, shift, offset_xy=None, w=0.0):
        """Joints (T,J,3) for crouch c, trunk lean and pelvis side shift (arrays (T,)); offset_xy
        (T,2) is an extra horizontal pelvis displacement (sway) in the lab frame."""
        return build_joints(self.body, **self.joint_params(c, lean, shift, offset_xy, w))

    def pose_params(self, c, offset_xy=None, w=0.0) -> dict:
        """The build_joints arguments (all but the body) of pose(c, offset_xy, w): mid_hip
        (T,3), yaw (T,), trunk_lean (T,), ankles (T,2,3), foot_pitch (T,2), knee_medial (T,2),
        arms (ArmPose), toe_out. Callers may change them (e.g. a swing foot) and build the
        joints with drivers.athlete.pose.build_joints(body, **params)."""
        c = np.atleast_1d(np.asarray(c, dtype=float))
        return self.joint_params(c, self.lean(c, w), self.shift(c, w), offset_xy, w)

    def joint_params(self, c, lean, shift, offset_xy=None, w=0.0) -> dict:
        """build_joints arguments for crouch c, lean, shift (see joints)."""
        c = np.atleast_1d(np.asarray(c, dtype=float))
        T = c.shape[0]
        lean = np.broadcast_to(lean, (T,))
        shift = np.broadcast_to(shift, (T,))
        w = np.broadcast_to(np.asarray(w, dtype=float), (T,))
        b = self.body
        kappa = self.knee(c)
        rho = self.heel_rise(c, w)
        phi = self.shank(c, w=w)
        ankles = np.zeros((T, 2, 3))
        pitch = np.zeros((T, 2))
        medial = np.zeros((T, 2))
        stance = self.stance_sides()
        for k, side in enumerate(("left", "right")):
            if side in stance:
                ff = np.broadcast_to(self.foot_fwd[side], (T, 3))
                toe = np.broadcast_to(self.toe_flat[side], (T, 3))
                ankles[:, k] = ankle_on_toe(b, toe, ff, rho)
                pitch[:, k] = rho
                medial[:, k] = self.knee_medial(c, side)
        ank_mid = np.mean([ankles[:, 0 if s == "left" else 1] for s in stance], axis=0)
        y_rel = b.shank_length_m * np.sin(phi) - b.thigh_length_m * np.sin(kappa - phi)
        centre = 0.5 * (self.ankle_flat["left"] + self.ankle_flat["right"])
        mid_hip = np.zeros((T, 3))
        horiz = (centre[None, :] + (shift[:, None] * self.right[None, :])
                 + ((ank_mid - centre) @ self.forward)[:, None] * self.forward[None, :]
                 + y_rel[:, None] * self.forward[None, :])
        if offset_xy is not None:
            horiz = horiz + np.concatenate([offset_xy, np.zeros((T, 1))], axis=1)
        mid_hip[:, :2] = horiz[:, :2]
        d2 = (b.thigh_length_m ** 2 + b.shank_length_m ** 2
              + 2 * b.thigh_length_m * b.shank_length_m * np.cos(kappa))
        zs = []
        for side in stance:
            k = 0 if side == "left" else 1
            hip = mid_hip + SIDE_SIGN[side] * b.hip_half_width_m * self.right
            dxy = hip[:, :2] - ankles[:, k, :2]
            zs.append(ankles[:, k, 2] + np.sqrt(np.clip(d2 - np.sum(dxy ** 2, axis=1), 1e-6, None)))
        mid_hip[:, 2] = np.min(zs, axis=0)
        if self.support != "both":
            self._swing_leg(mid_hip, kappa, ankles, pitch)
        return dict(mid_hip=mid_hip, yaw=np.full(T, self.yaw), trunk_lean=lean, ankles=ankles,
                    foot_pitch=pitch, knee_medial=medial, arms=self.arm_pose(c), toe_out=TOE_OUT)

    def _swing_leg(self, mid_hip, kappa_stance, ankles, pitch):
        b = self.body
        swing = "right" if self.support == "left" else "left"
        k = 0 if swing == "left" else 1
        hip = mid_hip + SIDE_SIGN[swing] * b.hip_half_width_m * self.right
        alpha = 0.35 + 0.5 * kappa_stance          # swing hip flexion (model choice)
        knee_flex = np.radians(85.0)
        thigh = -UP * np.cos(alpha)[:, None] + self.forward * np.sin(alpha)[:, None]
        beta = alpha - knee_flex
        shank = -UP * np.cos(beta)[:, None] + self.forward * np.sin(beta)[:, None]
        ankles[:, k] = hip + b.thigh_length_m * thigh + b.shank_length_m * shank
        pitch[:, k] = 0.5

    # ---- balance ------------------------------------------------------------------------------
    def _targets(self, c):
        c = np.asarray(c, dtype=float)
        stance = self.stance_sides()
        ankle = np.mean([self.ankle_flat[s] for s in stance], axis=0)
        toe = np.mean([self.toe_flat[s] for s in stance], axis=0)
        frac = 0.12 + 0.0 * c   # COM over the rear mid-foot (model choice)
        ap = ankle @ self.forward + frac * ((toe - ankle) @ self.forward)
        if self.support == "both":
            centre = 0.5 * (self.ankle_flat["left"] + self.ankle_flat["right"])
            ml = centre @ self.right + self.traits.asymmetry * self.traits.stance_width / 2
        else:
            foot_mid = 0.5 * (self.ankle_flat[self.support] + self.toe_flat[self.support])
            ml = foot_mid @ self.right
        return np.broadcast_to(ap, c.shape), np.broadcast_to(ml, c.shape)

    def _solve_grid(self):
        cg = np.linspace(C_MIN, 1.0, 205)
        centre = 0.5 * (self.ankle_flat["left"] + self.ankle_flat["right"])
        ap_t, ml_t = self._targets(cg)
        h = 1e-5
        self.c_grid = cg
        self._lean, self._shift, self.com_z_grid = {}, {}, {}
        for w in (0.0, 1.0):
            lean = np.full_like(cg, 0.05)
            shift = ml_t - centre @ self.right
            for _ in range(8):
                com = self.body.com_lab(self.joints(cg, lean, shift, w=w))
                e_ap = com @ self.forward - ap_t
                e_ml = com @ self.right - ml_t
                d_ap = (self.body.com_lab(self.joints(cg, lean + h, shift, w=w)) @ self.forward
                        - com @ self.forward) / h
                d_ml = (self.body.com_lab(self.joints(cg, lean, shift + h, w=w)) @ self.right
                        - com @ self.right) / h
                lean = np.clip(lean - e_ap / d_ap, -0.5, 1.3)
                shift = shift - e_ml / d_ml
            self._lean[w] = CubicSpline(cg, lean)
            self._shift[w] = CubicSpline(cg, shift)
            self.com_z_grid[w] = self.body.com_lab(self.joints(cg, lean, shift, w=w))[:, 2]
            if np.any(np.diff(self.com_z_grid[w]) >= 0):
                raise RuntimeError("COM height is not monotonic in the crouch parameter")

    def lean(self, c, w=0.0):
        c = np.clip(c, C_MIN, 1)
        return (1 - np.asarray(w)) * self._lean[0.0](c) + np.asarray(w) * self._lean[1.0](c)

    def shift(self, c, w=0.0):
        c = np.clip(c, C_MIN, 1)
        return (1 - np.asarray(w)) * self._shift[0.0](c) + np.asarray(w) * self._shift[1.0](c)

    def pose(self, c, offset_xy=None, w=0.0):
        """Joints (T,J,3) at crouch c (T,), heel weight w (scalar or (T,)), pelvis offset (T,2)."""
        c = np.atleast_1d(np.asarray(c, dtype=float))
        return self.joints(c, self.lean(c, w), self.shift(c, w), offset_xy, w)

    def com_z(self, c, w=0.0):
        return self.body.com_lab(self.pose(c, w=w))[..., 2]

    @staticmethod
    def c_for_knee(knee_rad):
        return float((knee_rad - KNEE_STAND) / (KNEE_MAX - KNEE_STAND))

    def solve_c(self, z_target, offset_xy=None, w=0.0, iterations=3):
        """Crouch c (T,) whose pose puts the COM exactly at height z_target (T,)."""
        z_target = np.asarray(z_target, dtype=float)
        w = np.broadcast_to(np.asarray(w, dtype=float), z_target.shape)
        c = np.where(w > 0.5,
                     np.interp(z_target, self.com_z_grid[1.0][::-1], self.c_grid[::-1]),
                     np.interp(z_target, self.com_z_grid[0.0][::-1], self.c_grid[::-1]))
        h = 1e-6
        for _ in range(iterations):
            z = self.body.com_lab(self.pose(c, offset_xy, w))[:, 2]
            dz = (self.body.com_lab(self.pose(c + h, offset_xy, w))[:, 2] - z) / h
            c = np.clip(c - (z - z_target) / dz, C_MIN, 1.0)
        return c

    # ---- knee valgus calibration ----------------------------------------------------------------
    def _fppa_at(self, c, side):
        j = self.pose(np.array([c]))
        return float(angles.knee_fppa(j, side)[0])

    def _calibrate_valgus(self, c_peak):
        """Find the knee rotations that give the trait's peak FPPA at c_peak with a normal ankle,
        and the extra rotation the restricted ankle's missing shank inclination adds."""
        for side in self.stance_sides():
            target = np.radians(self.traits.valgus_deg(side))
            self.beta_comp[side] = 0.0
            self.beta_base[side] = self._bisect(lambda b: self._set_base(side, b), side, c_peak, target)
            deficit_deg = np.degrees(float(self.deficit(c_peak)))
            if deficit_deg > 1e-6:
                target2 = target + np.radians(self.traits.valgus_compensation * deficit_deg)
                self.beta_comp[side] = self._bisect(lambda b: self._set_comp(side, b), side, c_peak, target2)

    def _set_base(self, side, b):
        self.beta_base[side] = b

    def _set_comp(self, side, b):
        self.beta_comp[side] = b

    def _bisect(self, setter, side, c_peak, target):
        """Root of FPPA(beta) = target by regula falsi (Illinois) on a bracket; FPPA grows
        monotonically with the medial knee rotation beta."""
        def f(b):
            setter(b)
            return self._fppa_at(c_peak, side) - target
        lo, hi = -0.6, 0.7
        flo, fhi = f(lo), f(hi)
        if flo > 0 or fhi < 0:
            raise ValueError("the wanted knee FPPA is out of the model's range")
        side_kept = 0
        b = lo
        for _ in range(40):
            b = (lo * fhi - hi * flo) / (fhi - flo)
            fb = f(b)
            if abs(fb) < 1e-7:
                break
            if fb < 0:
                lo, flo = b, fb
                if side_kept == -1:
                    fhi /= 2
                side_kept = -1
            else:
                hi, fhi = b, fb
                if side_kept == 1:
                    flo /= 2
                side_kept = 1
        setter(b)
        return b

"""The virtual athlete's body: segment lengths, masses, centres of mass and radii.

Source of the inertial parameters: de Leva P. (1996) "Adjustments to Zatsiorsky-Seluyanov's
segment inertia parameters", J Biomech 29(9):1223-1230, Table 4 (mass as % of body mass,
longitudinal COM position as % of segment length from the proximal end, segment lengths of the
reference subjects: stature 1741 mm male, 1735 mm female). Lengths are scaled by stature ratio,
masses by body mass. Proportions de Leva does not give (ankle height, hip joint and shoulder
widths, shoulder drop below C7) come from Winter D.A. (2009) "Biomechanics and Motor Control of
Human Movement", 4th ed., Fig. 4.1 (segment lengths as fractions of height H); where a joint centre
sits inside those widths is a model choice stated next to the number.

Segment radii (for rendering and for moving a surface point to a joint centre) are those of a
uniform cylinder (sphere for the head) of the segment's mass and length at body density
1050 kg/m^3 (Winter 2009, ch. 4: whole-body density ~1.05 g/cm^3).

API for the renderer and the skeleton tests:
    body = Body.from_traits(traits)   or   Body(height_m, mass_kg, sex)
    body.segments                       -> tuple of Segment (name, proximal, distal, length_m,
                                           radius_m, mass_kg, com_fraction, shape)
    body.segment_endpoints_lab(joints)  -> {segment name: (proximal (T,3), distal (T,3))}
    body.capsules_lab(joints)           -> [(name, p0 (T,3), p1 (T,3), radius_m)]; the head is a
                                           capsule of zero length (a sphere) at the 'head' joint
    body.com_lab(joints)                -> (T, 3) whole-body centre of mass
Endpoint names are JOINT_NAMES plus three derived points: 'mid_hip' (midpoint of the hip
centres) and '<side>_hand_end' (wrist + hand length along the forearm direction).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.joints import JOINT_INDEX

BODY_DENSITY_KG_M3 = 1050.0

# de Leva (1996) Table 4. name: (length_mm, mass_pct, com_pct_from_proximal) for male / female.
# head: vertex -> C7 (CERV); trunk: C7 -> mid hip joint centre; upper arm: shoulder -> elbow joint
# centre; forearm: elbow -> wrist joint centre; hand: wrist -> 3rd metacarpale; thigh: hip ->
# knee joint centre; shank: knee joint centre -> lateral malleolus; foot: heel -> tip of longest toe.
DE_LEVA_1996 = {
    "male": {
        "stature_mm": 1741.0,
        "head": (242.9, 6.94, 50.02), "trunk": (603.3, 43.46, 44.86),
        "upper_arm": (281.7, 2.71, 57.72), "forearm": (268.9, 1.62, 45.74),
        "hand": (86.2, 0.61, 79.00), "thigh": (422.2, 14.16, 40.95),
        "shank": (434.0, 4.33, 44.59), "foot": (258.1, 1.37, 44.15),
    },
    "female": {
        "stature_mm": 1735.0,
        "head": (243.7, 6.68, 48.41), "trunk": (614.8, 42.57, 41.51),
        "upper_arm": (275.1, 2.55, 57.54), "forearm": (264.3, 1.38, 45.59),
        "hand": (78.0, 0.56, 74.74), "thigh": (368.5, 14.78, 36.12),
        "shank": (432.3, 4.81, 44.16), "foot": (228.3, 1.29, 40.14),
    },
}

# Winter (2009) Fig. 4.1 fractions of height H.
WINTER_ANKLE_HEIGHT = 0.039      # floor -> ankle joint
WINTER_SHOULDER_HEIGHT = 0.818   # floor -> shoulder (acromion level)
WINTER_HIP_WIDTH = 0.191         # bi-trochanteric width
WINTER_SHOULDER_WIDTH = 0.259    # bi-acromial width
# Model choices (stated, not measured): hip joint centres 52% of the bi-trochanteric width apart;
# shoulder joint centres 80% of the bi-acromial width apart; ankle 22% of the foot length ahead of
# the back of the heel.
HIP_CENTRES_OF_WIDTH = 0.52
SHOULDER_CENTRES_OF_WIDTH = 0.80
ANKLE_FROM_HEEL_OF_FOOT = 0.22


@dataclass(frozen=True)
class Segment:
    name: str
    proximal: str          # endpoint name (a joint of JOINT_NAMES or a derived point)
    distal: str
    length_m: float        # nominal length (endpoints of the posed body keep it, except trunk/head)
    radius_m: float
    mass_kg: float         # 0 for visual-only connectors (pelvis, shoulder girdle)
    com_fraction: float    # COM position from proximal (0) to distal (1)
    shape: str = "capsule"  # "capsule" or "sphere" (sphere: radius at the distal point)


class Body:
    """Segment model of one athlete, scaled from de Leva (1996) by height and mass."""

    def __init__(self, height_m: float = 1.75, mass_kg: float = 75.0, sex: str = "male"):
        self.height_m = float(height_m)
        self.mass_kg = float(mass_kg)
        self.sex = sex
        table = DE_LEVA_1996[sex]
        k = self.height_m / (table["stature_mm"] / 1000.0)
        H = self.height_m

        def length(name):
            return table[name][0] / 1000.0 * k

        def mass(name):
            return table[name][1] / 100.0 * self.mass_kg

        def com(name):
            return table[name][2] / 100.0

        self.thigh_length_m = length("thigh")
        self.shank_length_m = length("shank")
        self.foot_length_m = length("foot")
        self.upper_arm_length_m = length("upper_arm")
        self.forearm_length_m = length("forearm")
        self.hand_length_m = length("hand")
        self.head_length_m = length("head")           # vertex -> C7
        self.ankle_height_m = WINTER_ANKLE_HEIGHT * H
        self.hip_half_width_m = 0.5 * HIP_CENTRES_OF_WIDTH * WINTER_HIP_WIDTH * H
        self.shoulder_half_width_m = 0.5 * SHOULDER_CENTRES_OF_WIDTH * WINTER_SHOULDER_WIDTH * H

        def radius(name):
            return float(np.sqrt(mass(name) / (BODY_DENSITY_KG_M3 * np.pi * length(name))))

        self.foot_radius_m = radius("foot")
        # Foot points: heel and toe joints are the centres of the foot capsule's end caps, at the
        # capsule radius above the sole, so that the capsule (heel->toe, radius r) spans the
        # de Leva foot length and rests on the floor.
        r = self.foot_radius_m
        self.heel_toe_m = self.foot_length_m - 2 * r
        ankle_from_back = ANKLE_FROM_HEEL_OF_FOOT * self.foot_length_m
        # in the foot frame (forward, up) with the heel joint as origin, sole at up = -r
        self.ankle_in_foot_m = np.array([ankle_from_back - r, self.ankle_height_m - r])
        # Trunk: mid-hip -> C7 chosen so that the head's vertex is at H standing upright.
        hip_height = self.ankle_height_m + self.shank_length_m + self.thigh_length_m
        self.trunk_length_m = H - hip_height - self.head_length_m
        self.shoulder_drop_m = (H - self.head_length_m) - WINTER_SHOULDER_HEIGHT * H  # below C7
        self.neck_to_head_m = self.head_length_m * (1.0 - com("head"))  # C7 -> head COM (='head')
        head_radius = float((3 * mass("head") / (4 * np.pi * BODY_DENSITY_KG_M3)) ** (1 / 3))

        segs = [
            Segment("trunk", "mid_hip", "neck", self.trunk_length_m, radius("trunk"), mass("trunk"),
                    1.0 - com("trunk")),   # de Leva gives the trunk COM from C7 (proximal = C7)
            Segment("head", "neck", "head", self.neck_to_head_m, head_radius, mass("head"), 1.0,
                    "sphere"),
            Segment("pelvis", "left_hip", "right_hip", 2 * self.hip_half_width_m, radius("thigh"),
                    0.0, 0.5),
            Segment("shoulders", "left_shoulder", "right_shoulder", 2 * self.shoulder_half_width_m,
                    radius("upper_arm"), 0.0, 0.5),
        ]
        for side in ("left", "right"):
            s = side
            segs += [
                Segment(f"{s}_upper_arm", f"{s}_shoulder", f"{s}_elbow", self.upper_arm_length_m,
                        radius("upper_arm"), mass("upper_arm"), com("upper_arm")),
                Segment(f"{s}_forearm", f"{s}_elbow", f"{s}_wrist", self.forearm_length_m,
                        radius("forearm"), mass("forearm"), com("forearm")),
                Segment(f"{s}_hand", f"{s}_wrist", f"{s}_hand_end", self.hand_length_m,
                        radius("hand"), mass("hand"), com("hand")),
                Segment(f"{s}_thigh", f"{s}_hip", f"{s}_knee", self.thigh_length_m,
                        radius("thigh"), mass("thigh"), com("thigh")),
                Segment(f"{s}_shank", f"{s}_knee", f"{s}_ankle", self.shank_length_m,
                        radius("shank"), mass("shank"), com("shank")),
                # de Leva's foot runs heel -> toe tip; ours heel joint -> toe joint are the capsule
                # cap centres, so the COM fraction is re-expressed on that shorter line.
                Segment(f"{s}_foot", f"{s}_heel", f"{s}_toe", self.heel_toe_m, r, mass("foot"),
                        (com("foot") * self.foot_length_m - r) / self.heel_toe_m),
            ]
        self.segments = tuple(segs)
        total = sum(sg.mass_kg for sg in self.segments)
        if abs(total - self.mass_kg) > 1e-9 * self.mass_kg:
            # de Leva's percentages add up to 100.0 (male) / 99.99 (female): renormalise.
            scale = self.mass_kg / total
            self.segments = tuple(Segment(sg.name, sg.proximal, sg.distal, sg.length_m, sg.radius_m,
                                          sg.mass_kg * scale, sg.com_fraction, sg.shape)
                                  for sg in self.segments)

    @classmethod
    def from_traits(cls, traits) -> "Body":
        return cls(traits.height_m, traits.mass_kg, traits.sex)

    def describe(self) -> dict:
        """Plain dict of the dimensions (for the trial's truth attributes)."""
        return {
            "height_m": self.height_m, "mass_kg": self.mass_kg, "sex": self.sex,
            "source": "de Leva 1996 (J Biomech 29:1223) Table 4; Winter 2009 Fig 4.1 widths",
            "segments": [{"name": s.name, "proximal": s.proximal, "distal": s.distal,
                          "length_m": s.length_m, "radius_m": s.radius_m, "mass_kg": s.mass_kg,
                          "com_fraction": s.com_fraction, "shape": s.shape} for s in self.segments],
        }

    # ---- posed body -------------------------------------------------------------------------
    def _point(self, joints_lab: np.ndarray, name: str) -> np.ndarray:
        if name in JOINT_INDEX:
            return joints_lab[..., JOINT_INDEX[name], :]
        if name == "mid_hip":
            return 0.5 * (joints_lab[..., JOINT_INDEX["left_hip"], :]
                          + joints_lab[..., JOINT_INDEX["right_hip"], :])
        if name.endswith("_hand_end"):
            side = name[: -len("_hand_end")]
            wrist = joints_lab[..., JOINT_INDEX[f"{side}_wrist"], :]
            elbow = joints_lab[..., JOINT_INDEX[f"{side}_elbow"], :]
            d = wrist - elbow
            d = d / np.linalg.norm(d, axis=-1, keepdims=True)
            return wrist + self.hand_length_m * d
        raise KeyError(name)

    def segment_endpoints_lab(self, joints_lab: np.ndarray) -> dict:
        """{segment name: (proximal point (...,3), distal point (...,3))} in the lab frame."""
        j = np.asarray(joints_lab, dtype=float)
        return {s.name: (self._point(j, s.proximal), self._point(j, s.distal)) for s in self.segments}

    def capsules_lab(self, joints_lab: np.ndarray) -> list:
        """[(name, p0 (...,3), p1 (...,3), radius_m)] for drawing the body as capsules; spheres
        (the head) come as p0 == p1 at their centre."""
        out = []
        for s in self.segments:
            p0, p1 = (self._point(np.asarray(joints_lab, float), n) for n in (s.proximal, s.distal))
            if s.shape == "sphere":
                p0 = p1
            out.append((s.name, p0, p1, s.radius_m))
        return out

    def com_lab(self, joints_lab: np.ndarray) -> np.ndarray:
        """Whole-body centre of mass (..., 3), lab frame: mass-weighted segment COMs."""
        j = np.asarray(joints_lab, dtype=float)
        acc = 0.0
        for s in self.segments:
            if s.mass_kg == 0.0:
                continue
            p0, p1 = self._point(j, s.proximal), self._point(j, s.distal)
            acc = acc + s.mass_kg * (p0 + s.com_fraction * (p1 - p0))
        return acc / self.mass_kg

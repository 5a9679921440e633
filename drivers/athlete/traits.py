"""Athlete traits: the parameters of the virtual athlete (SI inside, degrees only where the name
says `_deg`, because that is how a clinician states them).

Which numbers are chosen by the model (not measured) is said next to each default; the reference
ranges quoted come from STATION.md.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict, replace

ANKLE_LIMITS_DEG = {"normal": 42.0, "restricted": 28.0}
"""Maximum shank inclination from vertical (weight-bearing lunge angle) per ankle category.
STATION.md: healthy adults reach roughly 35-45 deg; 'restricted' is placed clearly below that."""


@dataclass(frozen=True)
class Traits:
    height_m: float = 1.75
    mass_kg: float = 75.0
    sex: str = "male"                        # selects the de Leva (1996) table: "male" | "female"
    jump_height_m: float = 0.30              # CMJ rise of the COM after takeoff, v0^2 / (2 g)
    sj_height_ratio: float = 0.92            # squat-jump height / CMJ height (model choice)
    dj_height_ratio: float = 0.90            # drop-jump height / CMJ height (model choice)
    squat_depth_knee_deg: float = 95.0       # knee flexion at the bottom of a bilateral squat
    single_leg_depth_knee_deg: float = 65.0  # knee flexion at the bottom of a single-leg squat
    cmj_depth_knee_deg: float = 80.0         # knee flexion at the bottom of the countermovement
    landing_depth_knee_deg: float = 75.0     # knee flexion at the bottom of a landing
    tempo_s: float = 3.0                     # one squat rep, down + up, s
    rest_s: float = 1.5                      # standing still between reps, s
    ankle: str = "normal"                    # "normal" | "restricted"
    ankle_limit_deg: float | None = None     # overrides ANKLE_LIMITS_DEG[ankle] when given
    valgus_left_deg: float = 6.0             # peak knee FPPA of the left leg with a normal ankle
    valgus_right_deg: float = 6.0            # peak knee FPPA of the right leg with a normal ankle
    valgus_compensation: float = 0.5         # extra FPPA per degree of missing shank inclination
    asymmetry: float = 0.0                   # (R - L) / (R + L) share of the vertical load
    landing_stiffness: float = 0.5           # 0 = soft, 1 = stiff: shapes the landing impact
    stance_width_m: float | None = None      # ankle-to-ankle distance; default 0.11 x height

    def __post_init__(self):
        if self.ankle not in ANKLE_LIMITS_DEG:
            raise ValueError(f"ankle must be one of {sorted(ANKLE_LIMITS_DEG)}, not {self.ankle!r}")
        if self.sex not in ("male", "female"):
            raise ValueError(f"sex must be 'male' or 'female', not {self.sex!r}")
        checks = [
            (1.2 <= self.height_m <= 2.2, "height_m must be 1.2-2.2 m"),
            (30.0 <= self.mass_kg <= 200.0, "mass_kg must be 30-200 kg"),
            (0.05 <= self.jump_height_m <= 0.8, "jump_height_m must be 0.05-0.8 m"),
            (30.0 <= self.squat_depth_knee_deg <= 120.0, "squat depth must be 30-120 deg of knee flexion"),
            (20.0 <= self.single_leg_depth_knee_deg <= 100.0, "single-leg depth must be 20-100 deg"),
            (30.0 <= self.cmj_depth_knee_deg <= 110.0, "CMJ depth must be 30-110 deg"),
            (30.0 <= self.landing_depth_knee_deg <= 110.0, "landing depth must be 30-110 deg"),
            (1.0 <= self.tempo_s <= 10.0, "tempo_s must be 1-10 s"),
            (0.0 <= self.rest_s <= 30.0, "rest_s must be 0-30 s"),
            (-5.0 <= self.valgus_left_deg <= 30.0, "valgus_left_deg must be -5..30 deg"),
            (-5.0 <= self.valgus_right_deg <= 30.0, "valgus_right_deg must be -5..30 deg"),
            (-0.4 <= self.asymmetry <= 0.4, "asymmetry must be -0.4..0.4"),
            (0.0 <= self.landing_stiffness <= 1.0, "landing_stiffness must be 0..1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def ankle_limit_rad(self) -> float:
        import math
        deg = self.ankle_limit_deg if self.ankle_limit_deg is not None else ANKLE_LIMITS_DEG[self.ankle]
        return math.radians(deg)

    @property
    def stance_width(self) -> float:
        return self.stance_width_m if self.stance_width_m is not None else 0.11 * self.height_m

    def valgus_deg(self, side: str) -> float:
        return {"left": self.valgus_left_deg, "right": self.valgus_right_deg}[side]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Traits":
        return cls(**d)

    def with_(self, **changes) -> "Traits":
        return replace(self, **changes)

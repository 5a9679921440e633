"""Cited reference ranges that the report's flags are judged against (degrees and ratios at this
edge; everything else in SI). Each range names its source, the population and the task it was
measured on; a flag is only raised where the task matches. Force metrics have no flags: no
cited normative range for them is used here (values and left/right indices are shown as they are).

Sources (shown in every report):
- Herrington L, Munro A (2010). Drop jump landing knee valgus angle; normative data in a
  physically active population. Phys Ther Sport 11(2):56-59. FPPA in drop vertical jumps:
  women 7-13 deg, men 3-8 deg.
- Munro A, Herrington L, Carolan M (2012). Reliability of 2-dimensional video assessment of
  frontal-plane dynamic knee valgus during common athletic screening tasks. J Sport Rehabil
  21(1):7-11. Between-day smallest detectable change of FPPA 7.5-8.9 deg: a left/right difference
  larger than 7.5 deg is beyond what the method can tell apart from noise.
- Noyes FR, Barber-Westin SD, Fleckenstein C, Walsh C, West J (2005). The drop-jump screening
  test. Am J Sports Med 33(2):197-207. Knee-to-ankle separation ratio below ~0.6 flags valgus
  collapse (as used in STATION.md).
- Weight-bearing lunge (shank inclination from vertical): healthy adults reach roughly
  35-45 deg (STATION.md field notes); shown as indicative only, the lunge is not our task.
- Uhlrich SD et al. (2023). OpenCap. PLoS Comput Biol 19(10):e1011462. Markerless landing
  angles: RMSE 6.6 deg against marker capture: a reminder of the measurement error.
"""
from __future__ import annotations

from dataclasses import dataclass

LANDING_KINDS = ("drop_jump", "landing", "cmj", "sj", "jump")


@dataclass(frozen=True)
class Reference:
    key: str                 # the per-side metric it applies to (e.g. 'fppa_max_deg')
    label: str
    low: float | None
    high: float | None
    unit: str
    population: str          # e.g. 'women', 'men', 'healthy adults'
    tasks: tuple             # trial/rep kinds where the range applies
    citation: str            # short key into CITATIONS


CITATIONS = {
    "herrington2010": "Herrington L, Munro A (2010). Drop jump landing knee valgus angle; normative "
                      "data in a physically active population. Phys Ther Sport 11(2):56-59.",
    "munro2012": "Munro A, Herrington L, Carolan M (2012). Reliability of 2-dimensional video "
                 "assessment of frontal-plane dynamic knee valgus during common athletic "
                 "screening tasks. J Sport Rehabil 21(1):7-11.",
    "noyes2005": "Noyes FR, Barber-Westin SD, Fleckenstein C, Walsh C, West J (2005). The drop-jump "
                 "screening test: difference in lower limb control by gender and effect of "
                 "neuromuscular training in female athletes. Am J Sports Med 33(2):197-207.",
    "station_wblt": "Weight-bearing lunge test, healthy adults ~35-45 deg shank inclination "
                    "(STATION.md field notes); indicative only.",
    "uhlrich2023": "Uhlrich SD et al. (2023). OpenCap: human movement dynamics from smartphone "
                   "videos. PLoS Comput Biol 19(10):e1011462 (landing angles RMSE 6.6 deg).",
}

FPPA_RANGES = {
    "female": Reference("fppa_max_deg", "peak knee FPPA (drop jump)", 7.0, 13.0, "deg", "women",
                        LANDING_KINDS, "herrington2010"),
    "male": Reference("fppa_max_deg", "peak knee FPPA (drop jump)", 3.0, 8.0, "deg", "men",
                      LANDING_KINDS, "herrington2010"),
}
FPPA_SDC_DEG = 7.5          # Munro 2012: 7.5-8.9 deg; the lower bound is the stricter test
SEPARATION = Reference("separation_ratio_min", "knee-to-ankle separation ratio", 0.6, None, "ratio",
                       "screening threshold", LANDING_KINDS, "noyes2005")
SHANK = Reference("shank_inclination_max_deg", "shank inclination (lunge norm)", 35.0, 45.0, "deg",
                  "healthy adults", ("squat", "squats", "single_leg_squat"), "station_wblt")


@dataclass
class Flag:
    key: str
    side: str                # 'left', 'right', 'both' or 'left-right'
    value: float
    message: str
    citation: str


def fppa_reference(sex: str | None) -> list[Reference]:
    """The FPPA range(s) for the athlete's sex; both when the sex is not known."""
    s = (sex or "").lower()
    if s in ("f", "female", "woman", "w"):
        return [FPPA_RANGES["female"]]
    if s in ("m", "male", "man"):
        return [FPPA_RANGES["male"]]
    return [FPPA_RANGES["female"], FPPA_RANGES["male"]]


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def flags_for_rep(kind: str, sides: dict, separation_ratio_min: float | None,
                  sex: str | None) -> list[Flag]:
    """Flags of one rep. sides: {'left': {key: value_deg...}, 'right': {...}} (None = missing)."""
    out: list[Flag] = []
    kind = kind or ""
    if kind in LANDING_KINDS:
        refs = fppa_reference(sex)
        high = max(r.high for r in refs)
        who = " / ".join(f"{r.population} {r.low:g}-{r.high:g} deg" for r in refs)
        for side in ("left", "right"):
            v = (sides.get(side) or {}).get("fppa_max_deg")
            if v is not None and v > high:
                out.append(Flag("fppa_max_deg", side, v,
                                f"{side} peak FPPA {_fmt(v)} deg above the drop-jump range ({who})",
                                "herrington2010"))
        vl = (sides.get("left") or {}).get("fppa_max_deg")
        vr = (sides.get("right") or {}).get("fppa_max_deg")
        if vl is not None and vr is not None and abs(vl - vr) > FPPA_SDC_DEG:
            out.append(Flag("fppa_max_deg", "left-right", vl - vr,
                            f"left-right peak FPPA difference {_fmt(vl - vr)} deg exceeds the "
                            f"smallest detectable change ({FPPA_SDC_DEG:g} deg)", "munro2012"))
        if separation_ratio_min is not None and separation_ratio_min < SEPARATION.low:
            out.append(Flag("separation_ratio_min", "both", separation_ratio_min,
                            f"knee-to-ankle separation ratio {separation_ratio_min:.2f} below "
                            f"{SEPARATION.low:g} (valgus collapse screen)", "noyes2005"))
    if kind in SHANK.tasks:
        for side in ("left", "right"):
            v = (sides.get(side) or {}).get("shank_inclination_max_deg")
            if v is not None and v < SHANK.low:
                out.append(Flag("shank_inclination_max_deg", side, v,
                                f"{side} shank inclination {_fmt(v)} deg below the lunge norm "
                                f"({SHANK.low:g}-{SHANK.high:g} deg; indicative)", "station_wblt"))
    return out

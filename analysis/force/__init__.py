"""Force analysis: body weight, events, jump/landing/squat metrics, asymmetry, COP sway.

    from analysis.force import analyze_force, ForceSettings
    result = analyze_force(fz_n, rate_hz, ForceSettings(), kind=None)
"""
from analysis.force.analyze import ForceAnalysisError, ForceResult, analyze_force  # noqa: F401
from analysis.force.settings import ForceSettings  # noqa: F401

"""Physical constants shared by the whole station (define them nowhere else)."""

G = 9.81
"""Standard gravity used by every force/jump computation, m/s^2 (STATION.md: g = 9.81)."""

"""Physical constants used across the station."""

G = 9.81  # m/s^2, standard gravity as used by STATION.md and JumpMetrics

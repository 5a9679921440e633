"""What the camera's distance from the plate means for the dorsiflexion at a landing's initial
contact (issue 8), told to the technician when the camera is calibrated.

That value is read from ONE depth frame (the last before the contact, analysis/kinematics.py), so
its precision is what one frame can give. bench/bench_foot_registration.py --bound computes the
Cramer-Rao bound of one frame's foot pitch (1 sigma, the foot's 6 pose parameters unknown) under
the D435 depth noise model the virtual camera uses (Intel's RMS formula, growing with z^2), over
8 landing feet (front and 45 deg, toe-down 15 and 30 deg, feet 8 cm up); the RMS over them, by the
camera's horizontal distance from the plate centre (camera 1.0 m high), measured 2026-11-28:

    --distance-m 2.0: whole visible foot 0.87 deg
    --distance-m 2.5: whole visible foot 1.52 deg     (the station's default set-up)
    --distance-m 3.0: whole visible foot 2.56 deg

No unbiased estimator beats these (the whole chain's contact value is 1.79 deg RMS at 2.5 m on
the bench's 24 virtual jump legs, diagnostic harness, docs/SKELETON.md). The issue's limit of 3 deg is 2 sigma at 2.5 m and only 1.2 sigma at
3.0 m, where about 1 landing leg in 4 would be over it even for an ideal estimator. STATION.md
allows 2-3 m; the closer camera must still see the athlete whole (MediaPipe needs the body).
tests/test_setup_advice.py recomputes the 3.0 m row with the bench's own function.
The bound is what less depth noise makes POSSIBLE, not what the chain reaches by itself: with half
the depth noise (bench_skeleton.py --depth-baseline-mm 95, the virtual jumps) the contact values
got worse with the default analysis (20/24 legs within 3 deg, 23/24 with the D435's noise) and
all within 3 deg with FootSettings.no_interpolation_across_contact (24/24; the whole matrix
45/45), which hurts at the D435's noise; docs/SKELETON.md has the figures.
Other camera models (D415, D455: other baselines and fields of view) are not measured here.
"""
from __future__ import annotations

import numpy as np

# (horizontal distance m, RMS bound deg): bench_foot_registration.py --bound --distance-m D
FOOT_PITCH_BOUND_D435_DEG = ((2.0, 0.87), (2.5, 1.52), (3.0, 2.56))
DEFAULT_DISTANCE_M = 2.5          # the station's reference set-up (drivers.camera_model)
BOUND_RANGE_M = (1.0, 5.0)        # the bench's --distance-m range: no bound is stated outside it


def plate_distance_m(T_lab_from_camera: np.ndarray) -> float:
    """The camera's horizontal distance from the plate centre (the lab origin), m."""
    p = np.asarray(T_lab_from_camera, float)[:3, 3]
    return float(np.hypot(p[0], p[1]))


def foot_pitch_bound_deg(distance_m: float) -> float:
    """The bound at this distance: the table's power law between its rows (log-log linear),
    its end rows' power law beyond them; NaN outside BOUND_RANGE_M."""
    if not BOUND_RANGE_M[0] <= float(distance_m) <= BOUND_RANGE_M[1]:
        return float("nan")
    d = np.log([r[0] for r in FOOT_PITCH_BOUND_D435_DEG])
    b = np.log([r[1] for r in FOOT_PITCH_BOUND_D435_DEG])
    x = np.log(float(distance_m))
    i = int(np.clip(np.searchsorted(d, x) - 1, 0, len(d) - 2))
    slope = (b[i + 1] - b[i]) / (d[i + 1] - d[i])
    return float(np.exp(b[i] + slope * (x - d[i])))


def distance_advice(T_lab_from_camera: np.ndarray) -> dict:
    """{'plate_distance_m', 'foot_pitch_bound_deg', 'line': what to tell the technician,
    'warning': None or what to do (the camera farther than the reference set-up)}."""
    dist = plate_distance_m(T_lab_from_camera)
    bound = foot_pitch_bound_deg(dist)
    if not np.isfinite(bound):
        lo, hi = BOUND_RANGE_M
        return {"plate_distance_m": dist, "foot_pitch_bound_deg": None,
                "line": (f"camera {dist:.2f} m from the plate centre (horizontally): outside the "
                         f"{lo:g}-{hi:g} m the foot pitch bound was computed for, none is stated"),
                "warning": ("the station's set-ups stand the camera 2-3 m from the plate, facing the "
                            "athlete or at 45 deg; check the camera's place and its calibration")}
    line = (f"camera {dist:.2f} m from the plate centre: one depth frame reads a landing foot's pitch "
            f"to +-{bound:.1f} deg at best (1 sigma, D435 noise model); the dorsiflexion at initial "
            f"contact is read from one frame and cannot be more precise than that")
    warning = None
    if dist > DEFAULT_DISTANCE_M + 0.05:
        closer = foot_pitch_bound_deg(DEFAULT_DISTANCE_M)
        warning = (f"the camera is farther than the reference {DEFAULT_DISTANCE_M:.1f} m (bound "
                   f"{closer:.1f} deg there, {foot_pitch_bound_deg(2.0):.1f} deg at 2.0 m): for "
                   f"landing tests move it closer, keeping the athlete's whole body in view, and "
                   f"calibrate again")
    return {"plate_distance_m": dist, "foot_pitch_bound_deg": bound, "line": line, "warning": warning}

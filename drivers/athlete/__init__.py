"""The virtual athlete: a body scaled from published anthropometry, movements with physics that
agrees with itself, ground reaction forces per load cell, and ground truth.

    from drivers.athlete import Traits, Body, simulate_motion, truth_of
    motion = simulate_motion("cmj", Traits(jump_height_m=0.3), seed=1)
    motion.joints_at(camera_times_s)    # (T, J, 3) lab frame, analysis.joints.JOINT_NAMES order
    motion.cell_loads_at(plate_times_s) # [(T, 4) N] per plate in motion.plates
    arrays, attrs = truth_of(motion)    # for TrialWriter.write_truth

Modules: traits (Traits), body (Body: segments, radii, COM), pose (joint construction),
stance (posture family), trajectory (analytic COM pieces), motion (movements), forces (COP,
feet, load cells), truth (ground truth). Rendering lives in render.py / scene.py.
"""
from drivers.athlete.body import Body, Segment
from drivers.athlete.motion import KINDS, Motion, default_plates, simulate_motion
from drivers.athlete.traits import Traits
from drivers.athlete.truth import truth_of

__all__ = ["Body", "Segment", "KINDS", "Motion", "default_plates", "simulate_motion", "Traits",
           "truth_of"]

"""calibration.setup_advice: the camera's distance and the one-frame bound of a landing foot's
pitch, told at calibration. Its table is the bench's figures (bench_foot_registration --bound):
one row is recomputed here with the bench's own function."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from calibration.setup_advice import (FOOT_PITCH_BOUND_D435_DEG, contact_dorsiflexion_precision,
                                      distance_advice, foot_pitch_bound_deg, plate_distance_m)
from drivers.camera_model import standard_camera_pose

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_foot_registration.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_foot_registration", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_table_row_at_3_m_is_the_bench_bound():
    """The 3.0 m row, recomputed over the bench's 8 landing feet (RMS of the whole visible foot's
    bound), within 2 %: a changed renderer noise model or camera must change the table too."""
    b = _bench()
    whole = [row[1] for view in ("front", "45") for pitch in (-15.0, -30.0)
             for row in b.pitch_bounds(view, pitch, False, 30, distance_m=3.0)]
    assert np.sqrt(np.mean(np.square(whole))) == pytest.approx(dict(FOOT_PITCH_BOUND_D435_DEG)[3.0], rel=0.02)


@pytest.mark.slow
def test_the_bound_scales_with_the_stereo_baseline_as_the_bench_computes_it():
    """The contact value's precision statement scales the D435 table by 50 mm / baseline (the
    depth noise's RMS is inversely proportional to the baseline): recomputed with the bench's own
    function at 95 mm (a D455's) and 2.5 m, within 2 %."""
    b = _bench()
    whole = [row[1] for view in ("front", "45") for pitch in (-15.0, -30.0)
             for row in b.pitch_bounds(view, pitch, False, 30, distance_m=2.5, baseline_m=0.095)]
    from drivers.camera_model import D435_DEPTH_848x480
    p = contact_dorsiflexion_precision(standard_camera_pose("front", distance_m=2.5), 0.095, D435_DEPTH_848x480.fx)
    assert p["single_frame_bound_deg"] == pytest.approx(np.sqrt(np.mean(np.square(whole))), rel=0.02)


def test_the_contact_precision_states_only_what_was_measured_for_this_camera():
    from drivers.camera_model import D435_DEPTH_848x480
    fx = D435_DEPTH_848x480.fx
    ref = contact_dorsiflexion_precision(standard_camera_pose("front", distance_m=2.5), 0.050, fx)
    assert ref["single_frame_bound_deg"] == pytest.approx(1.52)
    assert ref["measured_rms_deg"] == 1.79 and ref["measured_at"] == {"distance_m": 2.5, "stereo_baseline_m": 0.05,
                                                                      "legs": 23}
    assert "+-1.5 deg at best" in ref["line"] and "1.79 deg RMS over 23 jump legs" in ref["line"]
    # the same trials with other static trials' templates (session 12), named beside it
    assert ref["measured_over_static_trials"] == {"lowest_rms_deg": 1.79, "highest_rms_deg": 2.93, "templates": 6}
    assert "(1.79-2.93 with 6 static trials' foot templates of 30-60 frames)" in ref["line"]
    assert ref["template_frames"] is None and "built from only" not in ref["line"]
    # a template from fewer static frames than measured with: the line says so, with what 15 gave
    few = contact_dorsiflexion_precision(standard_camera_pose("front", distance_m=2.5), 0.050, fx, template_frames=15)
    assert few["template_frames"] == 15 and few["measured_rms_deg"] == 1.79
    assert "built from only 15 frames" in few["line"] and "2.86 / 3.04 deg RMS" in few["line"]
    enough = contact_dorsiflexion_precision(standard_camera_pose("front", distance_m=2.5), 0.050, fx, template_frames=30)
    assert "built from only" not in enough["line"]
    # a trial without the baseline: the D435's, and it says so
    unknown = contact_dorsiflexion_precision(standard_camera_pose("45", distance_m=2.5), None, fx)
    assert unknown["measured_rms_deg"] == 1.79 and "not recorded: a D435's assumed" in unknown["line"]
    # the nearest measured set-up within 0.15 m: 2.3 m reads the 2.25 m run, 2.75 m none
    assert contact_dorsiflexion_precision(standard_camera_pose("front", distance_m=2.3), 0.05, fx)[
        "measured_rms_deg"] == 3.67
    between = contact_dorsiflexion_precision(standard_camera_pose("front", distance_m=2.75), 0.05, fx)
    assert between["measured_rms_deg"] is None and "not measured at this set-up" in between["line"]
    assert between["single_frame_bound_deg"] == pytest.approx(foot_pitch_bound_deg(2.75))
    # a baseline no run had: the bound, scaled; no measured figure
    b80 = contact_dorsiflexion_precision(standard_camera_pose("front", distance_m=2.5), 0.080, fx)
    assert b80["single_frame_bound_deg"] == pytest.approx(1.52 * 50 / 80) and b80["measured_rms_deg"] is None
    assert b80["measured_over_static_trials"] is None
    # another depth resolution: the bound was not computed for it
    hd = contact_dorsiflexion_precision(standard_camera_pose("front", distance_m=2.5), 0.050, 640.0)
    assert hd["single_frame_bound_deg"] is None and hd["measured_rms_deg"] is None
    assert "no one-frame bound is stated" in hd["line"] and "848x480" in hd["line"]
    overhead = np.eye(4)
    overhead[:3, 3] = (0.0, 0.0, 2.5)
    top = contact_dorsiflexion_precision(overhead, 0.050, fx)
    assert top["single_frame_bound_deg"] is None and "outside the 1-5 m" in top["line"]


def test_bound_interpolates_the_table_and_grows_with_distance():
    for d, b in FOOT_PITCH_BOUND_D435_DEG:
        assert foot_pitch_bound_deg(d) == pytest.approx(b)
    ds = np.linspace(1.5, 3.5, 21)
    bs = [foot_pitch_bound_deg(d) for d in ds]
    assert np.all(np.diff(bs) > 0)
    assert 0.87 < foot_pitch_bound_deg(2.25) < 1.52


def test_advice_warns_away_from_the_measured_distance():
    near = distance_advice(standard_camera_pose("front", distance_m=2.5))
    assert near["plate_distance_m"] == pytest.approx(2.5, abs=1e-9)
    assert near["warning"] is None and "+-1.5 deg" in near["line"]
    far = distance_advice(standard_camera_pose("45", distance_m=3.0))
    assert far["foot_pitch_bound_deg"] == pytest.approx(2.56)
    assert "put the camera 2.5 m from the plate centre and calibrate again" in far["warning"]
    assert "4 of 24 at 3.0 m" in far["warning"]
    # nearer than the measured set-up is no better for the whole chain (the colour image's framing)
    assert "3 of 21 at 2.25 m" in distance_advice(standard_camera_pose("front", distance_m=2.25))["warning"]
    assert distance_advice(standard_camera_pose("front", distance_m=2.6))["warning"] is None
    assert plate_distance_m(standard_camera_pose("45", distance_m=2.2)) == pytest.approx(2.2)


def test_a_camera_outside_the_measured_distances_gets_no_bound():
    """Overhead (0 m horizontally) or a wrong calibration far away: no bound is made up (the
    power law would give 0 deg at 0 m), the technician is told to check the set-up."""
    overhead = np.eye(4)
    overhead[:3, 3] = (0.0, 0.0, 2.5)
    for T in (overhead, standard_camera_pose("front", distance_m=8.0)):
        adv = distance_advice(T)
        assert adv["foot_pitch_bound_deg"] is None and "none is stated" in adv["line"]
        assert "check the camera's place and its calibration" in adv["warning"]
    assert np.isnan(foot_pitch_bound_deg(0.0))


def _color_pose(view, distance_m, aim_m):
    from drivers.camera_model import T_COLOR_FROM_DEPTH_D435, invert_pose
    return standard_camera_pose(view, distance_m=distance_m, target_height_m=aim_m) @ invert_pose(T_COLOR_FROM_DEPTH_D435)


def test_framing_passes_the_reference_set_ups_and_names_what_to_change_elsewhere():
    """The framing limits come from the virtual station's whole chain (docs/SKELETON.md, session
    10): the reference set-ups pass; 2.25 m with the reference aim cuts both ends (move back);
    aimed lower the head is cut (aim higher); a camera that does not see the plate is told to
    check its place."""
    from calibration.setup_advice import framing_advice
    from drivers.camera_model import D435_COLOR_640x480 as C
    for view in ("front", "45"):
        a = framing_advice(_color_pose(view, 2.5, 0.8), C)
        assert a["warnings"] == [] and 0.04 <= a["feet_margin"] <= 0.08, a
    a = framing_advice(_color_pose("front", 2.25, 0.8), C)
    assert a["feet_margin"] == pytest.approx(0.024, abs=0.002)
    assert len(a["warnings"]) == 1 and "move the camera back" in a["warnings"][0]
    a = framing_advice(_color_pose("front", 2.25, 0.65), C)
    assert len(a["warnings"]) == 1 and "aim the camera higher" in a["warnings"][0] and "77 px" in a["warnings"][0]
    a = framing_advice(_color_pose("front", 2.5, 1.3), C)        # aimed high: the feet at the edge
    assert len(a["warnings"]) == 1 and "aim the camera lower" in a["warnings"][0]
    away = _color_pose("front", 2.5, 0.8) @ np.diag([-1.0, 1.0, -1.0, 1.0])   # turned to face away
    assert "not in front of the colour camera" in framing_advice(away, C)["warnings"][0]

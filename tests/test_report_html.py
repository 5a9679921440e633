"""`station report` on a simulated session: every figure and table is in one self-contained HTML
file, flags follow the cited ranges, a trial without camera data says so; a headless Chromium
renders the page (screenshot checked for content).

Test data: the virtual athlete (drivers/athlete) simulates a drop jump on two plates; its per-cell
loads, a 10 fps color stream rendered by drivers.athlete.render and the D435 intrinsics are
written with the real TrialWriter; `station analyze` writes /results/force; /results/skeleton is
written from the simulator's joints through analysis.kinematics (the layout analysis/
skeleton_pipeline.analyze_skeleton produces), standing in for the pose pipeline, whose own tests
cover it.
"""
from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from data.trial import TrialWriter, open_trial, write_results
from station.cli import main

EPOCH = 1_767_225_600.0
COLOR_FPS = 10.0


def make_sim_trial(path: Path, kind: str = "dj", *, seed: int = 0, color: bool = True,
                   skeleton: bool = True, valgus_left_deg: float = 6.0,
                   valgus_right_deg: float = 6.0, sex: str = "male", plates: int = 2,
                   athlete_id: str = "SIM01") -> Path:
    """A simulated trial: force per load cell (N) per plate, optional color frames + camera
    description + camera_pose calibration, /results/force by `station analyze`, optional
    /results/skeleton from the simulated joints."""
    from drivers.athlete.motion import default_plates, simulate_motion
    from drivers.athlete.traits import Traits
    from drivers.camera_model import D435_COLOR_640x480, D435_DEPTH_848x480, T_COLOR_FROM_DEPTH_D435, \
        standard_camera_pose

    traits = Traits(sex=sex, valgus_left_deg=valgus_left_deg, valgus_right_deg=valgus_right_deg)
    motion = simulate_motion(kind, traits, seed=seed, reps=1, plates=default_plates(plates))
    t_plate = np.arange(int(np.floor(motion.duration_s * 1000.0)) + 1) / 1000.0
    loads = motion.cell_loads_at(t_plate)
    meta = {"athlete_id": athlete_id, "protocol": "simulated", "step": kind, "trial_kind": kind,
            "sex": sex, "settings": {"seed": seed, "traits": traits.to_dict()}}
    T_lab_from_depth = standard_camera_pose("front")
    with TrialWriter(path, metadata=meta) as w:
        force_streams = []
        for geom in motion.plates:      # every stream is declared before the first append (SWMR)
            w.add_device(geom.name, kind="force_plate", description={"virtual": True, **geom.to_dict()},
                         arrays={"cell_positions_plate_m": geom.cell_positions_plate_m})
            force_streams.append(w.create_stream(
                geom.name, kind="force", device=geom.name, sample_shape=(4,), dtype="float64",
                unit="N", frame=None, nominal_rate_hz=1000.0, columns=["cell0", "cell1", "cell2", "cell3"]))
        cs = None
        if color:
            w.add_device("camera", kind="depth_camera", description={
                "model": "simulated D435", "depth_scale_m": 0.001,
                "depth": {"intrinsics": D435_DEPTH_848x480.to_dict()},
                "color": {"intrinsics": D435_COLOR_640x480.to_dict()},
                "T_color_from_depth": T_COLOR_FROM_DEPTH_D435.tolist()})
            w.add_calibration("camera_pose", {"source": "simulation (exact)"},
                              arrays={"T_lab_from_depth": T_lab_from_depth})
            cs = w.create_stream("color", kind="color", device="camera", sample_shape=(480, 640, 3),
                                 dtype="uint8", unit="rgb8", frame="camera_color",
                                 nominal_rate_hz=COLOR_FPS, image=True)
        th = EPOCH + t_plate
        for s, cells in zip(force_streams, loads):
            s.append(cells, sequence=np.arange(len(t_plate)), time_device_s=th, time_host_s=th)
        if color:
            from drivers.athlete.render import Renderer
            from drivers.athlete.scene import Scene
            r = Renderer(T_lab_from_depth, scene=Scene(plates=tuple(motion.plates)), shape=motion.body,
                         seed=seed)
            t_col = np.arange(int(np.floor(motion.duration_s * COLOR_FPS)) + 1) / COLOR_FPS
            joints = motion.joints_at(t_col)
            for i in range(len(t_col)):
                cs.append(r.frame(joints[i], "color", i)[None], sequence=np.array([i]),
                          time_device_s=np.array([EPOCH + t_col[i]]),
                          time_host_s=np.array([EPOCH + t_col[i]]))
        w.close(status="complete")
    assert main(["analyze", str(path)]) == 0
    if skeleton:
        write_truth_skeleton(path, motion, rate_hz=30.0)
    return path


def write_truth_skeleton(path: Path, motion, rate_hz: float) -> None:
    """/results/skeleton from the simulated joints, laid out as analyze_skeleton's output."""
    from analysis import kinematics
    from analysis.joints import SIDES
    t = np.arange(int(np.floor(motion.duration_s * rate_hz)) + 1) / rate_hz
    joints = motion.joints_at(t)
    ref = kinematics.static_reference(joints[t <= 0.5])
    curves = kinematics.leg_curves(joints, ref)
    valid = {s: np.ones(len(t), bool) for s in SIDES}
    with open_trial(path) as tr:
        reps = tr.result("force").attrs["reps"]
    reps_out = []
    for rep in reps:
        summ = kinematics.rep_summary(t, curves, valid, rep)
        summ["rep"], summ["kind"] = rep["rep"], rep["kind"]
        reps_out.append(summ)
    arrays = {"time_s": t, "joints_lab_m": joints}
    for side in SIDES:
        for name, y in curves[side].items():
            arrays[f"curve_{side}_{name}"] = y
    arrays["curve_separation_ratio"] = curves["separation_ratio"]
    from analysis.json_ready import json_ready
    write_results(path, "skeleton", arrays=arrays, attrs={"reps": json_ready(reps_out)},
                  settings={"source": "simulated joints (test stand-in for the pose pipeline)"})


class SimTrials:
    """Builds each simulated trial once per test run (rendering color frames is the slow part)
    and hands out copies: `sims(path, kind, **options)`."""

    def __init__(self, folder: Path):
        self.folder, self.made = folder, {}

    def __call__(self, path: Path, kind: str = "dj", **kw) -> Path:
        key = (kind,) + tuple(sorted(kw.items()))
        if key not in self.made:
            self.made[key] = make_sim_trial(self.folder / f"sim{len(self.made)}.h5", kind, **kw)
        shutil.copyfile(self.made[key], path)
        return Path(path)


@pytest.fixture(scope="session")
def sims(tmp_path_factory) -> SimTrials:
    return SimTrials(tmp_path_factory.mktemp("sims"))


def make_session(root: Path, build=make_sim_trial) -> Path:
    """A session folder (station/session.py) with a CMJ with camera + skeleton (valgus on the
    left at landing), a drop jump without camera, and an aborted trial."""
    from station.protocol import load_protocol
    from station.session import Athlete, Session, TrialRecord, Verdict
    s = Session.create(root, Athlete("SIM01", height_m=1.75, dominant_leg="right"),
                       load_protocol("jumps"))
    cmj = build(s.trial_path("cmj", 1), "cmj", valgus_left_deg=16.0, valgus_right_deg=5.0)
    s.add_trial(TrialRecord(cmj.name, "cmj", "cmj", 1, "complete",
                            Verdict(True, tracked=True, synced=True), "2026-01-01T00:00:00+00:00"))
    dj = build(s.trial_path("dj", 1), "dj", color=False, skeleton=False, seed=3, plates=1)
    s.add_trial(TrialRecord(dj.name, "dj", "drop_jump", 1, "complete", Verdict(True),
                            "2026-01-01T00:01:00+00:00"))
    bad = s.trial_path("cmj", 2)
    with TrialWriter(bad, metadata={"athlete_id": "SIM01", "trial_kind": "cmj"}) as w:
        w.add_device("plate1", kind="force_plate", description={})
        st = w.create_stream("plate1", kind="force", device="plate1", sample_shape=(4,),
                             dtype="float64", unit="N", nominal_rate_hz=1000.0)
        st.append(np.full((300, 4), 180.0), sequence=np.arange(300),
                  time_device_s=np.arange(300) / 1e3, time_host_s=np.arange(300) / 1e3)
        w.add_fault(stream="plate1", kind="device_lost", message="plate unplugged", time_host_s=0.3)
        w.close(status="aborted", reason="plate unplugged")
    s.add_trial(TrialRecord(bad.name, "cmj", "cmj", 2, "aborted",
                            Verdict(False, reasons=["plate unplugged"]), "2026-01-01T00:02:00+00:00"))
    return s.folder


@pytest.fixture(scope="module")
def session_report(tmp_path_factory, sims) -> tuple[Path, str]:
    """(report file, the command's output line) of `station report` on a simulated session."""
    folder = make_session(tmp_path_factory.mktemp("data"), sims)
    out = folder / "session.html"
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["report", str(folder), "--out", str(out)]) == 0
    return out, buf.getvalue()


def _pngs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


@pytest.mark.slow
def test_session_report_holds_every_figure_and_table(session_report):
    out, line = session_report
    assert "6 figure(s), 9 table(s), 2 flag(s)" in line
    html = out.read_text(encoding="utf-8")
    pngs = _pngs(html)
    # CMJ: force-time, angle curves, 2 snapshots; drop jump: force-time; aborted trial: force-time
    assert len(pngs) == 6, line
    assert all(p.startswith(b"\x89PNG\r\n\x1a\n") and len(p) > 5000 for p in pngs)
    for alt in ("force-time 01_cmj_1.h5", "dorsiflexion and FPPA curves 01_cmj_1.h5",
                "skeleton snapshot at initial contact 01_cmj_1.h5",
                "skeleton snapshot at peak knee flexion 01_cmj_1.h5", "force-time 02_dj_1.h5"):
        assert f'alt="{alt}"' in html
    for table_id in ("verdicts", "metrics", "left-right", "streams-1", "force-metrics-1",
                     "faults-3"):
        assert f'id="{table_id}"' in html
    # self-contained: nothing fetched from elsewhere
    assert not re.search(r'(src|href)="(http|//|file:)', html)
    # no camera in the drop jump: the report says so
    assert "no camera data in this trial" in html
    # verdicts: the aborted trial is a redo with its reason
    verdicts = html.split('id="verdicts"')[1].split("</table>")[0]
    assert verdicts.count('class="ok"') == 2 and verdicts.count('class="redo"') == 1
    assert "plate unplugged" in verdicts
    # the left knee caves in (16 deg simulated) beyond the men's range and the right one (5 deg)
    # does not; the difference is beyond the smallest detectable change
    lr = html.split('id="left-right"')[1].split("</table>")[0]
    fppa_row = [r for r in lr.split("<tr") if ">fppa_max_deg<" in r][0]
    assert "left peak FPPA" in fppa_row and "above the drop-jump range (men 3-8 deg)" in fppa_row
    assert "right peak FPPA" not in fppa_row.replace("left-right peak FPPA", "")
    assert "smallest detectable change" in lr
    for cite in ("Herrington L, Munro A (2010)", "Munro A, Herrington L, Carolan M (2012)"):
        assert cite in html
    # two plates: force left/right values with their symmetry index
    assert ">peak_landing_force_n<" in lr


def test_trial_report_without_camera_notes_it(tmp_path, capsys, sims):
    p = sims(tmp_path / "cmj.h5", "dj", color=False, skeleton=False, seed=3, plates=1)
    assert main(["report", str(p)]) == 0
    out = tmp_path / "cmj_report.html"     # default name: beside the trial
    html = out.read_text(encoding="utf-8")
    assert len(_pngs(html)) == 1
    assert "no camera data in this trial" in html
    with open_trial(p) as t:
        h = t.result("force").attrs["reps"][0]["jump_height_flight_time_m"]
    assert f"{h:.3f}" in html.split('id="force-metrics-1"')[1].split("</table>")[0]


def test_trial_report_says_how_the_angles_were_made(tmp_path, sims):
    """The skeleton result's method (frontal plane, filter, the landing rule, the contact value's
    precision) and its set-up warnings are listed under the curves, as `station analyze` prints them."""
    from analysis.report.method_notes import result_method_lines
    p = sims(tmp_path / "cmj.h5", "cmj", valgus_left_deg=16.0, valgus_right_deg=5.0)
    with open_trial(p) as t:
        res = t.result("skeleton")
        arrays = {k: np.asarray(v) for k, v in res.arrays.items()}
        attrs = dict(res.attrs)
    attrs.update({
        "frontal_plane": {"source": "the static trial's stance"},
        "filter": {"cutoff_hz": 12.0, "cutoff_source": "the trial kind's default"},
        "landing_joints": {"own_side": False, "chosen_by": "expected depth RMS at the plate centre 27.6 mm"},
        "contact_dorsiflexion_precision": {"line": "one depth frame reads a landing foot's pitch to +-1.5 deg"},
        "camera_setup": {"note": "the camera stood 3.00 m from the plate centre"},
        "bone_length_check": {"notes": ["the measured right shank is 0.60 m"]}})
    write_results(p, "skeleton", arrays=arrays, attrs=attrs, settings={"source": "test"})
    lines = result_method_lines(attrs)
    assert lines[-2:] == ["warning: the camera stood 3.00 m from the plate centre",
                          "warning: the measured right shank is 0.60 m"]
    assert main(["report", str(p)]) == 0
    html = (tmp_path / "cmj_report.html").read_text(encoding="utf-8")
    method = html.split('<ul class="method">')[1].split("</ul>")[0]
    assert method.count("<li") == len(lines) == 6 and method.count('class="warn"') == 2
    for text in ("FPPA&#x27;s frontal plane: the static trial&#x27;s stance", "joints low-passed at 12 Hz",
                 "DF@IC: the depth frames before the contact take the joints from a line across the contact",
                 "DF@IC precision: one depth frame reads a landing foot&#x27;s pitch to +-1.5 deg"):
        assert text in method, text


def test_report_errors_are_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.h5")]) == 2
    assert "no such trial file or session folder" in capsys.readouterr().err
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not a trial")
    assert main(["report", str(junk)]) == 2
    err = capsys.readouterr().err.strip()
    assert "not an HDF5 file" in err and "\n" not in err


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_session_report_renders_in_headless_chromium(session_report, tmp_path):
    out, _ = session_report
    shot = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    profile.mkdir()
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={shot}",
           "--window-size=1200,4000", out.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120)
    assert shot.exists(), "chromium wrote no screenshot"
    import matplotlib.image as mpimg
    img = mpimg.imread(shot)
    assert img.shape[0] == 4000 and img.shape[1] == 1200
    # the page is not blank: dark text and coloured figure pixels over most of its height
    rgb = img[..., :3]
    rows_with_ink = np.mean(rgb.min(axis=2) < 0.5, axis=1) > 0.002
    assert rows_with_ink.mean() > 0.3
    colourful = (rgb.max(axis=2) - rgb.min(axis=2)) > 0.3
    assert colourful.mean() > 0.001

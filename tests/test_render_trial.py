"""Pre-rendering a trial: render_frames fills arrays (or an HDF5 dataset) frame by frame, with
progress, and gives the same frames as rendering them one at a time; the drop-jump scene from
a Motion puts the box where the motion's athlete stands on it."""
from __future__ import annotations

import h5py
import numpy as np

from analysis.joints import JOINT_INDEX
from drivers.athlete.motion import simulate_motion
from drivers.athlete.render import Renderer
from drivers.athlete.scene import Scene
from drivers.camera_model import standard_camera_pose


def test_render_frames_into_hdf5_matches_single_frames(tmp_path):
    m = simulate_motion("squat", seed=2, reps=1)
    seq = m.joints_at(1.5 + np.arange(4) / 90.0)
    r = Renderer(standard_camera_pose("45"), shape=m.body, seed=9, noise_pool=2)
    calls = []
    with h5py.File(tmp_path / "cache.h5", "w") as f:
        ds = f.create_dataset("depth", shape=(4, 480, 848), dtype="uint16")
        r.render_frames(seq, "depth", frame_indices=[10, 11, 12, 13], out=ds,
                        progress=lambda done, total: calls.append((done, total)))
        cached = ds[...]
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    for i in range(4):
        assert np.array_equal(cached[i], r.depth(seq[i], 10 + i))
    col = r.render_frames(seq[:2], "color")
    assert col.shape == (2, 480, 640, 3) and col.dtype == np.uint8
    assert np.array_equal(col[1], r.color(seq[1], 1))


def test_drop_jump_box_under_the_feet():
    m = simulate_motion("dj", seed=1)
    on_box = m.joints_at([0.5])[0]                  # standing on the box before the drop
    scene = Scene.from_motion(m)
    (_, lo, hi), = [b for b in scene.boxes() if b[0] == "box"]
    r = Renderer(standard_camera_pose("45"), shape=m.body, scene=scene)
    truth = r.depth_truth_m(on_box)
    view = r.depth_view
    # the box top beside the heels is seen at the box-top height
    heel = on_box[JOINT_INDEX["right_heel"]]
    p = np.array([hi[0] - 0.02, heel[1], hi[2]])
    u, v = np.rint(view.intr.project(view.to_camera(p))).astype(int)
    back = view.T_lab_from_camera[:3, :3] @ view.intr.deproject(np.array([u, v]), truth[v, u]) \
        + view.T_lab_from_camera[:3, 3]
    assert abs(back[2] - hi[2]) < 1e-6
    # the feet stand on it: sole (heel joint minus foot radius) at the box top
    assert abs(heel[2] - m.body.foot_radius_m - hi[2]) < 0.01

"""VirtualSpec.depth_baseline_m: the virtual trial's depth noise follows the stereo baseline
(render_noise: RMS z^2 * subpixel / (fx * baseline)), so the benches can put a D455's depth noise
(95 mm) on the D435 station (bench_skeleton.py / bench_foot_registration.py --depth-baseline-mm)."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.skeleton.virtual_check import VirtualSpec, _renderer
from drivers.athlete.render_pose import simple_pose_lab


@pytest.mark.parametrize("baseline_m", [0.050, 0.095])
def test_depth_noise_follows_the_baseline(baseline_m):
    r = _renderer(VirtualSpec(kind="static", depth_baseline_m=baseline_m), seed=3)
    pose = simple_pose_lab()
    truth = r.depth(pose, 0, noisy=False).astype(float)
    near = (truth >= 2000) & (truth <= 3000)          # the athlete and the plate, mm
    expected_mm = 1000.0 * np.sqrt(np.mean(r.noise.sigma_m(truth[near] / 1000.0, r.depth_view.intr.fx) ** 2))
    errs = []
    for i in range(3):
        noisy = r.depth(pose, i).astype(float)
        ok = near & (noisy > 0) & (np.abs(noisy - truth) < 5 * expected_mm)   # not holes or edges
        errs.append((noisy - truth)[ok])
    e = np.concatenate(errs)
    assert r.noise.baseline_m == baseline_m
    assert np.sqrt(np.mean(e ** 2)) == pytest.approx(expected_mm, rel=0.15)
    # 2-3 m: ~24 mm RMS with the D435's 50 mm baseline, about half with 95 mm
    assert 18.0 < expected_mm * baseline_m / 0.050 < 30.0


def test_default_spec_is_the_d435():
    assert VirtualSpec().depth_baseline_m == 0.050

"""The skeleton setting `landmarks_cache`: analysing the same colour frames again with other
settings reuses the 2D landmarks instead of running MediaPipe again - and only then: other
estimator options or other frames run the estimator."""
import numpy as np
import pytest

from analysis.skeleton.virtual_check import VirtualSpec, write_virtual_trial
from analysis.skeleton_pipeline import _landmarks_from_trial
from data.trial import open_trial


@pytest.fixture(scope="module")
def two_trials(tmp_path_factory):
    pytest.importorskip("mediapipe")
    d = tmp_path_factory.mktemp("lmcache")
    out = []
    for seed in (0, 1):
        spec = VirtualSpec(kind="static", view="front", seed=seed, color_fps=30.0, depth_fps=30.0,
                           window_s=(0.5, 0.8))
        out.append(write_virtual_trial(d / f"static_{seed}.h5", spec)["path"])
    return out


def _estimate(path, settings):
    timings = {}
    with open_trial(path) as t:
        lm = _landmarks_from_trial(t, settings, timings)
    return lm, timings["pose_2d_s"]


def test_same_frames_reuse_the_landmarks_other_frames_or_options_do_not(two_trials):
    cache = {}
    first, s1 = _estimate(two_trials[0], {"landmarks_cache": cache})
    again, s2 = _estimate(two_trials[0], {"landmarks_cache": cache, "refine": {"multi_start": False}})
    assert again is first and s2 == 0.0 and s1 > 0.0 and len(cache) == 1
    other, s3 = _estimate(two_trials[1], {"landmarks_cache": cache})        # other noise, frames
    assert s3 > 0.0 and len(cache) == 2
    assert not np.allclose(other.xy_px, first.xy_px, equal_nan=True)
    opts, s4 = _estimate(two_trials[0], {"landmarks_cache": cache,
                                         "estimator_options": {"smooth_landmarks": False}})
    assert s4 > 0.0 and len(cache) == 3
    fresh, _ = _estimate(two_trials[0], {})                                   # no cache: as before
    np.testing.assert_array_equal(fresh.xy_px, first.xy_px)

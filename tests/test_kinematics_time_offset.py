"""Which camera->plate time offset the kinematics use (station/commands/analyze.trial_time_offset):
the capture session's sync result written into the trial, the session clock fit's value first;
a sync that did not pass is never used; without any, the kinematics say they are unsynced."""
from __future__ import annotations

import pytest

from data.trial import open_trial, write_results
from station.commands.analyze import trial_time_offset


def _offset(path):
    with open_trial(path) as t:
        return trial_time_offset(t)


def test_no_sync_means_unsynced_and_says_so(small_trial_file):
    offset, source = _offset(small_trial_file)
    assert offset is None and source.startswith("none")


def test_a_passed_sync_is_used(small_trial_file):
    write_results(small_trial_file, "sync", attrs={"ok": True, "offset_s": 0.0412,
                                                   "method": "event:stomp"})
    offset, source = _offset(small_trial_file)
    assert offset == pytest.approx(0.0412) and "event:stomp" in source


def test_a_failed_sync_is_not_used(small_trial_file):
    write_results(small_trial_file, "sync", attrs={"ok": False, "offset_s": 0.013,
                                                   "why": "correlation 0.5"})
    assert _offset(small_trial_file)[0] is None


def test_the_session_clock_fit_wins_over_the_trial_own_value(small_trial_file):
    write_results(small_trial_file, "sync", attrs={"ok": True, "offset_s": 0.0412,
                                                   "offset_applied_s": 0.0405,
                                                   "source": "session clock fit"})
    offset, source = _offset(small_trial_file)
    assert offset == pytest.approx(0.0405) and "session clock fit" in source

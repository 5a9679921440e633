"""`station demo`'s closing sync check (station/commands/demo.sync_check_lines): the session
line's largest error against the injected camera offset, and against the offset that aligns the
frames with the recorded plate samples when the trials carry it."""
from station.commands.demo import sync_check_lines


def test_both_errors_are_printed_with_the_plate_lateness():
    syncs = [
        {"offset_applied_s": 0.0450, "truth_offset_s": 0.0430, "truth_plate_host_error_s": 0.0009,
         "truth_alignment_offset_s": 0.0439},
        {"offset_applied_s": 0.0500, "truth_offset_s": 0.0490, "truth_plate_host_error_s": 0.0014,
         "truth_alignment_offset_s": 0.0504},
        {"offset_s": 0.05},                       # not in the session fit: not counted
    ]
    lines = sync_check_lines(syncs)
    assert lines[0] == ("time sync vs the injected camera offset: max error 2.0 ms over the 2 "
                        "trials of the session fit")
    assert "host times are 0.9 to 1.4 ms late): max error 1.1 ms" in lines[1]


def test_without_the_plate_truth_only_the_injected_offset_is_compared():
    lines = sync_check_lines([{"offset_applied_s": 0.041, "truth_offset_s": 0.040}])
    assert len(lines) == 1 and "max error 1.0 ms over the 1 trials" in lines[0]


def test_a_session_without_truth_prints_nothing():
    assert sync_check_lines([{"offset_applied_s": 0.041}, {}]) == []

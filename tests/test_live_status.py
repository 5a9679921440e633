import io

import numpy as np

from station.live_status import LiveStatus, StatusDisplay, render_status, sparkline


def test_status_block_shows_what_the_technician_needs():
    s = LiveStatus(step="cmj 2/3", prompt="Jump as high as you can", state="recording",
                   camera_fps=89.7, camera_nominal_fps=90, camera_drops=1, plate_rate_hz=1000.2,
                   plate_nominal_hz=1000, plate_lost=0, force_trace_n=np.r_[np.full(50, 700.0), np.zeros(20)],
                   body_weight_n=706.3, athlete_in_view=True, sync_ms=1.4, message="", last_result="")
    text = "\n".join(render_status(s, 80))
    for fragment in ("RECORDING", "cmj 2/3", "Jump as high", "89.7 fps", "drops 1", "1000.2 Hz",
                     "lost 0", "706 N (72.0 kg)", "in view: yes", "sync 1.4 ms"):
        assert fragment in text
    assert "█" not in sparkline(np.zeros(5), 5) and sparkline(np.array([0, 10.0]), 2, 10)[-1] == "█"


def test_non_terminal_output_is_a_log_line():
    out = io.StringIO()
    StatusDisplay(out).show(LiveStatus(step="weigh", state="recording", plate_rate_hz=999.0,
                                       plate_nominal_hz=1000, message="plate stalled"), force=True)
    line = out.getvalue()
    assert line.count("\n") == 1 and "weigh: recording" in line and "plate stalled" in line

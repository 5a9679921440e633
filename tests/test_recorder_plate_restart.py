"""Between trials the recorder stops and restarts the plate's stream: samples of the previous
stream still buffered when the next one starts must not leak into it (drivers/force_plate.py
ForcePlate.start drops them), and the virtual plate tells where its current stream starts
(stream_t0_device_s) and which sample comes next (sequence). Real pty, real driver."""
import time

import numpy as np

from drivers.force_plate import ForcePlate
from drivers.virtual_plate import VirtualPlate, stand_source


def test_restart_drops_the_previous_streams_tail():
    with VirtualPlate(stand_source(75.0), seed=6) as vp:
        plate = ForcePlate(vp.port)
        try:
            plate.start()
            time.sleep(0.5)                 # a stream nobody reads to its end (a trial that
            plate.stop()                    # stopped reading before the device stopped)
            time.sleep(0.3)
            seq_end = vp.sequence
            stale_before = plate.stale_packets
            plate.start()
            t0_dev = vp.stream_t0_device_s
            b = plate.read_until(200, timeout=5.0)
            assert len(b) >= 200
            # only the new stream: it starts at the device time of its START, counts from its
            # first sample without gaps, and the old tail was counted as stale
            assert b.time_device_s[0] >= t0_dev - 1e-6      # the wire carries whole microseconds
            assert np.all(np.diff(b.sequence) == 1)
            assert plate.stale_packets > stale_before
            assert vp.sequence >= vp.start_sequence + len(b)
            assert seq_end >= 400
        finally:
            plate.close()

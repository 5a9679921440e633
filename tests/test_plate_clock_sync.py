"""Device -> host clock fit: lower envelope of arrival - device time, with jitter and stalls."""
import numpy as np

from drivers.clock_sync import ClockSync, fit_clock


def _simulate(seconds=60.0, rate=1000.0, offset=1.7e9, drift_ppm=50.0, seed=0, stall_at=None):
    """Reads of a few samples each; latency = 0.1 ms floor + exponential (mean 1.5 ms), with 5%
    of reads late by up to 9 ms (a loaded machine, STATION.md)."""
    rng = np.random.default_rng(seed)
    dev = 100.0 + np.arange(int(seconds * rate)) / rate            # device clock, s
    true_host = offset + dev * (1 + drift_ppm * 1e-6)
    lat = 1e-4 + rng.exponential(1.5e-3, dev.size)
    late = rng.random(dev.size) < 0.05
    lat[late] += rng.uniform(0, 9e-3, late.sum())
    if stall_at is not None:                                         # 2 s of samples held, then a burst
        s = (dev > dev[0] + stall_at) & (dev < dev[0] + stall_at + 2.0)
        lat[s] = (dev[0] + stall_at + 2.0) - dev[s] + 1e-3
    arrival = np.maximum.accumulate(true_host + lat)                 # bytes arrive in order
    return dev, true_host, arrival


def _feed_reads(cs, dev, arrival, seed=1):
    """Reads of 1..11 samples; each read gives one pair: its newest sample and its arrival."""
    ends = np.cumsum(np.random.default_rng(seed).integers(1, 12, dev.size))
    for j in ends[ends <= dev.size]:
        cs.add(float(dev[j - 1]), float(arrival[j - 1]))


def test_online_fit_recovers_offset_and_50ppm_drift_within_1ms():
    dev, true_host, arrival = _simulate()
    cs = ClockSync()
    _feed_reads(cs, dev, arrival)
    err = cs.to_host(dev) - true_host
    assert np.abs(err[-5000:]).max() < 1e-3                 # mapping within 1 ms (recent data)
    assert abs(cs.drift_ppm - 50.0) < 5.0
    assert cs.residual_ms < 1.0
    # naive arrival times are off by the jitter: the fit must be much better than them
    assert np.abs(arrival - true_host).max() > 5e-3


def test_fit_ignores_a_stall_burst():
    dev, true_host, arrival = _simulate(seconds=30, stall_at=10.0, drift_ppm=-50.0, seed=3)
    cs = ClockSync()
    _feed_reads(cs, dev, arrival, seed=4)
    err = cs.to_host(dev) - true_host
    assert np.abs(err).max() < 1e-3
    assert abs(cs.drift_ppm + 50.0) < 5.0


def test_offline_fit_over_a_whole_recording():
    dev, true_host, arrival = _simulate(seconds=20, seed=5)
    cs = fit_clock(dev, arrival)
    assert np.abs(cs.to_host(dev) - true_host).max() < 1e-3


def test_before_any_window_closes_the_offset_is_the_least_delay():
    cs = ClockSync()
    cs.add([1.0, 1.001, 1.002, 2.5, 3.5], [11.005, 11.0011, 11.009, 12.6, 13.7])
    assert abs(float(cs.to_host(1.001)) - 11.0011) < 1e-9
    assert cs.drift_ppm == 0.0

"""Appending to one raw stream of a trial being written (see data/trial_writer.py).

Image frames go to the file at once (compressed, one frame per chunk); times, sequence numbers
and numeric samples are gathered in memory and written in blocks when the trial flushes (at least
every second) or when ~2 s of samples are waiting (then only the samples; their times wait for
the flush, which puts data on disk before the times that make readers count it). A write error (full disk) raises
data.trial_errors.TrialWriteError and marks the trial failed (see data/trial_writer.py). Data is written before its times, so a reader,
which counts the shortest dataset of a stream, never sees times without their samples.
"""
from __future__ import annotations

import h5py
import numpy as np


class StreamWriter:
    """Appends samples of one stream. Obtained from TrialWriter.create_stream."""

    def __init__(self, trial: "TrialWriter", group: h5py.Group, name: str, sample_shape: tuple,
                 dtype: np.dtype, image: bool):
        self._trial = trial
        self._group = group
        self.name = name
        self.sample_shape = tuple(sample_shape)
        self.dtype = np.dtype(dtype)
        self.image = image
        self._data = group["data"]
        self._sequence = group["sequence"]
        self._time_device = group["time_device_s"]
        self._time_host = group["time_host_s"]
        self._time_arrival = group["time_arrival_s"]
        self.count = 0                 # samples appended
        self._rows_written = 0         # rows of times in the file
        self._data_written = 0         # rows of data (image frames, numeric samples) in the file
        self._pending: list = []       # (seq, td, th, ta) blocks whose times are not written yet
        self._pending_rows = 0
        self._pending_data: list = []  # numeric sample blocks not written yet
        # Write out at least every ~2 s of samples even between flushes (bounded memory).
        rate = float(group.attrs.get("nominal_rate_hz", np.nan))
        self._max_pending_rows = max(64, int(2 * rate)) if rate > 0 else 2048

    def __len__(self) -> int:
        return self.count

    def _as_samples(self, data) -> np.ndarray:
        arr = np.asarray(data)
        if arr.shape == self.sample_shape:
            arr = arr[np.newaxis]
        if arr.shape[1:] != self.sample_shape:
            raise ValueError(f"stream {self.name!r}: samples of shape {arr.shape} do not match "
                             f"(n, {', '.join(map(str, self.sample_shape))})")
        if arr.dtype != self.dtype:
            if not np.can_cast(arr.dtype, self.dtype, casting="safe"):
                ok = (arr.dtype.kind in "iu" and self.dtype.kind in "iu" and arr.size
                      and np.iinfo(self.dtype).min <= arr.min() and arr.max() <= np.iinfo(self.dtype).max)
                if not ok and not (arr.size == 0):
                    raise ValueError(f"stream {self.name!r}: samples of dtype {arr.dtype} cannot be "
                                     f"stored as {self.dtype} without loss")
            arr = arr.astype(self.dtype)
        return arr

    def _as_column(self, what: str, values, n: int, dtype) -> np.ndarray:
        arr = np.asarray(values, dtype=dtype).reshape(-1)
        if arr.shape[0] != n:
            raise ValueError(f"stream {self.name!r}: {what} has {arr.shape[0]} values for {n} samples")
        return arr

    def append(self, samples, sequence, time_device_s, time_host_s, time_arrival_s=None) -> None:
        """Append n samples (n, *sample_shape) (or one sample of sample_shape) with their
        sequence numbers (device counter / frame number), device-clock times and host-clock
        times (s since the Unix epoch), and optionally host arrival times.

        Image frames go to the file at once; times, sequence numbers and numeric samples are
        gathered in memory and written in blocks at each flush (at least every second), which
        keeps the per-append cost low. len(stream) in a reader counts only complete samples."""
        arr = self._as_samples(samples)
        n = arr.shape[0]
        if n == 0:
            return
        seq = self._as_column("sequence", sequence, n, np.int64)
        td = self._as_column("time_device_s", time_device_s, n, np.float64)
        th = self._as_column("time_host_s", time_host_s, n, np.float64)
        ta = (np.full(n, np.nan) if time_arrival_s is None
              else self._as_column("time_arrival_s", time_arrival_s, n, np.float64))
        trial = self._trial
        if not trial._started:
            trial.start()
        with trial._lock:
            trial._check_open()
            with trial._writing():       # a write error marks the trial failed (TrialWriteError)
                self._append_locked(arr, n, seq, td, th, ta)

    def _append_locked(self, arr, n, seq, td, th, ta) -> None:
        trial = self._trial
        if self.image:
            start, stop = self._data_written, self._data_written + n
            self._data.resize((stop,) + self.sample_shape)
            if n == 1:
                self._data[start] = arr[0]
            else:
                self._data[start:stop] = arr
            self._data_written = stop
        else:
            self._pending_data.append(np.array(arr, copy=True))
        self._pending.append((seq, td, th, ta))
        self._pending_rows += n
        self.count += n
        trial._dirty = True
        if len(self._pending_data) and self._data_pending_rows() >= self._max_pending_rows:
            # bounded memory between flushes; a live writer keeps the times for the next flush
            # (see _write_pending_times), an offline one writes them too
            self._write_pending_data()
            if not trial.live:
                self._write_pending_times()
        if trial._flush_due():
            trial._flush_locked()

    def _data_pending_rows(self) -> int:
        return self.count - self._data_written

    def _write_pending(self) -> None:
        """Write everything gathered: data, then times (caller holds the trial lock)."""
        self._write_pending_data()
        self._write_pending_times()

    def _write_pending_data(self) -> None:
        """Write the gathered numeric samples (image frames are written at append)."""
        if not self._pending_data:
            return
        block = (np.concatenate(self._pending_data) if len(self._pending_data) > 1
                 else self._pending_data[0])
        start, stop = self._data_written, self._data_written + block.shape[0]
        self._data.resize((stop,) + self.sample_shape)
        self._data[start:stop] = block
        self._data_written = stop
        self._pending_data = []

    def _write_pending_times(self) -> None:
        """Write the gathered sequence numbers and times. A live writer calls this only after
        the data of the same samples reached the file (TrialWriter._flush_locked flushes data
        first), so a reader, which counts the shortest dataset of a stream, never counts a
        sample whose data is not on disk - even when a flush fails half-way (full disk)."""
        if not self._pending:
            return
        start, stop = self._rows_written, self._rows_written + self._pending_rows
        for i, ds in enumerate((self._sequence, self._time_device, self._time_host, self._time_arrival)):
            values = (np.concatenate([p[i] for p in self._pending]) if len(self._pending) > 1
                      else self._pending[0][i])
            ds.resize((stop,))
            ds[start:stop] = values
        self._rows_written = stop
        self._pending = []
        self._pending_rows = 0

"""Limit the bundled OpenBLAS libraries to one thread while the per-frame fit runs.

The fit solves thousands of tiny (~130 x 54) least-squares problems; multi-threaded BLAS on such
sizes only adds synchronisation, and on a loaded 2-core machine it made the fit ten times slower
(measured: 25 ms vs 2.5 ms per residual+Jacobian evaluation). This does what threadpoolctl does
(not installed here) for OpenBLAS only: find the loaded libopenblas* in /proc/self/maps and call
its set_num_threads. Without /proc or OpenBLAS it does nothing.
"""
from __future__ import annotations

import ctypes
from contextlib import contextmanager


def _openblas_libs():
    libs = []
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f
                     if "openblas" in line.lower() and line.rstrip().endswith(".so") or ".so." in line and "openblas" in line.lower()}
    except OSError:
        return libs
    for p in sorted(paths):
        try:
            lib = ctypes.CDLL(p)
        except OSError:
            continue
        get = set_ = None
        for prefix in ("openblas", "scipy_openblas"):
            for suffix in ("", "64_", "_64"):
                if hasattr(lib, f"{prefix}_get_num_threads{suffix}"):
                    get = getattr(lib, f"{prefix}_get_num_threads{suffix}")
                    set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}")
                    break
            if get is not None:
                break
        if get is not None:
            libs.append((get, set_))
    return libs


@contextmanager
def single_thread_blas():
    libs = _openblas_libs()
    before = [get() for get, _ in libs]
    for _, set_ in libs:
        set_(1)
    try:
        yield
    finally:
        for (_, set_), n in zip(libs, before):
            set_(n)

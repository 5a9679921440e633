"""The trial file API (one HDF5 file per trial; schema in data/SCHEMA.md, data/schema.py).

    from data.trial import (TrialWriter, open_trial, TrialError, TrialWriteError, validate_trial,
                            write_results, recover_trial)

Importing this module registers the HDF5 compression filters (hdf5plugin) that image streams need.
"""
from __future__ import annotations

import hdf5plugin  # noqa: F401  (Blosc filter for image streams; readers need it too)

from data.schema import FORMAT_NAME, SCHEMA_VERSION
from data.trial_errors import TrialError, TrialWriteError
from data.trial_reader import Entry, Fault, Stream, Trial, open_trial
from data.trial_recover import recover_trial
from data.trial_results import write_results
from data.trial_validate import validate_trial
from data.trial_writer import StreamWriter, TrialWriter

__all__ = ["TrialWriter", "StreamWriter", "open_trial", "Trial", "Stream", "Entry", "Fault",
           "TrialError", "TrialWriteError", "recover_trial", "validate_trial", "write_results", "FORMAT_NAME", "SCHEMA_VERSION"]

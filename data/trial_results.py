"""Writing derived results into a finished trial: /results/<name> is replaced as a whole;
nothing else in the file (raw streams above all) is touched."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401

from data.h5_tree import write_attrs, write_tree
from data.trial_errors import TrialError
from data.trial_open import check_trial_identity, open_h5
from data.trial_writer import _check_name, _software_version, utc_now_iso


def write_results(path, name: str, arrays: dict | None = None, attrs: dict | None = None,
                  settings: dict | None = None) -> None:
    """Replace /results/<name> with `arrays` (name -> array, nested dicts = sub-groups), `attrs`
    and the analysis `settings` (stored as JSON), plus software_version and created_utc."""
    _check_name("results", name)
    p = Path(path)
    f, swmr = open_h5(p)          # clear errors for missing / not HDF5 / truncated / foreign files
    try:
        check_trial_identity(f, p)
    finally:
        f.close()
    if swmr:
        raise TrialError(f"{p}: the trial is still being written (or its writer was killed); "
                         f"results go into finished trials only")
    try:
        f = h5py.File(p, "r+")
    except OSError as exc:
        raise TrialError(f"{p}: cannot open for writing results ({' '.join(str(exc).split())})") from None
    try:
        results = f.require_group("results")
        if name in results:
            del results[name]
        g = results.create_group(name)
        write_attrs(g, attrs or {})
        g.attrs["settings"] = json.dumps(settings or {})
        g.attrs["software_version"] = _software_version()
        g.attrs["created_utc"] = utc_now_iso()
        write_tree(g, arrays or {})
    finally:
        f.close()

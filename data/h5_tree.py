"""Attributes and nested arrays <-> HDF5 groups, the same way everywhere in a trial file.

Attribute values: str, bool, int, float, None ("" in the file), lists of numbers or strings
(arrays), numpy arrays and scalars. Dicts (and nested lists) are stored as JSON strings and the
attribute's name is listed in the object's `json_attrs` attribute, so that reading gives the dict
back. Arrays: a dict of name -> array, where a value may itself be a dict (a sub-group).
"""
from __future__ import annotations

import json

import h5py
import numpy as np

from data.schema import JSON_ATTRS_LIST

STR_DTYPE = h5py.string_dtype("utf-8")


def _is_json_value(value) -> bool:
    if isinstance(value, dict):
        return True
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, (dict, list, tuple)) for v in value) or (
            len(value) > 0 and len({type(v) for v in value}) > 1
            and not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
    return False


def attr_value(value):
    """A Python value -> what h5py stores. Raises TypeError for values it cannot store."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return np.bool_(value)
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    if isinstance(value, (float, np.floating)):
        return np.float64(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "US" or value.dtype == object:
            return np.array([str(v) for v in value.ravel()], dtype=STR_DTYPE)
        return value
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, str) for v in value):
            return np.array(list(value), dtype=STR_DTYPE)
        return np.asarray(value)
    raise TypeError(f"cannot store {type(value).__name__} as an HDF5 attribute")


def write_attrs(obj, attrs: dict) -> None:
    """Set attributes on an h5py group/dataset; dicts and nested lists become JSON strings."""
    json_names = set(read_json_names(obj))
    for key, value in attrs.items():
        if _is_json_value(value):
            obj.attrs[key] = json.dumps(value, default=_json_default)
            json_names.add(key)
        else:
            try:
                obj.attrs[key] = attr_value(value)
            except TypeError as exc:
                raise TypeError(f"{obj.name}: attribute {key!r}: {exc}") from None
            json_names.discard(key)
    if json_names or JSON_ATTRS_LIST in obj.attrs:
        obj.attrs[JSON_ATTRS_LIST] = np.array(sorted(json_names), dtype=STR_DTYPE)


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


def read_json_names(obj) -> list[str]:
    if JSON_ATTRS_LIST not in obj.attrs:
        return []
    return [to_str(v) for v in np.atleast_1d(obj.attrs[JSON_ATTRS_LIST])]


def to_str(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def python_value(value):
    """What h5py returns -> plain Python (str, int, float, bool, list, or numpy array)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OS":
            return [to_str(v) for v in value.ravel()]
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def read_attrs(obj) -> dict:
    """All attributes of an h5py object as plain Python; JSON attrs decoded."""
    json_names = set(read_json_names(obj))
    out = {}
    for key in obj.attrs:
        if key == JSON_ATTRS_LIST:
            continue
        value = python_value(obj.attrs[key])
        if key in json_names and isinstance(value, str):
            value = json.loads(value)
        out[key] = value
    return out


def write_tree(group, arrays: dict) -> None:
    """Write a dict of name -> array (or nested dict -> sub-group) under an h5py group."""
    for name, value in arrays.items():
        if isinstance(value, dict):
            write_tree(group.require_group(name), value)
            continue
        arr = np.asarray(value)
        if arr.dtype.kind == "U" or arr.dtype == object:
            arr = np.array([str(v) for v in arr.ravel()], dtype=STR_DTYPE).reshape(arr.shape)
        group.create_dataset(name, data=arr)


def read_tree(group) -> dict:
    """The datasets under an h5py group as numpy arrays (sub-groups as nested dicts)."""
    out = {}
    for name, item in group.items():
        if isinstance(item, h5py.Group):
            out[name] = read_tree(item)
        else:
            value = item[()]
            if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
                value = np.array([to_str(v) for v in value.ravel()], dtype=object).reshape(value.shape)
            elif isinstance(value, bytes):
                value = value.decode("utf-8")
            out[name] = value
    return out

"""Capture protocols as files a lab can edit (YAML). See station/protocols/full.yaml.

A mistake in a protocol file is reported with the file, the line and the field, e.g.
    full.yaml line 31, step 'cmj', field 'trials': expected a whole number >= 1, got 'three'
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from station.errors import UserError

KINDS = ("stand", "static", "squat", "single-leg-squat", "cmj", "sj", "dj")
STARTS = ("immediate", "step_on", "still")
STOPS = ("duration", "stable_after_landing", "reps_done")
CHECKS = ("complete", "tracked", "synced", "quiet")
SYNC_EVENTS = ("stomp", "landing")      # calibration/event_sync.py
BUILT_IN = ("full", "jumps", "squats")


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    instruction: str
    trials: int = 1
    reps: int = 1
    side: str | None = None
    start: str = "still"
    stop: str = "stable_after_landing"
    duration_s: float = 3.0
    timeout_s: float = 30.0
    rest_s: float = 0.0
    box_height_m: float | None = None
    sync_event: str | None = None        # stomp | landing: an event both devices see (time sync)
    checks: tuple = ("complete",)
    line: int = 0


@dataclass(frozen=True)
class Protocol:
    name: str
    description: str
    steps: tuple
    source: str

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "source": self.source,
                "steps": [{k: v for k, v in s.__dict__.items() if k != "line"} for s in self.steps]}


class ProtocolError(UserError):
    pass


def _where(source: str, node, step_id: str | None = None, field_name: str | None = None) -> str:
    text = f"{source} line {node.start_mark.line + 1}"
    if step_id:
        text += f", step '{step_id}'"
    if field_name:
        text += f", field '{field_name}'"
    return text


def _scalar(node):
    """Python value of a YAML scalar node (types resolved as YAML would)."""
    return yaml.safe_load(yaml.serialize(node)) if isinstance(node, yaml.ScalarNode) else None


# field -> (check, description of what is expected)
def _positive_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _non_negative_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0


def _positive_number(v):
    return _non_negative_number(v) and v > 0


_FIELDS = {
    "id": (lambda v: isinstance(v, str) and v.strip() != "", "a non-empty name"),
    "kind": (lambda v: v in KINDS, "one of " + ", ".join(KINDS)),
    "instruction": (lambda v: isinstance(v, str) and v.strip() != "", "a sentence for the athlete"),
    "trials": (_positive_int, "a whole number >= 1"),
    "reps": (_positive_int, "a whole number >= 1"),
    "side": (lambda v: v in ("left", "right"), "left or right"),
    "start": (lambda v: v in STARTS, "one of " + ", ".join(STARTS)),
    "stop": (lambda v: v in STOPS, "one of " + ", ".join(STOPS)),
    "duration_s": (_positive_number, "a number of seconds > 0"),
    "timeout_s": (_positive_number, "a number of seconds > 0"),
    "rest_s": (_non_negative_number, "a number of seconds >= 0"),
    "box_height_m": (lambda v: _positive_number(v) and v < 1.5, "a height in metres between 0 and 1.5"),
    "sync_event": (lambda v: v in SYNC_EVENTS, "one of " + ", ".join(SYNC_EVENTS)),
}


def parse_protocol(text: str, source: str = "<protocol>") -> Protocol:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise ProtocolError(f"{source}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(root, yaml.MappingNode):
        raise ProtocolError(f"{source}: a protocol is a mapping with 'name' and 'steps'")
    top = {k.value: v for k, v in root.value}
    for key in top:
        if key not in ("name", "description", "steps"):
            raise ProtocolError(f"{_where(source, next(k for k, _ in root.value if k.value == key))}, "
                                f"field '{key}': unknown field (expected name, description, steps)")
    if "name" not in top:
        raise ProtocolError(f"{source} line 1, field 'name': missing")
    name = _scalar(top["name"])
    steps_node = top.get("steps")
    if not isinstance(steps_node, yaml.SequenceNode) or not steps_node.value:
        node = steps_node or root
        raise ProtocolError(f"{_where(source, node)}, field 'steps': expected a list of at least one step")
    steps, seen = [], set()
    for step_node in steps_node.value:
        steps.append(_parse_step(step_node, source, seen))
    description = _scalar(top["description"]) if "description" in top else ""
    return Protocol(name=str(name), description=str(description or ""), steps=tuple(steps), source=source)


def _parse_step(node, source: str, seen: set) -> Step:
    if not isinstance(node, yaml.MappingNode):
        raise ProtocolError(f"{_where(source, node)}: a step is a mapping of fields (id, kind, ...)")
    fields = {k.value: (k, v) for k, v in node.value}
    step_id = _scalar(fields["id"][1]) if "id" in fields else None
    values = {"line": node.start_mark.line + 1}
    for key, (key_node, value_node) in fields.items():
        if key == "checks":
            if not isinstance(value_node, yaml.SequenceNode):
                raise ProtocolError(f"{_where(source, value_node, step_id, key)}: expected a list of "
                                    + ", ".join(CHECKS))
            checks = []
            for item in value_node.value:
                v = _scalar(item)
                if v not in CHECKS:
                    raise ProtocolError(f"{_where(source, item, step_id, key)}: unknown check {v!r} "
                                        f"(expected {', '.join(CHECKS)})")
                checks.append(v)
            values["checks"] = tuple(checks)
            continue
        if key not in _FIELDS:
            raise ProtocolError(f"{_where(source, key_node, step_id, key)}: unknown field "
                                f"(expected {', '.join(list(_FIELDS) + ['checks'])})")
        check, expected = _FIELDS[key]
        v = _scalar(value_node)
        if not check(v):
            raise ProtocolError(f"{_where(source, value_node, step_id, key)}: expected {expected}, got {v!r}")
        values[key] = float(v) if key.endswith(("_s", "_m")) else v
    for required in ("id", "kind", "instruction"):
        if required not in values:
            raise ProtocolError(f"{_where(source, node, step_id, required)}: missing")
    if values["id"] in seen:
        raise ProtocolError(f"{_where(source, fields['id'][1], step_id, 'id')}: used by an earlier step")
    seen.add(values["id"])
    if values["kind"] == "single-leg-squat" and "side" not in values:
        raise ProtocolError(f"{_where(source, node, step_id, 'side')}: a single-leg squat needs side: left or right")
    if values["kind"] == "dj" and "box_height_m" not in values:
        raise ProtocolError(f"{_where(source, node, step_id, 'box_height_m')}: a drop jump needs the box height")
    event = values.get("sync_event")
    if event == "stomp" and values["kind"] == "dj":
        raise ProtocolError(f"{_where(source, fields['sync_event'][1], step_id, 'sync_event')}: a drop "
                            "jump starts on the box, off the plate: use sync_event: landing")
    if event == "landing" and values["kind"] not in ("cmj", "sj", "dj"):
        raise ProtocolError(f"{_where(source, fields['sync_event'][1], step_id, 'sync_event')}: a "
                            f"{values['kind']} has no landing: use sync_event: stomp")
    return Step(**values)


def load_protocol(name_or_path: str) -> Protocol:
    """A built-in protocol by name (full, jumps, squats) or a YAML file by path."""
    path = Path(name_or_path)
    if name_or_path in BUILT_IN and not path.exists():
        text = resources.files("station.protocols").joinpath(f"{name_or_path}.yaml").read_text()
        return parse_protocol(text, f"{name_or_path}.yaml")
    if not path.is_file():
        raise ProtocolError(f"protocol {name_or_path!r} not found: give a file path or one of "
                            + ", ".join(BUILT_IN))
    return parse_protocol(path.read_text(encoding="utf-8"), path.name)

"""Protocols are files a lab can edit; a mistake names the line and the field."""
import pytest

from station.protocol import BUILT_IN, ProtocolError, load_protocol, parse_protocol


def test_built_in_protocols_load():
    full = load_protocol("full")
    assert [s.kind for s in full.steps] == ["stand", "static", "squat", "single-leg-squat",
                                            "single-leg-squat", "cmj", "dj"]
    assert {s.side for s in full.steps if s.kind == "single-leg-squat"} == {"left", "right"}
    dj = full.steps[-1]
    assert dj.trials == 3 and dj.box_height_m == pytest.approx(0.30)
    for name in BUILT_IN:
        assert load_protocol(name).steps


def test_edited_protocol_file_loads(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nsteps:\n  - {id: j, kind: cmj, instruction: Jump, trials: 2}\n")
    p = load_protocol(str(path))
    assert p.name == "mine" and p.steps[0].trials == 2 and p.steps[0].line == 3


@pytest.mark.parametrize("bad, line, fragment", [
    ("  - {id: j, kind: cmj, instruction: Jump, trials: three}", 3, "field 'trials'"),
    ("  - {id: j, kind: hop, instruction: Jump}", 3, "field 'kind'"),
    ("  - {id: j, kind: cmj, instruction: Jump, tirals: 2}", 3, "field 'tirals': unknown field"),
    ("  - {id: j, kind: cmj}", 3, "field 'instruction': missing"),
    ("  - {id: j, kind: dj, instruction: Drop}", 3, "field 'box_height_m'"),
    ("  - {id: j, kind: cmj, instruction: Jump, checks: [tracked, fast]}", 3, "unknown check 'fast'"),
])
def test_mistakes_name_line_and_field(bad, line, fragment):
    with pytest.raises(ProtocolError) as err:
        parse_protocol("name: x\nsteps:\n" + bad + "\n", "lab.yaml")
    message = str(err.value)
    assert message.startswith(f"lab.yaml line {line}") and fragment in message


def test_duplicate_step_and_bad_yaml():
    text = "name: x\nsteps:\n  - {id: a, kind: cmj, instruction: J}\n  - {id: a, kind: sj, instruction: S}\n"
    with pytest.raises(ProtocolError, match="line 4, step 'a', field 'id': used by an earlier step"):
        parse_protocol(text, "p.yaml")
    with pytest.raises(ProtocolError, match="p.yaml line 3: not valid YAML"):
        parse_protocol("name: x\nsteps: [\n", "p.yaml")


def test_unknown_protocol_name():
    with pytest.raises(ProtocolError, match="not found"):
        load_protocol("no-such-protocol")

"""Session folders: one file per attempt, never overwritten, session file always readable."""
import json
from datetime import datetime, timezone

import pytest

from station.errors import UserError
from station.protocol import load_protocol
from station.session import Athlete, Session, TrialRecord, Verdict, load_session


def _record(path, step="cmj", ok=True):
    return TrialRecord(file=path.name, step=step, kind="cmj", attempt=1,
                       status="complete" if ok else "aborted",
                       verdict=Verdict(complete=ok, tracked=True, synced=ok,
                                       reasons=[] if ok else ["camera unplugged"]),
                       started_utc="2026-11-27T10:00:00+00:00", key_numbers={"jump_height_m": 0.31})


def test_sessions_get_new_folders_and_trials_new_files(tmp_path):
    now = datetime(2026, 11, 27, 10, tzinfo=timezone.utc)
    athlete = Athlete("A01", height_m=1.78, dominant_leg="right")
    s1 = Session.create(tmp_path, athlete, load_protocol("jumps"), now)
    s2 = Session.create(tmp_path, athlete, load_protocol("jumps"), now)
    assert s1.folder.name == "2026-11-27_1" and s2.folder.name == "2026-11-27_2"
    p1 = s1.trial_path("cmj", 1)
    p1.write_bytes(b"x")                        # a file already there is never reused
    s1.add_trial(_record(p1))
    p2 = s1.trial_path("cmj", 2)
    assert p2 != p1 and not p2.exists()
    s1.add_trial(_record(p2, ok=False))
    data = load_session(s1.folder)
    assert [t["verdict"]["ok"] for t in data["trials"]] == [True, False]
    assert data["trials"][1]["verdict"]["reasons"] == ["camera unplugged"]
    assert data["athlete"]["id"] == "A01" and data["protocol"]["name"] == "jumps"


def test_verdict_labels():
    assert Verdict(complete=True, tracked=True, synced=None).ok
    v = Verdict(complete=True, tracked=False, reasons=["left knee hidden at initial contact"])
    assert not v.ok and v.label() == "redo: left knee hidden at initial contact"


@pytest.mark.parametrize("kwargs, fragment", [
    ({"id": "../etc"}, "not usable as a folder name"),
    ({"id": "A1", "dominant_leg": "up"}, "dominant leg"),
    ({"id": "A1", "height_m": 178}, "implausible"),
])
def test_bad_athlete_records(kwargs, fragment):
    with pytest.raises(UserError, match=fragment):
        Athlete(**kwargs)


def test_damaged_session_file(tmp_path):
    (tmp_path / "session.json").write_text("{not json")
    with pytest.raises(UserError, match="damaged"):
        load_session(tmp_path)
    with pytest.raises(UserError, match="not a session folder"):
        load_session(tmp_path / "nowhere")

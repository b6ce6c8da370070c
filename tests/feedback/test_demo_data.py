"""The demo 回音壁's data file, and a seed it stops (test_demo.py shares one
seed of the demo town)."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from core.datafiles import DataFileError
from feedback import demo as feedback_demo
from feedback.models import Submission

pytestmark = pytest.mark.django_db


def feedback_file(tmp_path, change) -> Path:
    data = json.loads(feedback_demo.FEEDBACK_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "demo_feedback.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_shipped_file_holds_the_articles_cases():
    data = feedback_demo.read_feedback()
    assert len(data["answered"]) == 20
    assert len(data["requests"]) == 1
    assert len(data["open"]) == 4
    assert [row["kind"] for row in data["loop"]] == [
        "suggestion",
        "report",
        "denunciation",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["answered"][2].pop("answer"),
            r"demo_feedback.json: answered\[2\] '山上有人烧荒': missing key 'answer'",
        ),
        (lambda d: d["answered"][0].update(tag="防汛"), "tag must be one of"),
        (lambda d: d["open"][1].update(channel="fax"), r"open\[1\] .*channel"),
        (lambda d: d["open"][0].update(received_days_ago="1"), "received_days_ago"),
        (lambda d: d["requests"][0].update(answered_at="2011-05-19"), "answered_at"),
        (lambda d: d["answer_templates"][0].update(kind="praise"), "kind"),
        (lambda d: d.update(tags=["森林防火", "森林防火"]), "tags"),
        (
            lambda d: d["answered"][0].update(answered_by_body="社会事务办"),
            r"answered\[0\] .*answered_by_body must be one of",
        ),
        (lambda d: d["loop"][0].pop("outcome_reason"), r"loop\[0\] .*outcome_reason"),
        (lambda d: d["loop"][1].update(outcome="adopted"), r"loop\[1\] .*outcome"),
        (lambda d: d["loop"][1].update(rating_channel="email"), "rating_channel"),
        (lambda d: d["loop"][1].update(rated="30 Sept"), "rated"),
    ],
)
def test_a_wrong_entry_is_named_with_its_key(tmp_path, change, expected):
    with pytest.raises(DataFileError, match=expected):
        feedback_demo.read_feedback(feedback_file(tmp_path, change))


def test_a_department_the_catalogs_lack_stops_the_seed(tmp_path, monkeypatch):
    path = feedback_file(tmp_path, lambda d: d["open"][1].update(accepted_by="宣传部"))
    monkeypatch.setattr(feedback_demo, "FEEDBACK_FILE", path)
    with pytest.raises(DataFileError, match="no department '宣传部'"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not Submission.objects.exists()

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from core.datafiles import DataFileError
from feedback import demo as feedback_demo
from feedback.models import Kind, Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=io.StringIO())


def test_demo_has_the_articles_figures_at_the_liaison_points(demo):
    answered = Submission.objects.filter(
        unit__name__in=["文理村", "茅山村"],
        tag__name__in=["森林防火", "抗旱救灾"],
        answered_at__year=2011,
    )
    assert answered.filter(kind=Kind.REPORT).count() == 5
    assert answered.filter(kind=Kind.QUESTION).count() == 15
    assert Submission.objects.open().exists()
    assert Submission.objects.overdue().exists()


def test_demo_request_is_fulfilled_by_a_disclosure(demo):
    request = Submission.objects.get(kind=Kind.REQUEST, fulfilled_by__isnull=False)
    assert "点题公开答复" in request.fulfilled_by.title


def test_demo_feedback_is_idempotent_and_submitters_are_fake(demo):
    count = Submission.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert Submission.objects.count() == count
    names = set(Submission.objects.exclude(name="").values_list("name", flat=True))
    assert all(name.startswith("示例") for name in names)
    phones = Submission.objects.exclude(phone="").count()
    assert phones < count / 4


def test_home_page_figures_come_from_the_demo(demo, client):
    response = client.get("/")
    assert response.context["feedback"]["received"] == Submission.objects.count()
    assert response.context["feedback"]["answered"] == 21


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

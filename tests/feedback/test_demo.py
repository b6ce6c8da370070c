import io

import pytest
from django.core.management import call_command

from feedback.models import Kind, Submission

pytestmark = pytest.mark.django_db

# `demo` (tests/conftest.py) seeds the town once for this module; the checks
# of the data file, and a seed that fails, are in test_demo_data.py.


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

"""公示 with an objection window and a recorded outcome."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from disclosure.models import NoticeOutcome
from tests.factories import DisclosureFactory, ItemFactory, TownFactory, UnitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def notice():
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    item = ItemFactory(code="C04", name="发展对象公示", notice_days=5)
    return DisclosureFactory(
        unit=wenli, item=item, title="发展对象公示", published_at=timezone.now()
    )


def test_open_notice_shows_days_left_and_how_to_object(client, notice):
    text = client.get(f"/disclosures/{notice.pk}/").text
    assert "公示期 5 天" in text
    assert "距公示期满还有 5 天" in text
    assert f"/feedback/new/?disclosure={notice.pk}" in text


def test_closed_notice_shows_its_outcome(client, notice):
    notice.notice_outcome = NoticeOutcome.HANDLED
    notice.notice_outcome_text = "收到异议 1 条，经核实已更正。"
    notice.save()
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        text = client.get(f"/disclosures/{notice.pk}/").text
    assert "距公示期满" not in text
    assert "收到异议，已处理" in text and "经核实已更正" in text


def test_closed_notice_without_outcome_says_it_is_pending(client, notice):
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        assert "公示结果待公布" in client.get(f"/disclosures/{notice.pk}/").text


def test_handled_outcome_needs_the_objections_described(notice):
    notice.notice_outcome = NoticeOutcome.HANDLED
    with pytest.raises(ValidationError) as exc:
        notice.full_clean()
    assert "notice_outcome_text" in exc.value.message_dict


def test_notice_period_is_at_least_three_days():
    item = ItemFactory.build(notice_days=2)
    with pytest.raises(ValidationError) as exc:
        item.full_clean(exclude=["category", "department"])
    assert "notice_days" in exc.value.message_dict


def test_ordinary_disclosure_has_no_notice_box(client):
    disclosure = DisclosureFactory(
        unit=UnitFactory(name="文理村", parent=TownFactory())
    )
    assert "公示期" not in client.get(f"/disclosures/{disclosure.pk}/").text

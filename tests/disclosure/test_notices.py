"""公示 with an objection window and a recorded outcome."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from disclosure.models import NoticeOutcome
from tests.factories import DisclosureFactory, ItemFactory, TownFactory, UnitFactory

pytestmark = pytest.mark.django_db


# Monday 19 September 2011: five working days run to Friday the 23rd.
POSTED = datetime(2011, 9, 19, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def notice():
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    item = ItemFactory(code="C04", name="发展对象公示", notice_days=5)
    with time_machine.travel(POSTED, tick=False):
        yield DisclosureFactory(
            unit=wenli, item=item, title="发展对象公示", published_at=POSTED
        )


def test_open_notice_shows_days_left_and_how_to_object(client, notice):
    with time_machine.travel(POSTED, tick=False):
        text = client.get(f"/disclosures/{notice.pk}/").text
    assert "公示期 5 个工作日：2011年9月19日 至 2011年9月23日" in text
    assert "距公示期满还有 5 个工作日" in text
    assert f"/feedback/new/?disclosure={notice.pk}" in text
    # The weekend does not count: on Friday one working day is left.
    with time_machine.travel(POSTED + timedelta(days=4), tick=False):
        text = client.get(f"/disclosures/{notice.pk}/").text
    assert "距公示期满还有 1 个工作日" in text


def test_window_counts_from_the_posting_day(notice):
    notice.posted_on = date(2011, 9, 22)  # Thursday: Thu, Fri, Mon, Tue, Wed
    assert notice.notice_ends_on == date(2011, 9, 28)


def test_closed_notice_shows_its_outcome(client, notice):
    notice.notice_outcome = NoticeOutcome.HANDLED
    notice.notice_outcome_text = "收到异议 1 条，经核实已更正。"
    notice.save()
    with time_machine.travel(POSTED + timedelta(days=7)):
        text = client.get(f"/disclosures/{notice.pk}/").text
    assert "距公示期满" not in text
    assert "收到异议，已处理" in text and "经核实已更正" in text


def test_closed_notice_without_outcome_says_it_is_pending(client, notice):
    with time_machine.travel(POSTED + timedelta(days=7)):
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

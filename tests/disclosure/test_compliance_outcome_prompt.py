"""When a 公示's window ends without its outcome, the unit's editors are
prompted (公示期已满，请公布结果) on their start page and in the reminder mail,
until the outcome is recorded or becomes 公示结果逾期未公布."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from catalog.models import Item, Timing
from disclosure import roles
from disclosure.models import NoticeOutcome
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db

CST = ZoneInfo("Asia/Shanghai")
# Posted Monday 19 September 2011: five working days to Friday the 23rd; the
# outcome is due five working days later, Friday the 30th.
POSTED = datetime(2011, 9, 19, 9, tzinfo=CST)
PROMPT = "公示期已满，请公布结果"


@pytest.fixture
def notice():
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    item = ItemFactory(
        code="C04",
        name="发展对象公示",
        frequency=Item.Frequency.IMMEDIATELY,
        timing=Timing.EVENT,
        notice_days=5,
    )
    editor = staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    editor.email = "wenli@example.org"
    editor.save()
    return DisclosureFactory(
        unit=wenli, item=item, title="文理村2011年发展对象公示", published_at=POSTED
    )


def start_page(client, day: int) -> str:
    with time_machine.travel(datetime(2011, 9, day, 10, tzinfo=CST), tick=False):
        response = client.get("/admin/")
    assert response.status_code == 200
    return response.text


def outcome_path(disclosure) -> str:
    return f"/admin/disclosure/disclosure/{disclosure.pk}/outcome/"


def test_the_start_page_prompts_from_the_day_after_the_window(client, notice):
    client.force_login(notice.unit.editors.get())
    last_day = start_page(client, 23)
    assert PROMPT not in last_day  # objections are still taken that day
    text = start_page(client, 26)
    assert PROMPT in text and notice.title in text
    assert f'href="{outcome_path(notice)}"' in text and "登记公示结果" in text
    # Still prompted on the outcome's due day; the day after it is overdue.
    assert PROMPT in start_page(client, 30)
    with time_machine.travel(datetime(2011, 10, 1, 10, tzinfo=CST), tick=False):
        overdue = client.get("/admin/").text
    assert PROMPT not in overdue and "公示结果逾期未公布" in overdue


def test_a_recorded_outcome_ends_the_prompt(client, notice):
    notice.notice_outcome = NoticeOutcome.NO_OBJECTION
    notice.save()
    client.force_login(notice.unit.editors.get())
    assert PROMPT not in start_page(client, 26)


def at(day: int, month: int = 9):
    return time_machine.travel(datetime(2011, month, day, 10, tzinfo=CST), tick=False)


def test_the_units_editor_records_the_outcome_from_the_prompt(client, notice):
    """Editors may not change a published text, but may record its outcome."""
    client.force_login(notice.unit.editors.get())
    with at(26):
        form = client.get(outcome_path(notice))
        assert form.status_code == 200 and 'name="outcome"' in form.text
        # Objections without saying what they were: a message, not a 500.
        refused = client.post(outcome_path(notice), {"outcome": "handled"})
        assert refused.status_code == 200
        assert "请写明收到的异议及处理情况" in refused.text
        done = client.post(
            outcome_path(notice),
            {"outcome": "handled", "text": "收到异议 1 条，经核实不影响。"},
        )
        assert done.status_code == 302
        notice.refresh_from_db()
        assert notice.notice_outcome == NoticeOutcome.HANDLED
        version = notice.history.get(notice_outcome=NoticeOutcome.HANDLED)
        assert version.history_user.username == "wenli_editor"
        assert version.history_change_reason == "登记公示结果"
        assert PROMPT not in client.get("/admin/").text
        # The change form offers the step to whoever may take it.
        page = client.get(f"/admin/disclosure/disclosure/{notice.pk}/change/")
        assert outcome_path(notice) in page.text


def test_the_outcome_waits_for_the_window_and_is_the_units_own(client, notice):
    client.force_login(notice.unit.editors.get())
    with at(23):  # the window's last day: objections still taken
        assert client.get(outcome_path(notice)).status_code == 403
        page = client.get(f"/admin/disclosure/disclosure/{notice.pk}/change/")
        assert outcome_path(notice) not in page.text
    other = UnitFactory(name="茅山村", parent=notice.unit.parent)
    stranger = staff_user(username="maoshan", group=roles.UNIT_EDITOR, units=[other])
    client.force_login(stranger)
    with at(26):
        assert client.get(outcome_path(notice)).status_code == 404
        response = client.post(outcome_path(notice), {"outcome": "no_objection"})
        assert response.status_code == 404
    notice.refresh_from_db()
    assert notice.notice_outcome == ""


def test_the_town_administrator_records_it_too(client, notice):
    client.force_login(staff_user(username="town", group=roles.TOWN_ADMIN))
    with at(26):
        response = client.post(outcome_path(notice), {"outcome": "no_objection"})
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.notice_outcome == NoticeOutcome.NO_OBJECTION


def test_the_reminder_mail_carries_the_prompt_and_the_link(notice, settings):
    settings.PORTAL_BASE_URL = "https://dangwu.example.org/"
    call_command("send_reminders", "--as-of", "2011-09-23", stdout=io.StringIO())
    (before,) = [m for m in mail.outbox if m.to == ["wenli@example.org"]]
    assert PROMPT not in before.body
    mail.outbox.clear()
    call_command("send_reminders", "--as-of", "2011-09-26", stdout=io.StringIO())
    (reminder,) = [m for m in mail.outbox if m.to == ["wenli@example.org"]]
    assert PROMPT in reminder.body and notice.title in reminder.body
    assert f"https://dangwu.example.org{outcome_path(notice)}" in reminder.body


def test_a_prompts_title_goes_only_to_who_may_open_the_disclosure(notice):
    """The prompt's title comes through the back office's visibility rule
    (roles.staff_disclosures), not from every disclosure by id."""
    from disclosure import compliance, reminders

    editor = notice.unit.editors.get()
    other = staff_user(username="maoshan_editor", group=roles.UNIT_EDITOR)
    with time_machine.travel(datetime(2011, 9, 26, 10, tzinfo=CST), tick=False):
        obligations = compliance.attention([notice.unit], compliance.reference_date())
    waiting = [o for o in obligations if o.awaiting_outcome]
    assert waiting
    assert reminders.outcome_prompts(waiting, editor)[notice.pk][0] == notice.title
    assert reminders.outcome_prompts(waiting, other) == {}

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from catalog.models import Item
from disclosure import roles
from disclosure.models import ReminderLog
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    item = ItemFactory(
        code="A06",
        name="党委会议决议",
        frequency=Item.Frequency.MONTHLY,
        for_town=False,
    )
    DisclosureFactory(
        unit=maoshan,
        item=item,
        period="2011-08",
        published_at=datetime(2011, 9, 2, tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    editor = staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    editor.email = "wenli@example.org"
    editor.save()
    admin = staff_user(username="town_admin", group=roles.TOWN_ADMIN)
    admin.email = "town@example.org"
    admin.save()
    return {"wenli": wenli, "maoshan": maoshan, "editor": editor}


def test_reminders_list_overdue_and_soon_due_and_are_idempotent(setup):
    call_command("send_reminders", "--as-of", "2011-10-01", stdout=io.StringIO())
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {"wenli@example.org", "town@example.org"}
    editor_mail = by_recipient["wenli@example.org"].body
    assert "2011年8月" in editor_mail and "未公开" in editor_mail  # overdue (due 09-05)
    assert "2011年9月" in editor_mail and "未到期" in editor_mail  # due 10-05
    assert editor_mail.index("未公开") < editor_mail.index("未到期")
    assert "茅山村" not in editor_mail
    assert "文理村" in by_recipient["town@example.org"].body
    call_command("send_reminders", "--as-of", "2011-10-01", stdout=io.StringIO())
    assert len(mail.outbox) == 2
    assert ReminderLog.objects.filter(day=date(2011, 10, 1)).count() == 2


def test_a_new_day_sends_again(setup):
    call_command("send_reminders", "--as-of", "2011-10-01", stdout=io.StringIO())
    call_command("send_reminders", "--as-of", "2011-10-02", stdout=io.StringIO())
    assert len(mail.outbox) == 4


def test_bad_date_is_a_clear_error(setup):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("send_reminders", "--as-of", "tomorrow")


def test_editor_start_page_lists_overdue_obligations_first(client, setup):
    client.force_login(setup["editor"])
    with time_machine.travel(
        datetime(2011, 10, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    ):
        response = client.get("/admin/")
    assert response.status_code == 200
    text = response.text
    assert "需要办理的公开事项" in text
    assert text.index("未公开") < text.index("未到期")

"""Entering a disclosure (issue 18): the item, the period, the display end,
the forms and the photo, through the admin's real URLs."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from catalog.models import Item, Scope, Timing
from disclosure import roles, services
from disclosure.forms import PeriodField
from disclosure.models import Disclosure
from tests.factories import (
    DisclosureFactory,
    DisclosureFormFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    review_and_approve,
    staff_user,
)

pytestmark = pytest.mark.django_db

ADD = "/admin/disclosure/disclosure/add/"


@pytest.fixture
def world():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    board = DisclosureFormFactory(name="村务公开栏")
    meeting = DisclosureFormFactory(name="村民会议")
    return {
        "town": town,
        "wenli": wenli,
        "board": board,
        "meeting": meeting,
        "item": ItemFactory(code="C01", name="村级财务收支", forms=[board]),
        "town_only": ItemFactory(code="ZW01", name="镇财政预算", for_village=False),
        "quarterly": ItemFactory(
            code="C02", name="村务季报", frequency=Item.Frequency.QUARTERLY
        ),
        "editor": staff_user(
            username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli]
        ),
        "town_admin": staff_user(username="town_admin", group=roles.TOWN_ADMIN),
    }


def entry(world, **changes):
    data = {
        "unit": world["wenli"].pk,
        "item": world["item"].pk,
        "title": "2011年9月村级财务收支",
        "body": "收入 12000 元。",
        "period_0": "2011",
        "period_1": "09",
        "scope": Scope.PUBLIC,
        "forms": [world["board"].pk],
        "attachments-TOTAL_FORMS": 0,
        "attachments-INITIAL_FORMS": 0,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_entry_page_boundary_anonymous_then_no_permission_then_editor(client, world):
    assert client.get(ADD).status_code == 302  # to the log-in page
    client.force_login(staff_user(username="party", group=roles.PARTY_MEMBER))
    assert client.get(ADD).status_code in (302, 403)
    client.force_login(staff_user(username="reviewer", group=roles.REVIEWER))
    assert client.get(ADD).status_code == 403
    client.force_login(world["editor"])
    assert client.get(ADD).status_code == 200


def test_a_village_editor_is_offered_no_town_only_item(client, world):
    client.force_login(world["editor"])
    page = client.get(ADD)
    assert "C01 村级财务收支" in page.text
    assert "ZW01 镇财政预算" not in page.text
    # Posted by hand anyway: refused with the list's message, nothing saved.
    response = client.post(ADD, entry(world, item=world["town_only"].pk))
    assert response.status_code == 200
    assert not Disclosure.objects.exists()
    # The town administrator, who writes for the town too, is offered it;
    # for the village it is refused by the model's rule, in Chinese.
    client.force_login(world["town_admin"])
    assert "ZW01 镇财政预算" in client.get(ADD).text
    response = client.post(ADD, entry(world, item=world["town_only"].pk))
    assert "该事项不适用于村（社区）" in response.text
    assert client.post(ADD, entry(world)).status_code == 302


def test_the_period_is_chosen_from_a_year_and_the_items_parts(client, world):
    client.force_login(world["editor"])
    page = client.get(ADD)
    assert 'name="period_0"' in page.text and 'name="period_1"' in page.text
    assert 'type="text" name="period"' not in page.text
    # The label names the year's select (axe select-name); the part has its own.
    assert re.search(r'<label[^>]*for="id_period_0"[^>]*>所属期间', page.text)
    assert re.search(r'<select name="period_1"[^>]*aria-label="所属期间', page.text)
    # No item chosen yet: every kind of part, grouped; this year first.
    field = page.context["adminform"].form.fields["period"]
    years, parts = (w.choices for w in field.widget.widgets)
    assert years[1][0] == str(timezone.localdate().year)
    assert [label for label, _ in parts[1:]] == ["年度", "半年", "季度", "月份"]
    # A quarterly item: only its quarters, the one just ended preselected.
    page = client.get(ADD + f"?item={world['quarterly'].pk}")
    form = page.context["adminform"].form
    parts = form.fields["period"].widget.widgets[1].choices
    assert [key for key, _ in parts] == ["", "Q1", "Q2", "Q3", "Q4"]
    expected = world["quarterly"].current_period(timezone.localdate())
    assert form.initial["period"] == expected.key


def test_a_period_of_another_frequency_is_refused_then_corrected(client, world):
    client.force_login(world["editor"])
    response = client.post(ADD, entry(world, period_1="Q3"))
    assert response.status_code == 200
    assert "该事项公开时限为“每月”，期间应与之对应" in response.text
    response = client.post(ADD, entry(world, period_1=""))
    assert "请选择所属期间" in response.text
    assert not Disclosure.objects.exists()
    assert client.post(ADD, entry(world)).status_code == 302
    assert Disclosure.objects.get().period == "2011-09"


def test_a_single_period_value_and_a_whole_year_are_read(client, world):
    """Scripts and older pages post `period` as one key."""
    client.force_login(world["editor"])
    data = entry(world, period_0=None, period_1=None, period="2011-08")
    assert client.post(ADD, data).status_code == 302
    yearly = ItemFactory(code="C03", frequency=Item.Frequency.YEARLY)
    data = entry(world, item=yearly.pk, period_1="Y", forms=None)
    assert client.post(ADD, data).status_code == 302
    assert set(Disclosure.objects.values_list("period", flat=True)) == {
        "2011-08",
        "2011",
    }


def test_an_old_records_period_stays_offered(client, world):
    old = DisclosureFactory(
        unit=world["wenli"],
        item=world["item"],
        period="1998-03",
        status=Disclosure.Status.DRAFT,
        published_at=None,
    )
    client.force_login(world["editor"])
    page = client.get(f"/admin/disclosure/disclosure/{old.pk}/change/")
    assert '<option value="1998" selected>1998年</option>' in page.text
    assert '<option value="03" selected>3月</option>' in page.text


def test_period_choices_follow_the_frequency():
    field = PeriodField()
    field.offer(kind="half", today=date(2026, 12, 1))
    years, parts = (w.choices for w in field.widget.widgets)
    assert years[1] == ("2026", "2026年") and years[-1][0] == "2000"
    assert parts == [("", "选择期间"), ("H1", "上半年"), ("H2", "下半年")]
    field.offer(kind=None, today=date(2026, 12, 1))
    assert len(field.widget.widgets[1].choices) == 5  # the empty one, 4 groups


def test_current_period_is_the_one_just_ended_or_a_plans_year():
    today = date(2026, 1, 4)
    monthly = Item(frequency=Item.Frequency.MONTHLY, timing=Timing.PERIOD_END)
    assert monthly.current_period(today).key == "2025-12"
    plan = Item(frequency=Item.Frequency.YEARLY, timing=Timing.YEAR_START)
    assert plan.current_period(today).key == "2026"
    assert Item(frequency=Item.Frequency.IMMEDIATELY).current_period(today) is None


def test_only_the_forms_the_item_allows(client, world):
    client.force_login(world["editor"])
    page = client.get(ADD + f"?item={world['item'].pk}")
    offered = list(page.context["adminform"].form.fields["forms"].queryset)
    assert offered == [world["board"]]
    response = client.post(
        ADD, entry(world, forms=[world["board"].pk, world["meeting"].pk])
    )
    assert response.status_code == 200
    assert "“村级财务收支”不能采用“村民会议”公开，可选的公开形式：村务公开栏。" in (
        response.text
    )
    assert not Disclosure.objects.exists()
    assert client.post(ADD, entry(world)).status_code == 302


def test_a_form_a_record_already_has_stays_valid(client, world):
    record = DisclosureFactory(
        unit=world["wenli"],
        item=world["item"],
        status=Disclosure.Status.DRAFT,
        published_at=None,
    )
    record.forms.set([world["meeting"]])  # allowed when it was entered
    client.force_login(world["editor"])
    url = f"/admin/disclosure/disclosure/{record.pk}/change/"
    data = entry(world, forms=[world["meeting"].pk, world["board"].pk])
    assert client.post(url, data).status_code == 302


def published(world, item, **kwargs):
    record = DisclosureFactory(
        unit=world["wenli"],
        item=item,
        status=Disclosure.Status.DRAFT,
        published_at=None,
        **kwargs,
    )
    services.submit(record, by=world["editor"])
    reviewer = staff_user(username="reviewer", group=roles.REVIEWER)
    review_and_approve(record, reviewer=reviewer)
    return services.publish(record, by=reviewer)


def test_the_display_end_defaults_from_the_frequency_at_publication(world):
    record = published(world, world["quarterly"], period="2011-Q3")
    published_on = timezone.localdate(record.published_at)
    record.refresh_from_db()
    assert record.display_until > published_on + timedelta(days=88)
    assert record.display_until <= published_on + timedelta(days=92)
    assert record in Disclosure.objects.on_display()


def test_a_display_end_given_is_kept_and_a_standing_item_stays_up(world):
    given = timezone.localdate() + timedelta(days=10)
    record = published(world, world["item"], display_until=given)
    record.refresh_from_db()
    assert record.display_until == given
    standing = ItemFactory(
        code="C09", frequency=Item.Frequency.YEARLY, timing=Timing.STANDING
    )
    record = published(world, standing, period="2011", title="村务公开制度")
    record.refresh_from_db()
    assert record.display_until is None


def test_a_notice_is_displayed_at_least_until_its_window_ends(world):
    notice = ItemFactory(
        code="C10", frequency=Item.Frequency.IMMEDIATELY, notice_days=60
    )
    record = published(world, notice, period="2011-09")
    record.refresh_from_db()
    assert record.display_until == record.notice_ends_on
    assert record.display_until > timezone.localdate() + timedelta(days=40)


def test_a_photo_rows_file_input_opens_the_camera(client, world):
    client.force_login(world["editor"])
    page = client.get(ADD)
    (row,) = re.findall(
        r'<input type="file" name="attachments-0-file"[^>]*>', page.text
    )
    assert 'accept="image/*"' in row and 'capture="environment"' in row
    assert '<script src="/static/js/disclosure_entry.js">' in page.text
    record = DisclosureFactory(
        unit=world["wenli"], status=Disclosure.Status.DRAFT, published_at=None
    )
    record.attachments.create(kind="document", file="a.pdf", content_type="x")
    page = client.get(f"/admin/disclosure/disclosure/{record.pk}/change/")
    assert 'accept="application/pdf,.pdf"' in page.text

"""事项登记 (registered events) and 本期无 refused for items never nil."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Item, Timing
from disclosure import roles
from disclosure.models import Disclosure, ObligationEvent
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def units():
    town = TownFactory()
    return UnitFactory(name="文理村", parent=town), UnitFactory(
        name="茅山村", parent=town
    )


def test_nil_return_is_refused_for_an_item_never_nil(units):
    finances = ItemFactory(name="村级财务收支明细", nil_allowed=False)
    nil = DisclosureFactory.build(
        unit=units[0], item=finances, is_nil_return=True, period="2011-09"
    )
    with pytest.raises(ValidationError) as exc:
        nil.full_clean()
    message = exc.value.message_dict["is_nil_return"][0]
    assert "每期必有内容" in message and "村级财务收支明细" in message


def test_nil_return_needs_a_reason(units):
    nil = DisclosureFactory.build(
        unit=units[0], item=ItemFactory(), is_nil_return=True, body="  "
    )
    with pytest.raises(ValidationError) as exc:
        nil.full_clean()
    assert "body" in exc.value.message_dict


def test_event_only_for_event_driven_items(units):
    monthly = ItemFactory()
    event = ObligationEvent(
        unit=units[0], item=monthly, event_date=date(2011, 7, 1), description="x"
    )
    with pytest.raises(ValidationError) as exc:
        event.full_clean()
    assert "item" in exc.value.message_dict


def test_unit_editor_registers_events_for_own_units_only(client, units):
    wenli, maoshan = units
    decisions = ItemFactory(
        frequency=Item.Frequency.IMMEDIATELY, timing=Timing.BEFORE, code="A08"
    )
    editor = staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    ObligationEvent.objects.create(
        unit=maoshan, item=decisions, event_date=date(2011, 7, 2), description="茅山"
    )
    client.force_login(editor)
    page = client.get("/admin/disclosure/obligationevent/add/")
    assert page.status_code == 200
    assert "文理村" in page.text and "茅山村" not in page.text
    response = client.post(
        "/admin/disclosure/obligationevent/add/",
        {
            "unit": wenli.pk,
            "item": decisions.pk,
            "event_date": "2011-07-12",
            "description": "村民代表会议决定村道硬化方案",
        },
    )
    assert response.status_code == 302, response.content
    event = ObligationEvent.objects.get(unit=wenli)
    assert event.created_by == editor
    listing = client.get("/admin/disclosure/obligationevent/")
    assert "村道硬化" in listing.text and "茅山" not in listing.text
    refused = client.post(
        "/admin/disclosure/obligationevent/add/",
        {
            "unit": maoshan.pk,
            "item": decisions.pk,
            "event_date": "2011-07-12",
            "description": "别村",
        },
    )
    assert refused.status_code == 200  # the form again: not one of the choices
    assert not ObligationEvent.objects.filter(description="别村").exists()


def test_registered_event_missed_shows_on_the_unit_page(client, units):
    wenli, _ = units
    decisions = ItemFactory(
        frequency=Item.Frequency.IMMEDIATELY, timing=Timing.EVENT, code="CW05"
    )
    ObligationEvent.objects.create(
        unit=wenli, item=decisions, event_date=date(2011, 7, 12), description="村道"
    )
    page = client.get(f"/compliance/{wenli.slug}/?year=2011&as_of=2011-08-01")
    assert page.status_code == 200
    assert "逾期未公开" in page.text and "村道" in page.text
    assert Disclosure.objects.count() == 0


def test_the_disclosures_offered_for_an_event_follow_the_visibility_rule(client, units):
    """A staff member without the 党内 permission is neither offered a 党内
    title (nor another unit's) for an event, nor can post one's id."""
    from django.contrib.auth.models import Permission

    from catalog.models import Scope

    wenli, maoshan = units
    item = ItemFactory(timing=Timing.EVENT, frequency=Item.Frequency.IMMEDIATELY)
    public = DisclosureFactory(unit=wenli, item=item, title="文理村公开通知")
    inner = DisclosureFactory(
        unit=wenli,
        item=ItemFactory(scope=Scope.INNER_PARTY),
        title="文理村党内通报甲乙",
    )
    DisclosureFactory(unit=maoshan, title="茅山村公开通知")
    clerk = staff_user(username="clerk", group=roles.UNIT_EDITOR, units=[wenli])
    clerk.groups.clear()  # single permissions: no 党内 reading
    clerk.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="disclosure",
            codename__in=[
                "view_obligationevent",
                "add_obligationevent",
                "view_disclosure",
            ],
        )
    )
    client.force_login(clerk)
    offered = client.get(
        "/admin/autocomplete/",
        {
            "app_label": "disclosure",
            "model_name": "obligationevent",
            "field_name": "disclosure",
            "term": "通",
        },
    ).json()
    titles = [r["text"] for r in offered["results"]]
    assert titles == ["文理村公开通知"]
    form = {
        "unit": wenli.pk,
        "item": item.pk,
        "event_date": "2011-08-01",
        "description": "村两委会议决定",
    }
    refused = client.post(
        "/admin/disclosure/obligationevent/add/", {**form, "disclosure": inner.pk}
    )
    assert refused.status_code == 200 and not ObligationEvent.objects.exists()
    errors = refused.context["adminform"].form.errors["disclosure"]
    assert "选择一个有效的选项" in errors[0]  # not offered, so not accepted
    # Corrected with a disclosure the clerk may read: saved.
    saved = client.post(
        "/admin/disclosure/obligationevent/add/", {**form, "disclosure": public.pk}
    )
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert ObligationEvent.objects.get().disclosure == public

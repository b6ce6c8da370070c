from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog import periods
from catalog.models import Item, Scope, Timing
from disclosure.models import Disclosure, Unit
from disclosure.models.disclosures import _first_day_on_display
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SuperuserFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def visible_titles(user):
    return set(Disclosure.objects.visible_to(user).values_list("title", flat=True))


@pytest.fixture
def mixed():
    inner_item = ItemFactory(scope=Scope.INNER_PARTY)
    DisclosureFactory(title="公开的")
    DisclosureFactory(title="党内的", item=inner_item)
    DisclosureFactory(title="草稿", status=Disclosure.Status.DRAFT, published_at=None)
    DisclosureFactory(
        title="已撤回", status=Disclosure.Status.WITHDRAWN, withdrawal_reason="内容有误"
    )
    DisclosureFactory(
        title="定时发布", published_at=timezone.now() + timedelta(hours=1)
    )


def test_anonymous_sees_only_published_public_disclosures(mixed):
    assert visible_titles(AnonymousUser()) == {"公开的"}


def test_logged_in_user_without_party_membership_sees_no_inner_party(mixed):
    assert visible_titles(UserFactory()) == {"公开的"}


def test_party_member_sees_inner_party_disclosures(mixed):
    assert visible_titles(PartyMemberFactory()) == {"公开的", "党内的"}


def test_superuser_sees_every_published_disclosure(mixed):
    assert visible_titles(SuperuserFactory()) == {"公开的", "党内的"}


def test_inner_party_item_makes_its_disclosure_inner_party():
    item = ItemFactory(scope=Scope.INNER_PARTY)
    disclosure = DisclosureFactory(item=item, scope=Scope.PUBLIC)
    assert disclosure.scope == Scope.INNER_PARTY


def test_saving_fills_the_period_dates():
    disclosure = DisclosureFactory(period="2011-Q3")
    assert (disclosure.period_start.isoformat(), disclosure.period_end.isoformat()) == (
        "2011-07-01",
        "2011-09-30",
    )
    assert disclosure.period_label == "2011年第三季度"


def test_period_must_match_the_items_frequency():
    disclosure = DisclosureFactory.build(
        unit=UnitFactory(),
        item=ItemFactory(frequency=Item.Frequency.QUARTERLY),
        period="2011-09",
    )
    with pytest.raises(ValidationError) as exc:
        disclosure.full_clean()
    assert "period" in exc.value.message_dict


def test_item_must_apply_to_the_units_level():
    item = ItemFactory(for_town=True, for_village=False)
    disclosure = DisclosureFactory.build(unit=UnitFactory(), item=item)
    with pytest.raises(ValidationError) as exc:
        disclosure.full_clean()
    assert "item" in exc.value.message_dict


def test_on_display_drops_disclosures_past_their_display_until_date():
    today = timezone.localdate()
    DisclosureFactory(title="长期")
    DisclosureFactory(title="在期", display_until=today)
    DisclosureFactory(title="过期", display_until=today - timedelta(days=1))
    titles = set(Disclosure.objects.on_display().values_list("title", flat=True))
    assert titles == {"长期", "在期"}


def test_unit_slugs_are_pinyin_without_the_suffix():
    town = TownFactory()
    assert town.slug == "fengming"
    assert UnitFactory(name="文理村", parent=town).slug == "wenli"
    assert UnitFactory(name="梁都坝村", parent=town).slug == "liangduba"


def test_unit_slug_clash_adds_the_suffix_then_a_number():
    town = TownFactory()
    community = UnitFactory(name="凤鸣社区", kind=Unit.Kind.COMMUNITY, parent=town)
    assert community.slug == "fengming-shequ"
    other = UnitFactory(name="凤鸣村", parent=town)
    assert other.slug == "fengming-cun"


def test_a_slug_never_takes_a_reserved_path_word():
    """/reports/gov/<year>/ sits beside /reports/<town>/<year>/: a town
    slugged "gov" would lose its 党务 report's address."""
    town = UnitFactory(name="Gov镇", kind=Unit.Kind.TOWN)
    assert town.slug == "gov-zhen"
    assert UnitFactory(name="Pdf村", parent=town).slug != "pdf"
    typed = Unit(name="某镇", kind=Unit.Kind.TOWN, slug="gov")
    with pytest.raises(ValidationError, match="保留词"):
        typed.full_clean()


def test_an_edited_slug_is_kept():
    unit = UnitFactory(name="文理村", slug="wenli-village")
    unit.save()
    assert unit.slug == "wenli-village"


def test_without_a_display_end_a_disclosure_stays_one_period_of_its_frequency():
    today = timezone.localdate()
    quarterly = ItemFactory(frequency=Item.Frequency.QUARTERLY)
    standing = ItemFactory(frequency=Item.Frequency.YEARLY, timing=Timing.STANDING)
    cutoff = _first_day_on_display(today, 3)

    def published(title, item, day):
        at = timezone.make_aware(datetime.combine(day, time(12)))
        return DisclosureFactory(title=title, item=item, published_at=at)

    shown = published("本季度", quarterly, cutoff)
    gone = published("上季度", quarterly, cutoff - timedelta(days=1))
    kept = published("长期", standing, today - timedelta(days=3000))
    titles = set(Disclosure.objects.on_display().values_list("title", flat=True))
    assert titles == {"本季度", "长期"}
    # The page's 展示至 says the same as the board's rule.
    assert shown.display_ends_on >= today > gone.display_ends_on
    assert kept.display_ends_on is None
    assert shown.display_ends_on == shown.default_display_until()


@pytest.mark.parametrize(
    ("today", "months", "first"),
    [
        (date(2024, 5, 15), 3, date(2024, 2, 15)),
        (date(2024, 3, 31), 1, date(2024, 3, 1)),  # no 31 February
        (date(2023, 3, 29), 1, date(2023, 3, 1)),
        (date(2024, 1, 31), 12, date(2023, 1, 31)),
        (date(2024, 2, 29), 12, date(2023, 3, 1)),
    ],
)
def test_the_boards_query_and_the_display_end_agree_at_month_ends(today, months, first):
    assert _first_day_on_display(today, months) == first
    # The first day is on display, the day before is not: exactly the rule.
    assert periods.add_months(first, months) >= today
    assert periods.add_months(first - timedelta(days=1), months) < today

"""A small county built with the factories, at a chosen size (not seed_scale).

`build_county(villages=2, per_unit=3)` makes a town, its villages, party and
village catalog items (one 党内), disclosures of several periods per unit,
answered 回音壁 submissions (one fulfilled by a disclosure), a notice board
per unit and a withdrawn disclosure: enough for every public page to take
every branch that issues queries. `grow()` adds as much again, or more.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from catalog.models import Catalog, Item, Scope
from disclosure.models import Disclosure, Inspection, Rectification, Unit
from feedback import services
from feedback.models import Kind
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    NoticeBoardFactory,
    SubmissionFactory,
    TagFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)

YEAR = 2011


def two_towns_of_villages(town_slug: str = "fengming") -> dict[str, Unit]:
    """凤鸣镇 (文理村, 茅山村) and 青山镇 (上村): the compliance engine's tests'
    county (a town's units kept unit by unit, several towns read each time)."""
    town = TownFactory(name="凤鸣镇", slug=town_slug)
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town)
    other = TownFactory(name="青山镇", slug="qingshan")
    shangcun = UnitFactory(name="上村", slug="shangcun", parent=other)
    return {
        "town": town,
        "wenli": wenli,
        "maoshan": maoshan,
        "other": other,
        "shangcun": shangcun,
    }


@dataclass
class County:
    town: Unit
    public_item: Item
    inner_item: Item
    village_item: Item
    disclosure: Disclosure | None = None
    inner_disclosure: Disclosure | None = None
    submission: object = None
    other_town: Unit | None = None

    @property
    def village(self) -> Unit:
        return self.town.children.order_by("id").first()


def build_county(*, villages: int, per_unit: int) -> County:
    party = CatalogFactory(kind=Catalog.Kind.PARTY)
    village_catalog = CatalogFactory(kind=Catalog.Kind.VILLAGE)
    hejiang = UnitFactory(name="合江县", kind=Unit.Kind.COUNTY)
    county = County(
        town=TownFactory(parent=hejiang),
        public_item=ItemFactory(category=CategoryFactory(catalog=party)),
        inner_item=ItemFactory(
            category=CategoryFactory(catalog=party),
            scope=Scope.INNER_PARTY,
            frequency=Item.Frequency.QUARTERLY,
        ),
        village_item=ItemFactory(
            category=CategoryFactory(catalog=village_catalog),
            frequency=Item.Frequency.YEARLY,
            for_town=False,
        ),
    )
    # A second town for /county/ to compare (grown with the first).
    county.other_town = TownFactory(name="白米镇", parent=hejiang)
    grow(county, villages=villages, per_unit=per_unit)
    return county


def grow(county: County, *, villages: int, per_unit: int) -> County:
    """Add villages, and disclosures and submissions to every unit."""
    town = county.town
    for _ in range(villages):
        UnitFactory(parent=town)
        if county.other_town:
            UnitFactory(parent=county.other_town)
    units = [town, *town.children.all()]
    published = timezone.now() - timedelta(days=3)
    for unit in units:
        NoticeBoardFactory(unit=unit)
        for n in range(per_unit):
            month = n % 12 + 1
            county.disclosure = DisclosureFactory(
                unit=unit,
                item=county.public_item,
                period=f"{YEAR}-{month:02d}",
                published_at=published - timedelta(hours=n),
                title=f"{unit.name}{month}月村务公开防火资金",
            )
            if n % 2 == 0:
                county.inner_disclosure = DisclosureFactory(
                    unit=unit,
                    item=county.inner_item,
                    period=f"{YEAR}-Q{n % 4 + 1}",
                    published_at=published,
                    title=f"{unit.name}党内通报防火{n}",
                )
        if unit.kind != Unit.Kind.TOWN:
            DisclosureFactory(unit=unit, item=county.village_item, period=str(YEAR))
    DisclosureFactory(
        unit=units[-1],
        item=county.public_item,
        status=Disclosure.Status.WITHDRAWN,
        withdrawal_reason="有误",
    )
    staff = UserFactory(username="perf_staff", is_staff=True)
    others = list(Unit.objects.of_town(county.other_town)) if county.other_town else []
    for unit in units + others:  # a 督查 check of every board, with a 整改
        check = Inspection.objects.create(
            unit=unit, inspector=staff, inspected_on=date(YEAR, 11, 15)
        )
        Rectification.objects.create(
            unit=unit, inspection=check, issue="补公开", deadline=date(YEAR, 11, 30)
        )
    department = DepartmentFactory(name="综治办")
    tag = TagFactory()
    for unit in units:
        for n in range(per_unit):
            submission = SubmissionFactory(
                unit=unit, tag=tag, text=f"防火物资什么时候发放？{n}"
            )
            if n % 3 != 2:
                services.answer(
                    submission, by=staff, department=department, text="已答复"
                )
            else:  # in hand: on the wall, not answered yet
                services.accept(submission, by=staff, department=department)
            county.submission = submission
        # A 点题公开 request accepted in YEAR, half of them answered by a
        # disclosure: compliance obligations (feedback/obligations.py).
        SubmissionFactory(
            unit=unit,
            kind=Kind.REQUEST,
            item=county.public_item,
            received_at=datetime(YEAR, 6, 1, 9, tzinfo=UTC),
            status="accepted",
            accepted_at=datetime(YEAR, 6, 2, 9, tzinfo=UTC),
            fulfilled_by=county.disclosure if unit.pk % 2 else None,
        )
    request = SubmissionFactory(
        unit=units[1], kind=Kind.REQUEST, title="请公开防火资金", tag=tag
    )
    services.answer(
        request,
        by=staff,
        department=department,
        text="已公开",
        fulfilled_by=county.disclosure,
    )
    return county

import functools
import hashlib

import django_filters
from django import forms
from django.conf import settings
from django.db import connections, models
from django.db.models.expressions import RawSQL
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from catalog import periods
from catalog.models import Catalog, Category, Item, Scope
from catalog.page_scopes import CATALOG
from core import caching
from core.dates import DateFromToRangeFilter
from core.widgets import (
    LazyChoices,
    ListedModelChoiceFilter,
    QuickFilterSet,
    QuickSelect,
    grouped,
    labelled_date_range,
)

from .models import Disclosure, Reader, Unit
from .page_scopes import PERIODS, UNITS


def unit_options() -> list:
    """Every unit, grouped by town at county scale: kept until a unit changes
    (UNITS)."""
    return caching.cached(
        "unit-options",
        lambda: grouped(Unit.objects.order_by("order", "id").choice_rows()),
        scopes=[UNITS],
    )


def unit_options_key() -> str:
    """What `unit_options()` gives now (`caching.kept_version`)."""
    return f"unit-options:{caching.kept_version([UNITS])}"


def board_unit_options() -> list:
    """Every unit with a board, flat, as `Unit.objects.with_boards()` lists
    them (the 回音壁 form's and the statistics page's select)."""
    return caching.cached(
        "board-unit-options",
        # Rows, not models: 510 instances (each remembering how it was
        # loaded) took 4 ms of a cold statistics page.
        lambda: list(Unit.objects.with_boards().values_list("slug", "name")),
        # Units only (their kind says which have a board, not a NoticeBoard
        # row): a catalog's or a notice board's change keeps the list.
        scopes=[UNITS],
    )


def board_unit_options_key() -> str:
    """What `board_unit_options()` gives now (`caching.kept_version`)."""
    return f"board-unit-options:{caching.kept_version([UNITS])}"


def town_options_key() -> str:
    return f"town-options:{caching.kept_version([UNITS])}"


def town_options() -> list:
    """The towns, in the order of the town choices (the first is the default)."""
    return caching.cached(
        "town-options",
        lambda: list(Unit.objects.ordered_towns().values_list("slug", "name")),
        scopes=[UNITS],
    )


def _first_periods(visible, first: str, last: str) -> list[str]:
    """The distinct periods from `first` up to (not including) `last` that
    have a row in `visible`: a loose index scan (a recursive query asking
    disclosure_period_idx for the next period after each one, about 20 a
    year), not a DISTINCT over every row (250 ms at county scale)."""
    seen = RawSQL('"seen"."period"', (), output_field=models.CharField())
    in_range = visible.filter(period__gte=first, period__lt=last).order_by("period")
    start = in_range.values("period")[:1].query.sql_with_params()
    step = in_range.filter(period__gt=seen).values("period")[:1].query.sql_with_params()
    sql = (
        f'WITH RECURSIVE "seen" ("period") AS (SELECT ({start[0]}) UNION ALL '
        f'SELECT ({step[0]}) FROM "seen" WHERE "seen"."period" IS NOT NULL) '
        'SELECT "period" FROM "seen" WHERE "period" IS NOT NULL'
    )
    with connections[visible.db].cursor() as cursor:
        cursor.execute(sql, (*start[1], *step[1]))
        return [row[0] for row in cursor.fetchall()]


@functools.lru_cache(maxsize=4096)
def _newest_first(key: str) -> tuple:
    # As ordered by (-period_start, period): a key's start is its Period's.
    # Memoised: the list sorts some 200 on every request.
    try:
        return (-periods.Period.parse(key).start.toordinal(), key)
    except periods.InvalidPeriod:
        return (0, key)


def period_keys(visible, reader: str) -> list[str]:
    """The periods of the rows `visible` (those of readers with the key
    `reader`), newest first: the list's 所属期间 choices.

    Kept until a change may add or remove a period ("periods": a row's
    period that no other row visible to visitors holds, now or as loaded,
    disclosure.page_scopes); a publication in a period already on offer
    changes nothing. Visibility is also a matter of the clock (a scheduled
    publication, a public date): kept until the next row bringing a new
    period (`caching.until_scheduled`: the list kept until then is made
    again then), past midnight and past a quiet minute, a day at most; then
    scanned year by year (the span of years: two index reads)."""
    if settings.VALUE_CACHE_SECONDS <= 0:  # nothing kept: one scan
        return sorted(_first_periods(visible, "", "\uffff"), key=_newest_first)
    span = caching.cached(
        f"period-span:{reader}",
        lambda: (
            visible.order_by("period").values_list("period", flat=True).first(),
            visible.order_by("-period").values_list("period", flat=True).first(),
        ),
        scopes=[PERIODS],
        seconds=caching.until_scheduled([PERIODS]),
    )
    if span[0] is None:
        return []
    if not (span[0][:4].isdigit() and span[1][:4].isdigit()):  # never saved so
        return list(
            visible.order_by("-period_start", "period")
            .values_list("period", flat=True)
            .distinct()
        )
    years = range(int(span[0][:4]), int(span[1][:4]) + 1)
    names = {f"period-choices:{reader}:{y}": y for y in years}

    def compute(missing: list[str]) -> dict:
        return {
            name: _first_periods(visible, str(names[name]), str(names[name] + 1))
            for name in missing
        }

    found = caching.cached_many(
        {name: [PERIODS] for name in names},
        compute,
        seconds=caching.until_scheduled([PERIODS]),
    )
    return sorted((key for keys in found.values() for key in keys), key=_newest_first)


def period_choices(visible, reader: str) -> tuple[str, list[tuple[str, str]]]:
    """`period_keys` labelled in the language shown, and a digest of them
    (what a kept filter form's key reads instead of every choice): kept as
    one value, under the same scope and lifetime as the keys (a request
    reads one value, not the years' lists to sort and label again)."""

    def made() -> tuple[str, list]:
        choices = [tuple(p) for p in periods.labelled(period_keys(visible, reader))]
        digest = hashlib.sha256(repr(choices).encode()).hexdigest()[:32]
        return f"periods:{digest}", choices

    if settings.VALUE_CACHE_SECONDS <= 0:
        return made()
    return caching.cached(
        f"period-labelled:{reader}:{get_language()}",
        made,
        scopes=[PERIODS],
        seconds=caching.until_scheduled([PERIODS]),
    )


class DisclosureFilter(QuickFilterSet):
    unit = ListedModelChoiceFilter(
        label=_("单位"),
        queryset=Unit.objects.with_boards(),
        to_field_name="slug",
        empty_label=_("全部单位"),
        options=unit_options,
        options_key=unit_options_key,
        keep="list-unit",
    )
    kind = django_filters.ChoiceFilter(
        label=_("公开类别"),
        field_name="item__category__catalog__kind",
        choices=Catalog.Kind.choices,
        empty_label=_("党务、政务、村务"),
    )
    category = ListedModelChoiceFilter(
        label=_("栏目"),
        field_name="item__category",
        queryset=Category.objects.all(),
        empty_label=_("全部栏目"),
        options=lambda: caching.cached(
            "category-options",
            lambda: grouped(
                (catalog, str(pk), f"{code} {name}")
                for catalog, pk, code, name in Category.objects.values_list(
                    "catalog__name", "pk", "code", "name"
                )
            ),
            scopes=[CATALOG],
        ),
        options_key=lambda: f"category-options:{caching.kept_version([CATALOG])}",
    )
    item = ListedModelChoiceFilter(
        label=_("公开事项"),
        queryset=Item.objects.all(),
        to_field_name="code",
        empty_label=_("全部事项"),
        options=lambda: [],  # set per visitor in __init__
    )
    period = django_filters.ChoiceFilter(label=_("所属期间"), empty_label=_("全部期间"))
    published = DateFromToRangeFilter(
        label=_("发布日期"),
        field_name="published_at",
        widget=labelled_date_range(_("发布日期起"), _("发布日期止")),
    )

    nil = django_filters.BooleanFilter(
        label=_("包括“本期无此事项”说明"),
        method="filter_nil",
        widget=forms.CheckboxInput,
    )

    class Meta:
        model = Disclosure
        fields = ["unit", "kind", "category", "item", "period", "published", "nil"]

    def filter_nil(self, queryset, name, value):
        return queryset if value else queryset.information()

    def __init__(self, *args, user=None, reader: Reader | None = None, **kwargs):
        """`reader`: whose rows `queryset` holds (the user's, or narrowed to a
        page: `Reader.on_list_of`); the user's by default."""
        super().__init__(*args, **kwargs)
        reader = reader or Reader.of(user)
        # Offer only choices that can give the visitor a result: 党内 items to
        # a reader of 党内 rows (the kept Reader: a member's miss loads no
        # permissions).
        party = reader.party_member
        if not party:
            self.filters["item"].queryset = Item.objects.filter(scope=Scope.PUBLIC)
        items = self.filters["item"].queryset
        self.filters["item"].extra["options"] = lambda: caching.cached(
            f"item-options:{party}",
            lambda: grouped(
                (catalog, code, f"{code} {name}")
                for catalog, code, name in items.values_list(
                    "category__catalog__name", "code", "name"
                )
            ),
            scopes=[CATALOG],
        )
        self.filters["item"].extra["options_key"] = lambda: (
            f"item-options:{party}:{caching.kept_version([CATALOG])}"
        )
        key, choices = period_choices(self.queryset, reader.key)
        # Not deep-copied with the form's fields (some 200 at county scale).
        self.filters["period"].extra["choices"] = LazyChoices(
            lambda: choices, key=lambda: key
        )
        self.filters["period"].extra["widget"] = QuickSelect

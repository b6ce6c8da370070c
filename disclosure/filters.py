import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from catalog import periods
from catalog.models import Catalog, Category, Item, Scope
from core import caching
from core.dates import DateFromToRangeFilter
from core.widgets import (
    ListedModelChoiceFilter,
    QuickSelect,
    grouped,
    labelled_date_range,
)

from .models import Disclosure, Reader, Unit, can_see_inner_party


def unit_options() -> list:
    """Every unit, grouped by town at county scale: kept with the cache version."""
    return caching.cached(
        "unit-options",
        lambda: grouped(Unit.objects.order_by("order", "id").choice_rows()),
    )


def board_unit_options() -> list:
    """Every unit with a board, flat, as `Unit.objects.with_boards()` lists
    them (the 回音壁 form's and the statistics page's select)."""
    return caching.cached(
        "board-unit-options",
        lambda: [
            (u.slug, str(u)) for u in Unit.objects.with_boards().only("slug", "name")
        ],
    )


def town_options() -> list:
    """The towns, in the order of the town choices (the first is the default)."""
    return caching.cached(
        "town-options",
        lambda: [
            (u.slug, str(u)) for u in Unit.objects.ordered_towns().only("slug", "name")
        ],
    )


class DisclosureFilter(django_filters.FilterSet):
    unit = ListedModelChoiceFilter(
        label=_("单位"),
        queryset=Unit.objects.with_boards(),
        to_field_name="slug",
        empty_label=_("全部单位"),
        options=unit_options,
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
        ),
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

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Offer only choices that can give the visitor a result.
        party = can_see_inner_party(user)
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
        )
        # A DISTINCT over every visible row: kept between requests at county
        # scale (as long as a cached page, same invalidation).
        keys = caching.cached(
            f"period-choices:{Reader.of(user).key}",
            lambda: list(
                self.queryset.order_by("-period_start", "period")
                .values_list("period", flat=True)
                .distinct()
            ),
        )
        self.filters["period"].extra["choices"] = periods.labelled(keys)
        self.filters["period"].extra["widget"] = QuickSelect

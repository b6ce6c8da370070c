import django_filters
from django.utils.translation import gettext_lazy as _

from core import caching
from core.dates import DateFromToRangeFilter
from core.widgets import ListedModelChoiceFilter, QuickFilterSet, labelled_date_range
from disclosure.filters import unit_options, unit_options_key
from disclosure.models import Unit

from .models import (
    CONFIDENTIAL_KINDS,
    WALL_STATUSES,
    Channel,
    Kind,
    Outcome,
    Status,
    Submission,
    Tag,
)
from .page_scopes import TAGS


class SubmissionFilter(QuickFilterSet):
    kind = django_filters.ChoiceFilter(
        label=_("类型"),
        # 举报 is never listed: no choice to look for it.
        choices=[(k.value, k.label) for k in Kind if k not in CONFIDENTIAL_KINDS],
        empty_label=_("全部类型"),
    )
    unit = ListedModelChoiceFilter(
        label=_("单位"),
        queryset=Unit.objects.with_boards(),
        to_field_name="slug",
        empty_label=_("全部单位"),
        options=unit_options,
        options_key=unit_options_key,
    )
    tag = ListedModelChoiceFilter(
        label=_("话题"),
        queryset=Tag.objects.all(),
        empty_label=_("全部话题"),
        options=lambda: caching.cached(
            "tag-options",
            lambda: [
                (str(pk), str(name))
                for pk, name in Tag.objects.values_list("pk", "name")
            ],
            scopes=[TAGS],
        ),
        options_key=lambda: f"tag-options:{caching.kept_version([TAGS])}",
    )
    status = django_filters.ChoiceFilter(
        label=_("办理状态"),
        # Only the states listed on the wall (not new or hidden cases).
        choices=[(s.value, s.label) for s in Status if s in WALL_STATUSES],
        empty_label=_("全部状态"),
    )
    channel = django_filters.ChoiceFilter(
        label=_("来源渠道"), choices=Channel.choices, empty_label=_("全部渠道")
    )
    outcome = django_filters.ChoiceFilter(
        label=_("采纳情况"),
        choices=Outcome.choices,
        empty_label=_("全部（意见、建议）"),
    )
    # 督办中: open past its deadline (or not satisfied twice) and escalated.
    escalated = django_filters.ChoiceFilter(
        label=_("督办"),
        choices=[("1", _("督办中"))],
        empty_label=_("全部"),
        method="filter_escalated",
    )
    received = DateFromToRangeFilter(
        label=_("提交日期"),
        field_name="received_at__date",
        widget=labelled_date_range(_("提交日期起"), _("提交日期止")),
    )

    class Meta:
        model = Submission
        fields = [
            "kind",
            "unit",
            "tag",
            "status",
            "channel",
            "outcome",
            "escalated",
            "received",
        ]

    def filter_escalated(self, queryset, name, value):
        return queryset.escalated() if value else queryset

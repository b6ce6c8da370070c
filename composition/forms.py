from django import forms
from django.core.validators import MaxValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Catalog
from core.security import refuse_control_characters
from core.widgets import ListedModelChoiceField, QuickSelect
from disclosure import compliance
from disclosure.filters import (
    board_unit_options,
    board_unit_options_key,
    town_options,
    town_options_key,
    unit_options,
)
from disclosure.models import Unit

from .search import MAX_QUERY_LENGTH

FEEDBACK_KIND = "feedback"


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("检索词"),
        required=False,
        max_length=MAX_QUERY_LENGTH,
        validators=[refuse_control_characters],
        error_messages={
            "max_length": _("检索词太长：最多 %(limit_value)d 个字，请缩短后再试。"),
            "null_characters_not_allowed": _("检索词含有无效字符。"),
        },
    )
    # The county's 510 units: options written at once and kept in the value
    # cache (the list page's select), not a widget template each.
    unit = ListedModelChoiceField(
        label=_("单位"),
        queryset=Unit.objects.with_boards(),
        to_field_name="slug",
        required=False,
        empty_label=_("全部单位"),
        options=unit_options,
        error_messages={"invalid_choice": _("没有这个单位。")},
    )
    kind = forms.ChoiceField(
        label=_("类别"),
        required=False,
        choices=[
            ("", _("全部类别")),
            *Catalog.Kind.choices,
            (FEEDBACK_KIND, _("回音壁")),
        ],
        error_messages={"invalid_choice": _("没有这个类别。")},
    )


class SubscriptionForm(forms.Form):
    email = forms.EmailField(
        label=_("电子邮箱"),
        max_length=254,
        validators=[refuse_control_characters],
        help_text=_("只用于发送确认邮件和每日摘要，不会公开，取消关注后即删除。"),
    )
    unit = forms.ModelChoiceField(
        label=_("关注"),
        queryset=Unit.objects.with_boards(),
        to_field_name="slug",
        required=False,
        empty_label=_("全镇（所有单位）"),
        error_messages={"invalid_choice": _("没有这个单位。")},
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


FIRST_YEAR = 2001


def town_of_unit(unit: Unit) -> Unit | None:
    if unit.kind == Unit.Kind.TOWN:
        return unit
    parent = unit.parent
    return parent if parent and parent.kind == Unit.Kind.TOWN else None


class StatsForm(forms.Form):
    # Any year may be asked for; the select offers those with data.
    year = forms.IntegerField(
        label=_("年份"),
        required=False,
        min_value=FIRST_YEAR,
        widget=QuickSelect,
        error_messages={
            "invalid": _("年份无效。"),
            "min_value": _("年份无效。"),
            "max_value": _("年份无效。"),
        },
    )
    # Options written at once from the value cache (core.widgets), not a
    # widget template each of the county's 510.
    unit = ListedModelChoiceField(
        label=_("单位"),
        queryset=Unit.objects.with_boards(),
        to_field_name="slug",
        required=False,
        empty_label=_("全镇"),
        options=board_unit_options,
        options_key=board_unit_options_key,
        error_messages={"invalid_choice": _("没有这个单位。")},
    )
    # The town whose units are counted (default: the first town, as the home
    # page); a unit chosen under another town is refused.
    town = ListedModelChoiceField(
        label=_("乡镇"),
        queryset=Unit.objects.ordered_towns(),
        to_field_name="slug",
        required=False,
        empty_label=None,
        options=town_options,
        options_key=town_options_key,
        error_messages={"invalid_choice": _("没有这个乡镇。")},
    )

    def clean(self):
        data = super().clean()
        town, unit = data.get("town"), data.get("unit")
        if unit is not None and town is None and "town" not in self.errors:
            data["town"] = town_of_unit(unit)
        elif town is None and "town" not in self.errors:
            data["town"] = next(iter(compliance.towns()), None)
        elif unit is not None and town_of_unit(unit) != town:
            self.add_error("unit", _("这个单位不属于所选乡镇。"))
        return data

    def __init__(self, *args, default_year: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        this_year = timezone.localdate().year
        self.default_year = default_year or this_year
        field = self.fields["year"]
        field.validators.append(MaxValueValidator(this_year))
        asked = self.data.get("year", "")
        valid = asked.isdigit() and FIRST_YEAR <= int(asked) <= this_year
        chosen = int(asked) if valid else self.default_year
        field.widget.choices = [(y, str(y)) for y in compliance.year_choice(chosen)]

    def clean_year(self) -> int:
        return self.cleaned_data["year"] or self.default_year

import re

from django import forms
from django.conf import settings
from django.db import models
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from catalog.models import Item
from catalog.page_scopes import CATALOG
from core import caching
from core.security import refuse_control_characters, refuse_markup
from core.slots import slot
from core.widgets import LazyChoices, QuickSelect, options, select_value
from disclosure.filters import board_unit_options
from disclosure.models import Disclosure, Reader, Unit
from disclosure.page_scopes import PUBLISHED, UNITS

from . import antiabuse
from .models import (
    CONFIDENTIAL_KINDS,
    Kind,
    Rating,
    Submission,
    Tag,
    normalize_tracking_code,
)
from .page_scopes import TAGS

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^(0\d{2,3})?\d{7,8}$")
PHONE_SEPARATORS_RE = re.compile(r"[\s\-()（）]")
DISCLOSURE_CHOICES = 100  # the newest visible disclosures offered in the select
FOREIGN_KEYS = ("unit", "item", "disclosure", "tag")


def normalize_phone(raw: str) -> str:
    """Digits only, after dropping spaces, dashes, brackets and a +86 prefix."""
    phone = PHONE_SEPARATORS_RE.sub("", raw)
    if phone.startswith("+86"):
        phone = phone[3:]
    return phone


def is_valid_phone(phone: str) -> bool:
    return bool(MOBILE_RE.match(phone) or LANDLINE_RE.match(phone))


class KeptUnitField(forms.ModelChoiceField):
    """A unit with a board, by its slug, kept (`caching.cached`) until that
    unit changes, or any change no scope names: the 回音壁's POST, the busiest
    form, reads no unit row. Only a slug the select offers is looked up (and
    kept), so posted nonsense makes no cache entries."""

    def to_python(self, value):
        if value in self.empty_values or settings.VALUE_CACHE_SECONDS <= 0:
            return super().to_python(value)  # nothing kept: the row itself
        if not isinstance(value, str) or value not in dict(board_unit_options()):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return caching.cached(
            f"feedback-form-unit:{value}",
            lambda: super(KeptUnitField, self).to_python(value),
            scopes=[f"unit:{value}"],
        )


class SubmissionForm(forms.ModelForm):
    """The public form: no login, anti-abuse checks in clean()."""

    unit = KeptUnitField(
        label=_("所涉单位"),
        queryset=Unit.objects.with_boards(),
        to_field_name="slug",
        empty_label=_("请选择村（社区）或镇"),
        error_messages={
            "required": _("请选择所涉单位。"),
            "invalid_choice": _("所选单位不存在，请重新选择。"),
        },
    )
    title = forms.CharField(
        label=_("标题"),
        max_length=100,
        error_messages={
            "required": _("请填写标题。"),
            "max_length": _("标题不能超过 %(limit_value)d 个字。"),
        },
    )
    text = forms.CharField(
        label=_("内容"),
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("请填写内容。")},
    )
    name = forms.CharField(
        label=_("姓名（选填）"),
        max_length=30,
        required=False,
        help_text=_("仅工作人员可见，不会在网上公开。"),
    )
    phone = forms.CharField(
        label=_("联系电话（选填）"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        help_text=_("手机号或固定电话，仅工作人员可见，不会在网上公开。"),
    )
    # Anti-abuse: a field people never see (bots fill it in), the signed token
    # (time shown, one-time id, challenge) and the challenge's answer.
    website = forms.CharField(
        label=_("网址（请勿填写）"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    token = forms.CharField(widget=forms.HiddenInput)
    challenge = forms.IntegerField(
        label=_("验证"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": _("请填写计算结果。"),
            "invalid": _("请填写数字。"),
        },
    )

    class Meta:
        model = Submission
        fields = [
            "kind",
            "unit",
            "item",
            "disclosure",
            "tag",
            "title",
            "text",
            "name",
            "phone",
            "is_party_member",
            "consent_to_publish",
        ]
        labels = {
            "kind": _("类型"),
            "item": _("所涉公开事项（选填）"),
            "disclosure": _("所涉公开内容（选填）"),
            "tag": _("话题（选填）"),
            "is_party_member": _("我是党员"),
            "consent_to_publish": _("同意在回音壁公开我的问题（不公开姓名和电话）"),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("请选择类型")), *Kind.choices]
        self.fields["kind"].error_messages["required"] = _("请选择类型。")
        self.fields["kind"].error_messages["invalid_choice"] = _(
            "所选类型不存在，请重新选择。"
        )
        # 举报 is offered online (a villager may not dare say it in person): it
        # goes to the town's discipline committee and is never published.
        self.fields["kind"].help_text = _(
            "举报党员干部违纪违法问题请选“举报”：转镇纪委办理，不在回音壁公开。"
        )
        self.fields["item"].queryset = Item.objects.select_related("category")
        self.fields["item"].empty_label = _("不限")
        # Only disclosures the visitor may read (the 党内 rule); with the item,
        # which clean() takes when none was chosen. A form only shown checks
        # nothing: none there (the select's choices are `_visible()`'s), and
        # no queryset built for nothing on the busiest GET.
        self._user = user
        self.fields["disclosure"].queryset = (
            self._visible().select_related("item")
            if self.is_bound
            else Disclosure.objects.none()
        )
        self.fields["disclosure"].empty_label = _("不限")
        self.fields["tag"].queryset = Tag.objects.all()
        self.fields["tag"].empty_label = _("不限")
        self._audience = Reader.of(user).key
        self._disclosure_choices = None
        self._quick_selects()
        self.fields["text"].max_length = settings.FEEDBACK_TEXT_MAX_LENGTH
        self.fields["text"].widget.attrs["maxlength"] = (
            settings.FEEDBACK_TEXT_MAX_LENGTH
        )
        if not self.is_bound:
            self.initial["token"] = antiabuse.new_form_token()
        self._read_token()

    def _read_token(self) -> None:
        """Read the token and label the challenge from it: the question shown is
        always the one the token's answer is checked against."""
        token = self.data.get(self.add_prefix("token")) if self.is_bound else None
        self.token_value = antiabuse.read_form_token(
            token if isinstance(token, str) else self.initial.get("token", "")
        )
        if self.token_value:
            question = antiabuse.challenge_question(self.token_value["n"])
            self.fields["challenge"].label = _g("验证：%(a)s加%(b)s等于几？") % question
        # Bound fields keep the label and value they were made with.
        for name in ("token", "challenge"):
            self._bound_fields_cache.pop(name, None)

    def _quick_selects(self) -> None:
        """The selects written in Python (`QuickSelect`) from choices kept in
        the value cache, built only when the form is shown: a valid POST never
        renders them. The markup is Django's; a submitted value is still
        checked against each field's queryset."""
        for name, listed in (
            ("kind", None),
            ("unit", board_unit_options),
            ("item", _item_options),
            ("disclosure", self._recent_disclosure_choices),
            ("tag", _tag_options),
        ):
            field = self.fields[name]
            widget = QuickSelect(attrs=field.widget.attrs)
            widget.is_required = field.required
            if listed is None:
                widget.choices = field.choices
            elif name == "disclosure":
                widget.choices = LazyChoices(listed)
            else:
                widget.choices = LazyChoices(_with_empty(field.empty_label, listed))
            field.widget = widget

    def _recent_disclosure_choices(self) -> list:
        """The newest visible disclosures and the chosen one; any is accepted.

        A county has hundreds of thousands: the select offers the newest
        DISCLOSURE_CHOICES (all of them for one town) and the one preset from a
        disclosure's page; validation still takes any the visitor may read.
        The newest are kept in the value cache per audience (`Reader.key`:
        a party member's 党内 titles never reach a visitor's form).
        """
        # Asked twice a render (Select.use_required_attribute, then render).
        if self._disclosure_choices is not None:
            return self._disclosure_choices
        offered, _html = self._newest_disclosures()
        offered = offered + self._chosen_disclosure(offered)
        offered.sort(key=lambda row: (row[1], -row[2]))
        self._disclosure_choices = [
            ("", self.fields["disclosure"].empty_label),
            *((row[0], row[3]) for row in offered),
        ]
        return self._disclosure_choices

    def _visible(self):
        return Disclosure.objects.visible_to(self._user)

    def _visible_disclosures(self):
        # Values, not rows: building a hundred rows and their units was four
        # fifths of the form's miss after a publication (core.loaded's
        # bookkeeping on each).
        return self._visible().values_list(*DISCLOSURE_ROW)

    def _newest_disclosures(self) -> tuple[list, str]:
        """The newest visible disclosures, in the select's order, and their
        options' markup (none selected): kept together per audience, until
        a published row changes (PUBLISHED: a publication, a withdrawal, a
        title, a scope, a deletion; not a 回音壁 case, which the form would
        otherwise read them again after) or a unit does (UNITS: a name, an
        order), VALUE_CACHE_SECONDS at most: the clock only adds a row (a
        publication or public date coming due), offered that much later.
        Not kept until the next one (`until_scheduled`): finding it again
        after each publication cost the form more than this list."""

        def newest() -> tuple[list, str]:
            rows = _disclosure_rows(
                self._visible_disclosures().order_by("-published_at")[
                    :DISCLOSURE_CHOICES
                ]
            )
            rows.sort(key=lambda row: (row[1], -row[2]))
            return rows, options((row[0], row[3]) for row in rows)

        return caching.cached(
            f"feedback:form:newest:{self._audience}",
            newest,
            scopes=[PUBLISHED, UNITS],
        )

    def _chosen_disclosure(self, offered: list) -> list:
        """The row of the chosen disclosure if the newest do not hold it (and
        the visitor may read it)."""
        chosen = self.data.get("disclosure") or self.initial.get("disclosure")
        if str(chosen).isdigit() and all(row[0] != int(chosen) for row in offered):
            return _disclosure_rows(self._visible_disclosures().filter(pk=chosen))
        return []

    def kept_html(self) -> SafeString:
        """The form's markup, as `{{ form|crispy }}` writes it.

        A form shown for the first time (not bound: nothing typed, no error)
        is the same for everyone but for its token, its question, what its
        selects offer (the disclosures: per audience) and which option is
        selected (a preset unit, item or disclosure). Its markup is kept
        (`_shell`) with slots for those, filled in here from the selects'
        kept options; a bound form (rejected, shown again with what was
        typed and the errors) is rendered in full."""
        from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form

        if self.is_bound or settings.VALUE_CACHE_SECONDS <= 0:
            return as_crispy_form(self)
        shell, steady = caching.cached(
            f"feedback:form:shell:{get_language()}", _shell, scopes=[]
        )
        if _steady(self.initial) != steady:
            return as_crispy_form(self)  # a preset the shell was not made with
        fills = {
            slot("form-token"): escape(self.initial["token"]),
            slot("form-question"): escape(self.fields["challenge"].label),
        }
        for name in SELECTS:
            field = self.fields[name]
            value = field.widget.format_value(self[name].value())[0]
            fills[slot(f"options-{name}")] = select_value(
                options([("", field.empty_label)] if name != "kind" else [])
                + self._options(name),
                value,
            )
        return mark_safe(  # the shell is crispy's; each fill escaped
            re.sub("|".join(map(re.escape, fills)), lambda m: fills[m[0]], shell)
        )

    def _options(self, name: str) -> str:
        """The options of a select but its empty one, none selected."""
        if name == "disclosure":
            offered, html = self._newest_disclosures()
            if extra := self._chosen_disclosure(offered):
                offered = sorted(offered + extra, key=lambda row: (row[1], -row[2]))
                html = options((row[0], row[3]) for row in offered)
            return html
        if name == "kind":
            return options(self.fields["kind"].choices)
        # Units, items and topics: as kept as the lists they are made from.
        return caching.cached(
            f"feedback:form:options:{name}",
            lambda: options(SELECT_OPTIONS[name]()),
            scopes=SELECT_SCOPES[name],
        )

    def prepare_retry(self, *, token_spent: bool = False) -> None:
        """Before showing a rejected form again: what was typed stays; the
        token and its answer stay or give way to a new question as
        antiabuse.retry_token decides, and the question shown matches the
        token."""
        token = antiabuse.retry_token(
            self.token_value,
            spent=token_spent,
            answer_refused="challenge" in self.errors,
        )
        if token is None:
            return
        self.data = self.data.copy()
        self.data[self.add_prefix("token")] = token
        self.data[self.add_prefix("challenge")] = ""
        self._read_token()

    def clean_title(self):
        title = refuse_markup(self.cleaned_data["title"]).strip()
        if not title:
            raise forms.ValidationError(_("请填写标题。"))
        return title

    def clean_text(self):
        text = refuse_markup(self.cleaned_data["text"]).strip()
        limit = settings.FEEDBACK_TEXT_MAX_LENGTH
        if not text:
            raise forms.ValidationError(_("请填写内容。"))
        if len(text) > limit:
            raise forms.ValidationError(
                _("内容不能超过 %(limit)d 个字（现在 %(n)d 个字），请精简后再提交。")
                % {"limit": limit, "n": len(text)}
            )
        return text

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_phone(self):
        phone = normalize_phone(self.cleaned_data["phone"])
        if phone and not is_valid_phone(phone):
            raise forms.ValidationError(
                _("电话号码格式不正确：请填写11位手机号，或固定电话如 0830-5212345。")
            )
        return phone

    def clean(self):
        cleaned = super().clean()
        refusal = antiabuse.form_refusal(
            self.token_value, trap=cleaned.get("website", "")
        )
        if refusal:
            raise forms.ValidationError(refusal)
        wrong = antiabuse.answer_refusal(self.token_value, cleaned.get("challenge"))
        if wrong:
            self.add_error("challenge", wrong)
        unit, disclosure = cleaned.get("unit"), cleaned.get("disclosure")
        if unit and disclosure and disclosure.unit_id != unit.pk:
            self.add_error("disclosure", _("所选公开内容不属于所选单位，请重新选择。"))
        if disclosure and not cleaned.get("item"):
            cleaned["item"] = disclosure.item
        if cleaned.get("kind") in CONFIDENTIAL_KINDS:
            # Never published, whatever was ticked.
            cleaned["consent_to_publish"] = False
        return cleaned

    @property
    def form_token(self) -> str:
        return self.token_value["n"]

    def submission_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}

    def _get_validation_exclusions(self):
        # A foreign key whose form field returned a row has been checked by its
        # queryset (as narrow as the model's check or narrower: visible_to for
        # disclosures): skip the model's second look-up of the same row. The
        # database's foreign keys still hold when the row is inserted.
        exclude = super()._get_validation_exclusions()
        return exclude | {
            name
            for name in FOREIGN_KEYS
            if isinstance(self.cleaned_data.get(name), models.Model)
        }


SELECTS = ("kind", "unit", "item", "disclosure", "tag")


def _steady(initial: dict) -> dict:
    """The initial values a shell is made with: all but the token and the
    selects' (filled in for each request)."""
    return {k: v for k, v in initial.items() if k not in SELECTS and k != "token"}


def _shell() -> tuple[str, dict]:
    """The markup of a form shown for the first time, with slots (core.slots)
    for the token, the question and each select's options; and the initial
    values of the other fields it was made with (a form with others is
    rendered in full). Audience-free: made from a visitor's form, whose
    disclosure choices are never written into it."""
    from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form

    form = SubmissionForm()
    form.initial["token"] = slot("form-token")
    form.fields["challenge"].label = slot("form-question")
    form._bound_fields_cache.clear()
    for name in SELECTS:
        field = form.fields[name]
        widget = QuickSelect(attrs=field.widget.attrs)
        widget.options_slot = True
        widget.is_required = field.required
        # Only what `required` is decided from: the first option.
        widget.choices = [("", field.empty_label if name != "kind" else "")]
        field.widget = widget
    return str(as_crispy_form(form)), _steady(form.initial)


# What the disclosure select reads of a row (`_disclosure_rows`).
DISCLOSURE_ROW = ("pk", "unit__order", "published_at", "unit__name", "title")


def _disclosure_rows(disclosures) -> list[tuple]:
    """(pk, unit order, published timestamp, label): what the select shows,
    from `DISCLOSURE_ROW` values."""
    return [
        (pk, order, published_at.timestamp(), f"{unit_name} · {title}")
        for pk, order, published_at, unit_name, title in disclosures
    ]


def _with_empty(empty_label, options):
    def choices() -> list:
        rows = options()
        return rows if empty_label is None else [("", empty_label), *rows]

    return choices


# The choices of the form's selects, as each field's queryset lists them
# (order and labels: the models' ordering and __str__), kept in the value cache.


SELECT_OPTIONS = {
    "unit": board_unit_options,
    "item": lambda: _item_options(),
    "tag": lambda: _tag_options(),
}
# What each list is kept under (the lists' own scopes).
SELECT_SCOPES = {"unit": [UNITS], "item": [CATALOG], "tag": [TAGS]}


def _item_options() -> list:
    return caching.cached(
        "feedback:form:items",
        lambda: [(i.pk, str(i)) for i in Item.objects.only("code", "name")],
        scopes=[CATALOG],
    )


def _tag_options() -> list:
    return caching.cached(
        "feedback:form:tags",
        lambda: [(t.pk, str(t)) for t in Tag.objects.all()],
        scopes=[TAGS],
    )


class TrackForm(forms.Form):
    code = forms.CharField(
        label=_("查询码"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocapitalize": "characters", "autocomplete": "off"}
        ),
        error_messages={"required": _("请输入查询码。")},
    )

    def clean_code(self):
        code = normalize_tracking_code(self.cleaned_data["code"])
        # Letters and digits only: anything else (a "/" above all) cannot be a
        # code and would not fit the tracking page's URL.
        if not code.isascii() or not code.isalnum():
            raise forms.ValidationError(_("查询码只包含字母和数字，请核对后重新输入。"))
        return code


class RatingForm(forms.Form):
    rating = forms.ChoiceField(
        label=_("您对答复是否满意？"),
        choices=Rating.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择评价。")},
    )
    comment = forms.CharField(
        label=_("意见（选填）"),
        max_length=500,
        required=False,
        validators=[refuse_control_characters],
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("选择“不满意”时，您的意见会转给工作人员重新办理。"),
    )

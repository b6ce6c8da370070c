from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog import periods
from catalog.models import SCOPE_WIDTH, Item
from core.dates import validate_date
from core.security import refuse_control_characters, refuse_markup

from . import archives
from .models import (
    Attachment,
    Disclosure,
    DisclosureTable,
    InspectionPhoto,
    NoticeOutcome,
)
from .services import RESTORABLE_FIELDS
from .tables import parse_table
from .uploads import clean_photo, clean_upload


def stored_file_text(file) -> str:
    """A stored file as staff read it: its type, not its storage path
    ("attachments/2026/12/<random>.jpg" is neither Chinese nor meaningful)."""
    _stem, dot, ext = file.name.rpartition(".")
    if dot and ext.isalnum():
        return str(_("已上传的文件（%(type)s）") % {"type": ext.upper()})
    return str(_("已上传的文件"))


class StoredFile:
    """What ClearableFileInput shows of the current file: its URL, our text."""

    def __init__(self, file):
        self.url = file.url
        self.text = stored_file_text(file)

    def __str__(self):
        return self.text


class StoredFileInput(forms.ClearableFileInput):
    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if context["widget"]["is_initial"]:
            context["widget"]["value"] = StoredFile(value)
        return context


class AttachmentForm(forms.ModelForm):
    class Meta:
        model = Attachment
        fields = ["kind", "title", "file"]
        widgets = {"file": StoredFileInput}
        help_texts = {
            "file": _(
                "照片和 PDF 先去除作者、软件、拍摄地点等信息再保存；加密、损坏，"
                "或含脚本、内嵌文件、数字签名的 PDF 不能上传。"
            )
        }

    # A photo is taken with the phone's camera (capture) or chosen among
    # pictures; a PDF among files. static/js/disclosure_entry.js switches
    # these when the row's kind is changed.
    PHOTO_INPUT = {"accept": "image/*", "capture": "environment"}
    DOCUMENT_INPUT = {"accept": "application/pdf,.pdf"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "file" not in self.fields:  # read-only (AttachmentInline.get_fields)
            return
        kind = (
            self.data.get(self.add_prefix("kind"))
            if self.is_bound
            else self.initial.get("kind") or self.instance.kind
        )
        widget = self.fields["file"].widget
        widget.attrs["data-attachment-file"] = ""
        if kind == Attachment.Kind.DOCUMENT:
            widget.attrs.update(self.DOCUMENT_INPUT)
        else:
            widget.attrs.update(self.PHOTO_INPUT)

    def clean_caption(self):
        # Plain text like the cells and the title: markup is refused.
        return refuse_markup(self.cleaned_data["caption"])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload and upload != self.initial.get("file"):
            self._clean = clean_upload(upload)
        return upload

    def save(self, commit=True):
        attachment = super().save(commit=False)
        cleaned = getattr(self, "_clean", None)
        if cleaned is not None:
            name = self.cleaned_data["file"].name
            attachment.file.save(name, cleaned.content, save=False)
            attachment.content_type = cleaned.content_type
            attachment.size = cleaned.content.size
            if cleaned.thumbnail is not None:
                attachment.thumbnail.save("thumb.jpg", cleaned.thumbnail, save=False)
        if commit:
            attachment.save()
        return attachment


class DisclosureTableForm(forms.ModelForm):
    """A table uploaded as a spreadsheet, read and checked on upload
    (disclosure.tables); the file itself is kept for the record only."""

    class Meta:
        model = DisclosureTable
        fields = ["caption", "file"]
        # No "currently: <link>": the original is never served.
        widgets = {
            "file": forms.FileInput(
                attrs={
                    "accept": ".xlsx,.csv,application/vnd.openxmlformats-"
                    "officedocument.spreadsheetml.sheet,text/csv"
                }
            )
        }
        help_texts = {
            "file": _(
                "Excel（.xlsx）或 CSV 文件，读取第一张工作表：表头一行，"
                "金额列的列名注明“（元）”，最后一行为“合计”。网页上显示为表格；"
                "原文件只存档，不公开。"
            )
        }

    def clean_caption(self):
        # Plain text like the cells and the title: markup is refused.
        return refuse_markup(self.cleaned_data["caption"])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload and upload != self.initial.get("file"):
            self._parsed = parse_table(upload)
        return upload

    def save(self, commit=True):
        table = super().save(commit=False)
        parsed = getattr(self, "_parsed", None)
        if parsed is not None:
            table.data = parsed.as_data()
            table.size = self.cleaned_data["file"].size
        if commit:
            table.save()
        return table


class InspectionPhotoForm(forms.ModelForm):
    """A photo of a check: only a picture, cleaned as an attachment's photo is."""

    class Meta:
        model = InspectionPhoto
        fields = ["image", "caption"]
        # No "currently: <link>": the file is served only through
        # disclosure.views.inspection_photo (the preview column links it).
        widgets = {"image": forms.FileInput(attrs={"accept": "image/*"})}
        help_texts = {
            "image": _(
                "JPEG、PNG 或 WebP 照片；保存前去除拍摄地点、设备等信息并重新编码。"
            )
        }

    def clean_image(self):
        upload = self.cleaned_data["image"]
        if upload and upload != self.initial.get("image"):
            self._clean = clean_photo(upload)
        return upload

    def save(self, commit=True):
        photo = super().save(commit=False)
        cleaned = getattr(self, "_clean", None)
        if cleaned is not None:
            name = self.cleaned_data["image"].name
            photo.image.save(name, cleaned.content, save=False)
            photo.content_type = cleaned.content_type
            photo.thumbnail.save("thumb.jpg", cleaned.thumbnail, save=False)
        if commit:
            photo.save()
        return photo


class TransitionForm(forms.Form):
    """The comment, reason or publication time a workflow step asks for."""

    comment = forms.CharField(
        label=_("意见"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[refuse_control_characters],
    )
    publish_at = forms.DateTimeField(
        label=_("定时发布时间"),
        required=False,
        help_text=_("留空则审批后由发布人发布；填写则到时自动公开。"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        validators=[validate_date],
    )

    secrecy_checked = forms.BooleanField(
        label=_("已进行保密审查"),
        required=False,
        help_text=_(
            "确认内容不涉及国家秘密、工作秘密、商业秘密和个人隐私"
            "（如身份证号、电话、家庭住址、病情）。"
        ),
    )
    secrecy_conclusion = forms.CharField(
        label=_("保密审查意见"),
        required=False,
        initial=_("经保密审查，不涉及国家秘密、工作秘密和个人隐私，同意公开。"),
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[refuse_control_characters],
    )

    def __init__(self, *args, transition: str, **kwargs):
        super().__init__(*args, **kwargs)
        if transition != "approve":
            del self.fields["publish_at"]
        if transition == "review":
            self.fields["secrecy_checked"].required = True
            self.fields["secrecy_checked"].error_messages["required"] = _(
                "审核须先完成保密审查，并勾选确认。"
            )
            self.fields["secrecy_conclusion"].required = True
            self.fields["comment"].label = _("审核意见（可不填）")
            self.order_fields(["secrecy_checked", "secrecy_conclusion", "comment"])
        else:
            del self.fields["secrecy_checked"]
            del self.fields["secrecy_conclusion"]
        if transition in ("return", "withdraw"):
            self.fields["comment"].required = True
            self.fields["comment"].label = (
                _("退回意见") if transition == "return" else _("撤回原因")
            )
        if transition in ("submit", "publish"):
            del self.fields["comment"]


# The part of the year a period covers, in the period's select: "Y" is the
# whole year (the stored key is the year alone, "" in periods.PARTS).
WHOLE_YEAR = "Y"
PART_GROUPS = [
    (periods.YEAR, _("年度")),
    (periods.HALF, _("半年")),
    (periods.QUARTER, _("季度")),
    (periods.MONTH, _("月份")),
]
# The years offered before the current one: older records keep theirs.
OLDEST_YEAR_OFFERED = 2000


class PeriodWidget(forms.MultiWidget):
    """所属期间 chosen, not typed: a year, then the part of it (全年, 上半年,
    第三季度, 9月). Works without JavaScript; static/js/disclosure_entry.js
    narrows the parts to the chosen item's frequency. A single `period`
    value ("2011-09", as scripts and older forms post it) is read too."""

    def __init__(self, attrs=None):
        # The year is named by the field's label (所属期间); the part by its own.
        year = forms.Select()
        part = forms.Select(attrs={"aria-label": _("所属期间：全年、半年、季度或月份")})
        super().__init__([year, part], attrs)

    def id_for_label(self, id_):
        # The field's label names the year's select (Django's MultiWidget
        # gives its label no target, which leaves the select unnamed: axe
        # select-name); the part's select has its own aria-label.
        return f"{id_}_0" if id_ else id_

    def decompress(self, value):
        try:
            period = periods.Period.parse(value)
        except periods.InvalidPeriod:
            return [None, None]
        return [str(period.year), period.part or WHOLE_YEAR]

    def value_from_datadict(self, data, files, name):
        if f"{name}_0" not in data and name in data:
            year, _sep, part = str(data[name]).partition("-")
            return [year, part or WHOLE_YEAR]
        return super().value_from_datadict(data, files, name)


class PeriodField(forms.MultiValueField):
    widget = PeriodWidget

    def __init__(self, **kwargs):
        message = _("请选择所属期间：年份和期间。")
        super().__init__(
            # A forged value (9999-Q5, markup, a page of text) gets one
            # message, not the period column's length and character checks.
            fields=[
                forms.CharField(
                    validators=[
                        RegexValidator(
                            r"^\d{4}\Z", _("期间格式不正确：请从列表中选择年份。")
                        )
                    ],
                ),
                forms.CharField(
                    validators=[
                        RegexValidator(
                            rf"^(\d{{2}}|Q[1-4]|H[12]|{WHOLE_YEAR})\Z",
                            _("期间格式不正确：请从列表中选择期间。"),
                        )
                    ],
                ),
            ],
            require_all_fields=True,
            error_messages={"required": message, "incomplete": message},
            **kwargs,
        )

    def compress(self, data_list):
        if not data_list:
            return ""
        year, part = data_list
        return year if part == WHOLE_YEAR else f"{year}-{part}"

    def offer(self, *, kind: str | None, keep: str = "", today=None) -> None:
        """The years (this one first) and the parts of a year the item's
        frequency allows (every kind for a 随时 item, or none chosen yet);
        a record's own period stays offered whatever it is."""
        today = today or timezone.localdate()
        years = list(range(today.year, OLDEST_YEAR_OFFERED - 1, -1))
        kept_year, kept_part = PeriodWidget().decompress(keep)
        if kept_year and int(kept_year) not in years:
            years = sorted([*years, int(kept_year)], reverse=True)
        year_select, part_select = self.widget.widgets
        year_select.choices = [
            ("", _("选择年份")),
            *((str(y), _("%(year)s年") % {"year": y}) for y in years),
        ]
        groups = [
            (label, [(part, self._label(part)) for part in self._parts(group_kind)])
            for group_kind, label in PART_GROUPS
            if not kind or group_kind == kind or kept_part in self._parts(group_kind)
        ]
        if len(groups) == 1:
            groups = groups[0][1]
        part_select.choices = [("", _("选择期间")), *groups]

    @staticmethod
    def _label(part: str) -> str:
        return periods.part_label("" if part == WHOLE_YEAR else part)

    @staticmethod
    def _parts(kind: str) -> list[str]:
        return [p or WHOLE_YEAR for p in periods.PARTS[kind]]


class DisclosureAdminForm(forms.ModelForm):
    class Meta:
        model = Disclosure
        # The admin's fieldsets decide the fields shown; these are the ones read here.
        fields = ["unit", "item", "title", "body", "period"]
        help_texts = {
            "display_until": _(
                "留空则发布时按公开时限确定：每月和随时事项展示一个月，每季度三个月，"
                "每半年六个月，每年一年，公示至少到公示期满；长期事项一直展示。"
            ),
            "forms": _("只能选择该公开事项规定的公开形式。"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        item = self._chosen_item()
        if "period" in self.fields:
            self._choose_period(item)
        if "forms" in self.fields and item is not None and not self.is_bound:
            # Offered: the forms the item allows, and those the record has.
            # A posted form is judged by clean_forms, with its own message.
            allowed = item.forms.all()
            if self.instance.pk:
                allowed = allowed | self.instance.forms.all()
            if item.forms.exists():
                self.fields["forms"].queryset = allowed.distinct()

    def _chosen_item(self) -> Item | None:
        """The item as posted, else the record's or the form's initial one."""
        key = (
            self.data.get("item") if self.is_bound else self.initial.get("item")
        ) or self.instance.item_id
        if key and str(key).isdecimal() and len(str(key)) < 19:
            return Item.objects.filter(pk=key).first()
        return None

    def _choose_period(self, item: Item | None) -> None:
        field = PeriodField(
            label=self.fields["period"].label,
            help_text=_(
                "先选年份，再选全年、半年、季度或月份；须与事项的公开时限一致。"
            ),
        )
        kind = item.period_kind if item else None
        field.offer(kind=kind, keep=self.instance.period or "")
        self.fields["period"] = field
        if not self.instance.pk and not self.is_bound and item is not None:
            current = item.current_period(timezone.localdate())
            if current is not None and "period" not in self.initial:
                self.initial["period"] = current.key

    def clean_title(self):
        return refuse_markup(self.cleaned_data["title"])

    def clean_body(self):
        return refuse_markup(self.cleaned_data["body"])

    def clean_period(self):
        period = self.cleaned_data["period"]
        was_published = self.instance.pk and self.instance.status in (
            Disclosure.Status.PUBLISHED,
            Disclosure.Status.WITHDRAWN,
        )
        # A published notice stays in its year: the year is filed (sealed
        # years, the yearly archive) and named by its index number. Only a
        # well-formed period has a year; a malformed one gets the model's own
        # answer (format, control characters) instead of a wrong one here.
        try:
            new_year = str(periods.Period.parse(period).start.year)
        except periods.InvalidPeriod:
            return period
        old_year = self.instance.period[:4]
        if was_published and new_year != old_year:
            raise forms.ValidationError(
                _(
                    "已发布的公开内容只能在原年度（%(year)s年）内更正所属期间。"
                    "如确属另一年度，请撤回后重新提交审核、发布。"
                )
                % {"year": old_year}
            )
        return period

    def _was_published(self) -> bool:
        return bool(self.instance.pk) and self.instance.status in (
            Disclosure.Status.PUBLISHED,
            Disclosure.Status.WITHDRAWN,
        )

    # Which scopes the item allows is the model's rule (Disclosure.clean);
    # here, what was published is read by those it was reviewed for, no more.
    def clean_scope(self):
        scope = self.cleaned_data["scope"]
        if (
            self._was_published()
            and SCOPE_WIDTH[scope] < SCOPE_WIDTH[self.instance.scope]
        ):
            raise forms.ValidationError(
                _(
                    "已发布的公开内容不能扩大公开范围。如需扩大，"
                    "请撤回后重新提交审核、发布。"
                )
            )
        return scope

    def clean_public_from(self):
        public_from = self.cleaned_data["public_from"]
        if public_from:
            validate_date(public_from)  # the range first, as for every date
        if self._was_published() and public_from != self.instance.public_from:
            raise forms.ValidationError(
                _(
                    "已发布内容的社会公开时间不能更改。如需更改，"
                    "请撤回后重新提交审核、发布。"
                )
            )
        return public_from

    def _update_errors(self, errors):
        # Model.clean() judges the row with the old period when the form has
        # refused the new one (a forged value): one message, not two.
        if hasattr(errors, "error_dict"):
            refused = set(self._errors) - {NON_FIELD_ERRORS}
            for name in [n for n in errors.error_dict if n in refused]:
                del errors.error_dict[name]
            if not errors.error_dict:
                return
        super()._update_errors(errors)

    def clean(self):
        data = super().clean()
        self._check_forms(data)
        # A closed year takes no new records (统一公开资料档案).
        if not self.instance.pk and data.get("period"):
            probe = Disclosure(period=data["period"])
            if archives.is_sealed(probe):
                from .services import SEALED_MESSAGE

                raise forms.ValidationError(SEALED_MESSAGE)
        return data

    def _check_forms(self, data) -> None:
        """Only the forms the item allows (五统一: unified form); a record
        keeps those it had, should the item's list have changed since."""
        item = data.get("item") or (
            self.instance.item if self.instance.item_id else None
        )
        chosen = data.get("forms")
        if item is None or not chosen:
            return
        allowed = set(item.forms.all())
        if not allowed:
            return
        kept = set(self.instance.forms.all()) if self.instance.pk else set()
        refused = [form for form in chosen if form not in allowed | kept]
        if refused:
            self.add_error(
                "forms",
                _("“%(item)s”不能采用“%(refused)s”公开，可选的公开形式：%(allowed)s。")
                % {
                    "item": item.name,
                    "refused": "、".join(f.name for f in refused),
                    "allowed": "、".join(
                        f.name for f in sorted(allowed, key=lambda f: (f.order, f.name))
                    ),
                },
            )


class RestoredTextForm(DisclosureAdminForm):
    """The change form's checks of the text alone, for an earlier version's
    text being restored (services.restore_version checks the row itself)."""

    class Meta(DisclosureAdminForm.Meta):
        fields = RESTORABLE_FIELDS

    def _post_clean(self):
        # Model.clean() judges the whole row, which a restore does not change.
        pass


class OutcomeForm(forms.Form):
    """A 公示's outcome, recorded once its window has ended."""

    outcome = forms.ChoiceField(
        label=_("公示结果"),
        choices=NoticeOutcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择公示结果。")},
    )
    text = forms.CharField(
        label=_("异议及处理情况"),
        required=False,
        help_text=_("收到异议时，写明异议和处理结果。"),
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[refuse_control_characters],
    )

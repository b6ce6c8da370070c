import re

from django import forms
from django.utils.translation import gettext_lazy as _

from core.security import refuse_markup

from . import antiabuse
from .models import ApplicantKind, InfoRequest, normalize_code

PHONE_RE = re.compile(r"^(1[3-9]\d{9}|(0\d{2,3})?\d{7,8})$")


class ApplicationForm(forms.ModelForm):
    """The public application (条例 art. 29): no login; the applicant's
    particulars are seen by the handling staff only."""

    # A field people never see (bots fill it in) and the signed form token.
    website = forms.CharField(
        label=_("网址（请勿填写）"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    token = forms.CharField(widget=forms.HiddenInput)

    class Meta:
        model = InfoRequest
        fields = [
            "applicant_kind",
            "name",
            "id_number",
            "credit_code",
            "contact_person",
            "phone",
            "address",
            "email",
            "description",
            "document_number",
            "purpose",
            "delivery",
            "consent",
        ]
        labels = {
            "name": _("姓名或组织名称"),
            "id_number": _("身份证号码（公民填写）"),
            "credit_code": _("统一社会信用代码（法人或其他组织填写）"),
            "contact_person": _("联系人（法人或其他组织填写）"),
            "consent": _("我已阅读申请须知，所填信息真实"),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["applicant_kind"].label = _("申请人类型")
        self.fields["applicant_kind"].choices = [
            (ApplicantKind.CITIZEN, _("公民")),
            (ApplicantKind.BUSINESS, _("法人或其他组织：商业企业")),
            (ApplicantKind.RESEARCH, _("法人或其他组织：科研机构")),
            (ApplicantKind.WELFARE, _("法人或其他组织：社会公益组织")),
            (ApplicantKind.LEGAL, _("法人或其他组织：法律服务机构")),
            (ApplicantKind.OTHER, _("法人或其他组织：其他")),
        ]
        self.fields["name"].error_messages["required"] = _("请填写姓名或组织名称。")
        self.fields["description"].error_messages["required"] = _(
            "请描述所需的政府信息。"
        )
        self.fields["phone"].help_text = _("电话、通信地址、电子邮箱至少填写一项。")
        for name in ("name", "id_number", "credit_code", "phone", "address", "email"):
            self.fields[name].help_text = self.fields[name].help_text or _(
                "仅承办工作人员可见，不会公开。"
            )
        if not self.is_bound:
            self.initial["token"] = antiabuse.new_form_token()
        token = self.data.get("token") if self.is_bound else self.initial["token"]
        self.token_value = antiabuse.read_form_token(
            token if isinstance(token, str) else ""
        )

    def prepare_retry(self) -> None:
        """A rejected form keeps what was typed; an expired token gives way to
        a new one."""
        if self.token_value is None:
            self.data = self.data.copy()
            self.data["token"] = antiabuse.new_form_token()

    def _plain(self, name: str) -> str:
        return refuse_markup(self.cleaned_data[name]).strip()

    def clean_name(self):
        return self._plain("name")

    def clean_description(self):
        value = self._plain("description")
        if not value:
            raise forms.ValidationError(_("请描述所需的政府信息。"))
        return value

    def clean_document_number(self):
        return self._plain("document_number")

    def clean_purpose(self):
        return self._plain("purpose")

    def clean_address(self):
        return self._plain("address")

    def clean_contact_person(self):
        return self._plain("contact_person")

    def clean_id_number(self):
        return self.cleaned_data["id_number"].strip().upper()

    def clean_credit_code(self):
        return self.cleaned_data["credit_code"].strip().upper()

    def clean_phone(self):
        phone = re.sub(r"[\s\-()（）]", "", self.cleaned_data["phone"])
        if phone and not PHONE_RE.match(phone):
            raise forms.ValidationError(
                _("电话号码格式不正确：请填写11位手机号，或固定电话如 0830-5212345。")
            )
        return phone

    def clean_consent(self):
        if not self.cleaned_data["consent"]:
            raise forms.ValidationError(_("请阅读申请须知并勾选确认。"))
        return True

    def clean(self):
        cleaned = super().clean()
        refusal = antiabuse.form_refusal(
            self.token_value, trap=cleaned.get("website", "")
        )
        if refusal:
            raise forms.ValidationError(refusal)
        kind = cleaned.get("applicant_kind")
        if kind == ApplicantKind.CITIZEN:
            cleaned["credit_code"] = cleaned["contact_person"] = ""
        elif kind:
            cleaned["id_number"] = ""
            if not cleaned.get("contact_person"):
                self.add_error("contact_person", _("请填写联系人。"))
        return cleaned

    def application_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}

    @property
    def form_token(self) -> str:
        return self.token_value["n"]


class TrackForm(forms.Form):
    code = forms.CharField(
        label=_("受理编号"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocapitalize": "characters", "autocomplete": "off"}
        ),
        error_messages={"required": _("请输入受理编号。")},
    )

    def clean_code(self):
        code = normalize_code(self.cleaned_data["code"])
        if not code.isascii() or not code.isalnum():
            raise forms.ValidationError(
                _("受理编号只包含字母和数字，请核对后重新输入。")
            )
        return code

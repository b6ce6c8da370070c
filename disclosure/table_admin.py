"""Spreadsheets in the disclosure admin: the inline that uploads a table
(read and checked by disclosure.tables), the template to fill in, and the
bulk import of drafts (disclosure.bulk_import). The
workflow rules are the attachments': a draft's tables are for whoever may
edit it; once published, only the town administrator replaces a table (or
adds one), which is a public correction (DisclosureAdmin.save_related), the
earlier table kept in its history; a published table is never deleted."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import bulk_import, services, tables
from .forms import DisclosureTableForm
from .models import Disclosure, DisclosureTable

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_URL_NAME = "admin:disclosure_disclosure_table_template"


def _published(disclosure) -> bool:
    return disclosure is not None and disclosure.status in (
        Disclosure.Status.PUBLISHED,
        Disclosure.Status.WITHDRAWN,
    )


class TableFormSet(BaseInlineFormSet):
    """A POST without this inline's management form (one built before tables
    existed, or by a script that fills in the text only) means "no change to
    the tables", not a broken form."""

    def __init__(self, data=None, *args, prefix=None, **kwargs):
        prefix = prefix or self.get_default_prefix()
        if data is not None and f"{prefix}-TOTAL_FORMS" not in data:
            data = data.copy()
            data[f"{prefix}-TOTAL_FORMS"] = "0"
            data[f"{prefix}-INITIAL_FORMS"] = "0"
        super().__init__(data, *args, prefix=prefix, **kwargs)


class DisclosureTableInline(admin.StackedInline):
    model = DisclosureTable
    form = DisclosureTableForm
    formset = TableFormSet
    max_num = 5
    fields = ["caption", "file", "summary"]
    readonly_fields = ["summary"]

    def get_extra(self, request, obj=None, **kwargs):
        # A blank form when there is none yet: adding one needs no JavaScript.
        return 0 if obj is not None and obj.tables.exists() else 1

    def get_fields(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            # Read-only: no link to the original (media is never served).
            return ["caption", "summary"]
        return super().get_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or services.can_edit_content(obj, request.user)
        )

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return super().has_delete_permission(request, obj)
        return not _published(obj) and services.can_edit_content(obj, request.user)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "file":
            field.help_text = format_html(
                # A block of its own: a link inside the help text's sentence
                # would be told apart by colour alone (axe link-in-text-block).
                '{}<div class="table-template"><a href="{}" download>{}</a></div>',
                field.help_text,
                reverse(TEMPLATE_URL_NAME),
                gettext("下载村级财务收支明细表模板（.xlsx）"),
            )
        return field

    @admin.display(description=_("已读取的内容"))
    def summary(self, table):
        if not table.pk:
            return "—"
        parts = [
            gettext("%(n)d 行") % {"n": table.row_count},
            *(
                f"{head.text} {cell.text}"
                for head, cell in zip(table.header, table.totals, strict=False)
                if cell.is_amount and cell.text
            ),
        ]
        return "；".join(parts)


def template_view(model_admin, request):
    """The 村级财务收支明细表 template, for anyone who may write a disclosure."""
    if not (
        model_admin.has_add_permission(request)
        or model_admin.has_change_permission(request)
    ):
        raise PermissionDenied
    response = HttpResponse(tables.template_workbook(), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(
        True, gettext("村级财务收支明细表模板.xlsx")
    )
    return response


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("导入表"),
        widget=forms.FileInput(attrs={"accept": ".xlsx,.csv"}),
        help_text=_(
            "Excel（.xlsx）或 CSV 文件，每行一条：单位、事项编号、所属期间、标题、"
            "正文、本期无此事项（是/否）。全部无误才导入，导入后为草稿。"
        ),
    )


def import_view(model_admin, request):
    """批量导入: a period's routine disclosures from one sheet, as drafts."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    if request.GET.get("template"):
        response = HttpResponse(bulk_import.template_workbook(), content_type=XLSX)
        response["Content-Disposition"] = content_disposition_header(
            True, gettext("公开内容批量导入表.xlsx")
        )
        return response
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = bulk_import.import_disclosures(
                form.cleaned_data["file"], by=request.user
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("file", message)
        else:
            model_admin.message_user(
                request,
                gettext("已导入 %(n)d 条公开内容，均为草稿，请逐条核对后提交审核。")
                % {"n": len(made)},
            )
            url = reverse("admin:disclosure_disclosure_changelist")
            return redirect(f"{url}?status={Disclosure.Status.DRAFT}")
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "form": form,
        "title": gettext("从表格批量导入公开内容"),
    }
    return TemplateResponse(request, "admin/disclosure/disclosure/import.html", context)

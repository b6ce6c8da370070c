"""Version history in the admin: shown, never saved back wholesale.

django-simple-history's version page is a change form whose POST saves the
old version over the current row, every field of it (status, dates, scope
and all), for anyone who may merely view the object. Here the history list
and the version page are read-only views scoped like the change page (an
object outside the user's queryset is 404, no permission 403), and a POST to
a version asks the model's admin to restore what a version may give back:
`restore_version`, which refuses unless the admin defines it.

Every SimpleHistoryAdmin of the project is a ReadOnlyHistoryAdmin
(tests/security/test_admin_access.py walks them all).
"""

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import (
    display_for_field,
    flatten_fieldsets,
    label_for_field,
    unquote,
)
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.html import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper
from simple_history.utils import get_history_manager_for_model

READ_ONLY_MESSAGE = gettext_lazy("历史版本只能查看，不能保存。")


class ChangesInWords(HistoricalRecordContextHelper):
    """A version's changes as the change page shows values: a choice's label,
    a local time, 是/否 and a dash for nothing (not "published", UTC, "None")."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if field.many_to_many or field.is_relation:
            value = super().prepare_delta_change_value(change, value)
            return value if value not in (None, []) else "—"
        return display_for_field(value, field, "—")


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
    object_history_form_template = "admin/history_version.html"
    # The restore button's label and what it does, when the admin offers one.
    restore_label = ""
    restore_help = ""

    def can_restore_version(self, request, obj) -> bool:
        """Whether to offer the restore button on `obj`'s versions."""
        return False

    def restore_version(self, request, obj, version) -> HttpResponse:
        """Act on a POST to one of `obj`'s versions; raise PermissionDenied or
        ValidationError (with a message for the user) to refuse."""
        raise PermissionDenied(READ_ONLY_MESSAGE)

    def scoped_object(self, request, object_id):
        """The current object as the change page would find it."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("没有找到该记录，或不属于您负责的范围。"))
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def get_historical_record_context_helper(self, request, historical_record):
        return ChangesInWords(self.model, historical_record)

    def history_view(self, request, object_id, extra_context=None):
        self.scoped_object(request, object_id)
        # The extra columns headed by their labels, not their names
        # (templates/simple_history/object_history_list.html).
        columns = [
            (name, label_for_field(name, self.model, self))
            for name in self.get_history_list_display(request)
        ]
        extra_context = {"history_columns": columns, **(extra_context or {})}
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        obj = self.scoped_object(request, object_id)
        version = self._version(obj, version_id)
        status = 200
        if request.method == "POST":
            try:
                return self.restore_version(request, obj, version)
            except PermissionDenied as exc:
                messages.error(request, str(exc) or READ_ONLY_MESSAGE)
                status = 403
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
                status = 400
        context = {
            **self._version_context(request, obj, version),
            **self.admin_site.each_context(request),
            **(extra_context or {}),
        }
        return self.render_history_view(
            request, self.object_history_form_template, context, status=status
        )

    def _version(self, obj, version_id):
        history = get_history_manager_for_model(obj)
        try:
            version_id = history.model._meta.pk.to_python(version_id)
        except ValidationError as exc:
            raise Http404 from exc
        version = history.filter(history_id=version_id).first()
        if version is None:
            raise Http404(_("没有找到该历史版本。"))
        return version

    def _version_context(self, request, obj, version) -> dict:
        """Every field of the version shown read-only, in the change form's layout."""
        shown = version.instance
        shown._state.adding = False
        kept = {field.name for field in version._meta.fields}
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f in kept]})
            for name, options in self.get_fieldsets(request, obj)
        ]
        form_class = forms.modelform_factory(self.model, fields=[])
        admin_form = helpers.AdminForm(
            form_class(instance=shown),
            fieldsets,
            {},
            readonly_fields=flatten_fieldsets(fieldsets),
            model_admin=self,
        )
        opts = self.opts
        name = f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}"
        return {
            "title": _("历史版本：%(object)s") % {"object": shown},
            "adminform": admin_form,
            "object_id": obj.pk,
            "original": shown,
            "version": version,
            "is_popup": False,
            "media": mark_safe(self.media + admin_form.media),
            "errors": helpers.AdminErrorList(admin_form.form, []),
            "app_label": opts.app_label,
            "original_opts": opts,
            "opts": opts,
            "changelist_url": reverse(f"{name}_changelist"),
            "change_url": reverse(f"{name}_change", args=[obj.pk]),
            "history_url": reverse(f"{name}_history", args=[obj.pk]),
            "change_history": False,
            "revert_disabled": True,
            "can_restore": self.can_restore_version(request, obj),
            "restore_label": self.restore_label,
            "restore_help": self.restore_help,
            "add": False,
            "change": True,
            "has_add_permission": False,
            "has_view_permission": True,
            "has_change_permission": False,
            "has_delete_permission": False,
            "has_editable_inline_admin_formsets": False,
            "has_file_field": False,
            "has_absolute_url": False,
            "form_url": "",
            "save_as": False,
            "save_on_top": False,
            "show_save": False,
        }

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "catalog"
    verbose_name = _("公开目录")

    def ready(self):
        from django.apps import apps
        from django.db.models.signals import pre_save

        from core import content, security

        from . import models, page_scopes

        security.guard_model_fields(self)
        # The catalog is shown on public pages (the catalog, item pages, the
        # boards' columns, the compliance matrix): every change refreshes them,
        # and the kept figures that count against it (page_scopes.py).
        content.public(
            models.Catalog,
            models.Category,
            models.Item,
            models.ScheduleRule,
            models.Department,
            models.DisclosureForm,
            scopes=page_scopes.catalog_scopes,
            shown_everywhere=True,
        )
        # Whether a save changes what the compliance engine counts, read
        # before it (page_scopes.may_change_counts).
        for sender in apps.get_models():
            if sender._meta.concrete_model in (
                models.Catalog,
                models.Category,
                models.Item,
            ):
                pre_save.connect(
                    page_scopes.note_counted_change,
                    sender=sender,
                    dispatch_uid=f"catalog:counted:{sender._meta.label}",
                )
        # Read by the workflow when a step is taken; the trail keeps what was done.
        content.private(models.ProcedureRule)
        content.cached_views("catalog", "index")

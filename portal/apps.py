from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "portal"
    verbose_name = _("门户")

    def ready(self):
        # The search index follows every save of a disclosure or submission,
        # whichever path saved it (services, admin, demo data): one hook, here.
        from . import search

        post_save.connect(
            search.on_disclosure_saved,
            sender="disclosure.Disclosure",
            dispatch_uid="portal.search.disclosure",
        )
        post_save.connect(
            search.on_submission_saved,
            sender="feedback.Submission",
            dispatch_uid="portal.search.submission",
        )
        post_delete.connect(
            search.on_entry_deleted,
            sender="portal.SearchEntry",
            dispatch_uid="portal.search.entry_deleted",
        )

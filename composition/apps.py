from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy as _


class CompositionConfig(AppConfig):
    """Pages made of every app's content: home, search, feeds, following,
    statistics. The label stays "portal" (its tables and migrations)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "composition"
    label = "portal"
    verbose_name = _("门户")

    def ready(self):
        # What every form and the admin accept (core/security.py):
        # the text and date fields of every model a person writes into.
        from django.apps import apps

        from core.security import guard_model_fields

        for label in ("catalog", "disclosure", "feedback", "portal", "auth"):
            guard_model_fields(apps.get_app_config(label))

        # The search index follows every save of a disclosure or submission,
        # whichever path saved it (services, admin, demo data): one hook, here.
        from . import search

        post_save.connect(
            search.on_disclosure_saved,
            sender="disclosure.Disclosure",
            dispatch_uid="composition.search.disclosure",
        )
        post_save.connect(
            search.on_submission_saved,
            sender="feedback.Submission",
            dispatch_uid="composition.search.submission",
        )
        # Disclosures made 党内 together when their item became 党内 (an UPDATE,
        # no post_save): their entries' facts, and every cached page.
        from disclosure.signals import made_inner_party

        made_inner_party.connect(
            search.on_disclosures_made_inner_party,
            dispatch_uid="composition.search.made_inner_party",
        )
        post_delete.connect(
            search.on_entry_deleted,
            sender="portal.SearchEntry",
            dispatch_uid="composition.search.entry_deleted",
        )
        # The anonymous page cache (core/caching.py): any change to
        # what public pages show makes every cached page stale.
        from core import caching

        for sender in CACHED_CONTENT:
            post_save.connect(
                caching.on_content_saved, sender=sender, dispatch_uid=f"cache:{sender}"
            )
            post_delete.connect(
                caching.on_content_changed,
                sender=sender,
                dispatch_uid=f"cache-delete:{sender}",
            )
        made_inner_party.connect(
            caching.on_content_changed, dispatch_uid="cache:made_inner_party"
        )
        from catalog.models import Item
        from disclosure.models import Disclosure

        for through in (Disclosure.forms.through, Item.forms.through):
            m2m_changed.connect(
                caching.on_content_changed,
                sender=through,
                dispatch_uid=f"cache-m2m:{through._meta.label}",
            )


# What the cached public pages show.
CACHED_CONTENT = [
    "catalog.Catalog",
    "catalog.Category",
    "catalog.Item",
    "catalog.ScheduleRule",
    "disclosure.Unit",
    "disclosure.NoticeBoard",
    "disclosure.Disclosure",
    "disclosure.DisclosureEvent",
    "disclosure.Attachment",
    "feedback.Submission",
    "feedback.Tag",
]

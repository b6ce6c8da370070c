from django.apps import AppConfig
from django.db.models.signals import post_delete
from django.utils.translation import gettext_lazy as _


class CompositionConfig(AppConfig):
    """Pages made of every app's content: home, search, feeds, following,
    statistics. The label stays "portal" (its tables and migrations)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "composition"
    label = "portal"
    verbose_name = _("门户")

    def ready(self):
        from core import content, events, roles, security
        from disclosure import page_scopes as disclosure_scopes
        from disclosure.roles import TOWN_ADMIN

        from . import gov_report, models, search, views

        security.guard_model_fields(self)
        # The search page reads the index. An entry is made with its
        # document, whose own event decides whether pages are stale (and
        # which: the entry's own event names no page).
        content.public(models.SearchEntry, new_rows_wait=True, scopes=lambda e: [])
        # Read by their own pages only, which name no scope (kept until any
        # change), and by no kept figure: the other pages stay kept.
        content.public(
            models.AnnualReport,
            models.GovernmentReport,
            models.DisclosureGuide,
            scopes=content.on_any_page,
        )
        content.private(models.Subscription)
        # Pages that may show anything, living until any change (or the next
        # scheduled one: a disclosure's, a report's publication, the portal
        # turning into an archive: their "截至" day).
        content.cached_views(
            "portal", "stats", "county", scope=disclosure_scopes.everything_as_of
        )
        # The home page: its town's (views.home_scope).
        content.cached_views("portal", "home", scope=views.home_scope)
        # Search: what it finds and in which order changes with a change to
        # an entry holding its words or one of them coming due only (its
        # "recent" window is a shortcut to the same newest matches, not a
        # ranking by the clock): search.page_scope, search.page_due.
        content.cached_views(
            "portal", "search", scope=search.page_scope, due=search.page_due
        )
        content.county_wide("search")
        content.scheduled(gov_report.next_publication)
        # Kept PAGE_CACHE_SECONDS.
        content.cached_views(
            "portal",
            "feed_latest",
            "feed_board",
            "feed_feedback",
            "sitemap",
            "reports",
            "report",
            "report_town",
            "gov_report",
            "gov_report_town",
            "gov_guide",
            "affairs_guide",
        )
        # The yearly report's free text is the town administrator's to write.
        roles.grant(
            TOWN_ADMIN,
            "portal.view_annualreport",
            "portal.add_annualreport",
            "portal.change_annualreport",
            # The 政府信息公开 report (its text, entered figures, publication)
            # and the 公开指南's contact facts.
            "portal.view_governmentreport",
            "portal.add_governmentreport",
            "portal.change_governmentreport",
            "portal.view_disclosureguide",
            "portal.add_disclosureguide",
            "portal.change_disclosureguide",
        )
        # The search index follows its documents, whichever path changed them.
        events.listen(search.on_event, uid="composition.search")
        post_delete.connect(
            search.on_entry_deleted,
            sender=models.SearchEntry,
            dispatch_uid="composition.search.entry_deleted",
        )

from django.apps import AppConfig
from django.core.signals import request_started
from django.utils.translation import gettext_lazy as _


class DisclosureConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "disclosure"
    verbose_name = _("公开栏与公开内容")

    def ready(self):
        from django.contrib.auth.models import Group, User

        from core import (
            audiences,
            content,
            documents,
            events,
            figures,
            security,
            worklist,
        )

        from . import figures as disclosure_figures
        from . import models, page_scopes, roles, services
        from . import worklist as disclosure_worklist

        security.guard_model_fields(self)
        # A change to these names the pages it changes (page_scopes.py); the
        # rest below make every page stale.
        content.public(models.Disclosure, scopes=page_scopes.disclosure_scopes)
        # Parts of a disclosure, shown on its pages only (a table: its page;
        # the board's print, uncached): its scopes.
        content.public(
            models.DisclosureEvent,
            models.Attachment,
            models.DisclosureTable,
            scopes=page_scopes.part_scopes,
        )
        content.scheduled(page_scopes.next_change)
        # The compliance engine counts rows of every scope: an item made 党内
        # changes who may read its rows, not what the engine's kept rows and
        # tallies are (compliance.load_inputs, counts_by_unit).
        content.counted_twins("unit")
        content.uncounted(services.MADE_INNER_PARTY)
        # A unit's name is on every page; the figures kept for other units
        # and towns stay (page_scopes.unit_change_scopes).
        content.public(
            models.Unit,
            scopes=page_scopes.unit_change_scopes,
            shown_everywhere=True,
            unshown_links=("editors",),  # the back office's
        )
        # Shown on pages (every page made again: NAMES), counted by no kept
        # figure: a notice board, a body (named on the public trail and the
        # 回音壁's cards, which follow its name only).
        content.public(
            models.NoticeBoard, scopes=page_scopes.shown_only, shown_everywhere=True
        )
        content.public(
            models.Organisation,
            scopes=page_scopes.body_scopes,
            shown_everywhere=True,
            # Who acts for a body: the back office's, and a member's audience
            # (core.audiences follows it).
            unshown_links=("members",),
        )
        # Counted, never named, by their unit's and town's pages and figures
        # only: 逾期未公开 on the compliance pages and the statistics'
        # on-time shares (obligation events), a unit's compliance page
        # (inspections, rectifications), and the pages that may show
        # anything (/county/, the yearly report: "any"). Not NAMES: a
        # check in one village leaves every other page kept.
        content.public(
            models.ObligationEvent,
            models.Inspection,
            models.Rectification,
            scopes=page_scopes.unit_row_scopes,
        )
        content.private(
            models.ClosedYear,  # the archive pages that show it are not cached
            models.ArchiveExport,
            models.ReminderLog,
            models.PartyMembership,  # read by logged-in pages only
            models.InspectionPhoto,  # staff only (views.inspection_photo)
            models.Disclosure.history.model,
            models.DisclosureTable.history.model,  # the archive's record only
        )
        # The list filtered to one unit: that unit's (page_scopes.list_scope).
        # A branch member's copy of another unit's list: every branch's.
        content.cached_views(
            "disclosure",
            "list",
            scope=page_scopes.list_scope,
            audience=page_scopes.list_audience,
        )
        # The compliance pages: their town's or unit's rows and cases, and
        # what they read of the county (page_scopes.compliance_facts).
        content.cached_views(
            "disclosure",
            "compliance",
            scope=page_scopes.compliance_scope,
            audience=page_scopes.party_audience,
        )
        # A unit's obligations: its filings' titles, as on its board.
        content.cached_views(
            "disclosure",
            "compliance_unit",
            scope=page_scopes.compliance_scope,
            audience=page_scopes.board_audience,
        )
        content.cached_views(
            "disclosure", "boards", "catalog_item", scope=content.everything
        )
        content.cached_views(
            "disclosure",
            "board",
            scope=page_scopes.unit_scope,
            audience=page_scopes.board_audience,
        )
        content.cached_views(
            "disclosure",
            "detail",
            scope=page_scopes.detail_scope,
            audience=page_scopes.detail_audience,
        )
        # Logged-in members get their audience's cached pages: the audience is
        # the scope rule's (`page_audience`, by `Reader`); these changes may
        # move a user to another one.
        audiences.register(
            models.page_audience,
            depends_on=[
                models.PartyMembership,
                models.Organisation,
                models.Unit,  # a branch's unit's slug is in the audience
                models.Organisation.members.through,
                User,
                User.groups.through,
                User.user_permissions.through,
                Group,
                Group.permissions.through,
            ],
        )
        from django.db.models.signals import post_delete, post_save, pre_delete

        # Any sender: a 党组织内部 row saved through a proxy (a review queue).
        post_save.connect(
            services.follow_branch_rows, dispatch_uid="disclosure.follow_branch_rows"
        )

        # Any sender: a disclosure deleted through a proxy (a review queue).
        pre_delete.connect(
            page_scopes.remember_links,
            dispatch_uid="disclosure.page_scopes.remember_links",
        )

        post_delete.connect(
            models.inspections.remove_photo_files,
            sender=models.InspectionPhoto,
            dispatch_uid="disclosure.remove_photo_files",
        )
        documents.register(models.Disclosure)
        unread = disclosure_figures.NO_CASE_COUNTS
        figures.register(disclosure_figures.figures, independent_of=unread)
        figures.register(
            disclosure_figures.on_time_figures, by_day=True, independent_of=unread
        )
        roles.grant_permissions()
        worklist.register(disclosure_worklist.start_page)
        # A disclosure of a 党内 item is 党内: also those made before the item
        # became 党内, whichever way the item was changed (admin, loader, shell).
        events.listen(
            page_scopes.forget_slugs,
            model="disclosure.Unit",
            uid="disclosure.page_scopes.forget_slugs",
        )
        request_started.connect(
            page_scopes.settle_slugs, dispatch_uid="disclosure.settle_slugs"
        )
        events.listen(
            services.on_item_saved,
            model="catalog.Item",
            names=["saved"],
            uid="disclosure.follow_item_scope",
        )

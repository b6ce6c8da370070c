from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "feedback"
    verbose_name = _("回音壁")

    def ready(self):
        from catalog.page_scopes import CATALOG
        from core import content, documents, events, figures, roles, security, worklist
        from disclosure import board_extras, compliance, inspections
        from disclosure import page_scopes as disclosure_page_scopes
        from disclosure.roles import (
            REVIEWER,
            TOWN_ADMIN,
            UNIT_EDITOR,
            VILLAGE_APPROVER,
        )

        from . import figures as feedback_figures
        from . import (
            kept_counts,
            models,
            obligations,
            page_scopes,
            services,
            sheet,
            summary,
        )
        from . import worklist as feedback_worklist

        security.guard_model_fields(self)
        # A new case is not public until accepted: creating one leaves cached
        # pages as they are (their summary counts catch up within
        # PAGE_CACHE_SECONDS); every later change shows at once.
        # The wall's and the monthly sheet's figures count it at once ("wall").
        # One entered already on the wall (answered, by a loader, an import or
        # the shell) is shown at once: its unit's board lists it.
        content.public(
            models.Submission,
            new_rows_wait=lambda case: not case.is_on_wall,
            scopes=page_scopes.submission_scopes,
            new_row_scopes=("wall",),
        )
        # Each unit's counts kept in the database (kept_counts): raised after
        # every change of its cases, or of an earlier round of one.
        events.listen(
            kept_counts.on_case_event,
            model="feedback.Submission",
            uid="feedback-kept-counts-case",
        )
        events.listen(
            kept_counts.on_round_event,
            model="feedback.AnswerRound",
            uid="feedback-kept-counts-round",
        )
        # Counts, not content: a page reads them through the cases' scopes.
        content.private(models.UnitCounts)
        content.public(models.Tag, scopes=page_scopes.tag_scopes, shown_everywhere=True)
        # An earlier round: its case's pages and counts.
        content.public(models.AnswerRound, scopes=page_scopes.round_scopes)
        # A case's staff trail; the public page shows the case's own fields.
        content.private(models.SubmissionEvent, models.AnswerTemplate)
        # The monthly sheet shows the public wall only, the same for everyone.
        # They read cases and what a case shows of its disclosures
        # (page_scopes.py): a case's change, or a linked disclosure's.
        content.cached_views("feedback", "print", scope=page_scopes.wall_scope)
        # Shared by the members of every branch but those linked from the wall.
        content.cached_views(
            "feedback",
            "wall",
            scope=page_scopes.wall_scope,
            audience=page_scopes.case_audience,
        )
        content.cached_views(
            "feedback",
            "detail",
            scope=page_scopes.case_scope,
            audience=page_scopes.case_audience,
        )
        disclosure_page_scopes.register_links(
            page_scopes.linked_cases, page_scopes.shown_disclosures
        )
        # A case's document holds its earlier rounds' answers too.
        documents.register(models.Submission, parts={models.AnswerRound: "submission"})
        # The cases' figures read no catalog row, and no row of a unit but
        # its cases (every change of a case, a new one, a rating and a unit
        # moved name "cases-unit:" and "cases-town:", as for the wall's
        # counts, feedback.summary): a catalog change, or a publication in
        # the town, leaves them kept (composition.stats).
        figures.register(
            feedback_figures.figures, independent_of=(CATALOG, "unit", "town")
        )
        inspections.register_feedback_rate(feedback_figures.answered_on_time_rate)
        # An accepted 点题公开 request is an obligation to disclose.
        compliance.register_requests(
            obligations.accepted_requests, answering=obligations.answering_units
        )
        # The 回音壁 column of a board page (its rows are public Submissions,
        # whose every change bumps the board's cached page).
        board_extras.register(sheet.board_column_html, names=sheet.column_names)
        # The start page's 回音壁 counts (admin index, core.worklist).
        worklist.register(feedback_worklist.start_page)
        roles.grant(TOWN_ADMIN, "feedback.*")
        # The 回音壁 of their units (scoped in feedback/admin.py).
        roles.grant(
            UNIT_EDITOR,
            "feedback.view_submission",
            "feedback.add_submission",
            "feedback.change_submission",
            "feedback.view_submissionevent",
            "feedback.view_tag",
            "feedback.view_answertemplate",
        )
        # The town's staff who act for a body (a town office, 镇纪委; a town
        # leader) and a village's 两委: the cases assigned or escalated to
        # them (services.cases_for, can_handle).
        case_work = (
            "feedback.view_submission",
            "feedback.change_submission",
            "feedback.view_submissionevent",
            "feedback.view_tag",
            "feedback.view_answertemplate",
        )
        roles.grant(REVIEWER, *case_work)
        roles.grant(VILLAGE_APPROVER, *case_work)
        # A case about something that becomes 党内 later (its item, whichever
        # way it is changed, or its disclosure alone) leaves the wall like a
        # case that was 党内 from the start.
        # A new case is counted at once (the wall's summary per unit).
        events.listen(
            summary.on_new_case,
            model="feedback.Submission",
            names=["saved"],
            uid="feedback.summary",
        )
        events.listen(
            services.on_item_saved,
            model="catalog.Item",
            names=["saved"],
            uid="feedback.hold_back_on_item",
        )
        events.listen(
            services.on_disclosure_saved,
            model="disclosure.Disclosure",
            names=["saved"],
            uid="feedback.hold_back_on_disclosure",
        )

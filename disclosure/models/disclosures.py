import functools
import operator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, Min, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from catalog import periods
from catalog.models import SCOPE_WIDTH, BodyKind, Item, Scope, Timing
from catalog.workdays import notice_ends, workdays_between
from core import audiences, caching, compiled
from core.loaded import KeepsLoaded

from .organisations import Organisation
from .units import KeptForDisclosure, Unit

INNER_PARTY_PERMISSION = "disclosure.view_inner_party"
# Every branch's 党组织内部 items: the town administrator (disclosure.*) and
# superusers; the town party committee's staff read them by membership.
EVERY_BRANCH_PERMISSION = "disclosure.view_every_branch"


def _first_day_on_display(today: date, months: int) -> date:
    """The earliest publication day whose default 展示至 (`months` later, as
    `Disclosure.default_display_until`) is today or later."""
    day = periods.add_months(today, -months)
    # Clamped to a shorter month's end (31 March → 28 February): that day's
    # 展示至 falls before today, the next day's (1 March) after it.
    return day if day.day == today.day else day + timedelta(days=1)


def published_q(at=None, *, via: str = "") -> models.Q:
    """`published()` as a condition; `via`: the relation it is read through
    from another model's rows ("fulfilled_by__"), e.g. to annotate them
    with it (a condition costs a fraction of an EXISTS to build)."""
    return models.Q(
        **{
            f"{via}status": Disclosure.Status.PUBLISHED,
            f"{via}published_at__lte": at or timezone.now(),
        }
    )


def _earliest(times) -> datetime | None:
    return min((t for t in times if t is not None), default=None)


def _times_coming_out(public_from: bool) -> list[str]:
    """The fields whose time brings a published row out with no save: its
    publication and, with `public_from`, its reaching the public (先党内后党外)."""
    return ["published_at", "public_from"] if public_from else ["published_at"]


class DisclosureQuerySet(models.QuerySet):
    def published(self, at=None) -> "DisclosureQuerySet":
        """Published by now (or by `at`: what was out then, for the time a
        kept figure was read from)."""
        # Mirrored row by row in Disclosure.visibility_facts() (search index).
        return self.filter(published_q(at))

    def next_scheduled(self, after, *, public_from: bool = True):
        """The first of these rows coming out after `after` with no save (a
        publication set for later; with `public_from`, a 先党内后党外 row
        reaching the public), or None: how long a cached page or figure
        counted from them stays right. A time only, never a row: it must see
        the rows not visible yet. A query a kind of time, each the first
        entry of an index (`_first_times`' one query for both read every
        scheduled row of the county: 2.2 ms where the two took 0.1)."""
        return _earliest(
            rows.aggregate(t=Min(field))["t"]
            for field, rows in self._coming_out(after, public_from)
        )

    def next_scheduled_by_unit(
        self, after, *, public_from: bool = True, shape: tuple | None = None
    ) -> dict[int, datetime]:
        """`next_scheduled` of each unit of these rows that has one: {unit
        id: time}; a time, never a row, as `next_scheduled`. One query for
        both kinds of time, as the rows are a few units' (an index read a
        unit: disclosure_unit_idx). `shape`: what these rows are (their
        filters, hashable, none of them a moment: not `published()`), for
        the SQL kept per shape (core.compiled): read on every page miss
        after a publication in the unit."""

        def query(after):
            rows, firsts = self._first_times(after, public_from)
            return rows.values("unit").annotate(**firsts).values_list("unit", *firsts)

        if shape is None:
            found = query(after)
        else:
            key = ("next-by-unit", public_from, *shape)
            found = compiled.rows(Disclosure, key, query, at=after)
        return {
            unit: first
            for unit, *times in found
            if (first := _earliest(times)) is not None
        }

    def _first_times(
        self, after, public_from: bool
    ) -> tuple["DisclosureQuerySet", dict]:
        """The published rows coming out after `after` (their publication;
        with `public_from`, their coming out to the public) and the first
        time of each kind among them, as aggregates: one query for both."""
        comes = {
            field: models.Q(**{f"{field}__gt": after})
            for field in _times_coming_out(public_from)
        }
        rows = self.filter(
            functools.reduce(operator.or_, comes.values()),
            status=Disclosure.Status.PUBLISHED,
        ).order_by()
        if len(comes) == 1:  # one kind: every row's is after `after`
            return rows, {f"first_{f}": Min(f) for f in comes}
        return rows, {f"first_{f}": Min(f, filter=q) for f, q in comes.items()}

    def _coming_out(
        self, after, public_from: bool
    ) -> list[tuple[str, "DisclosureQuerySet"]]:
        """(field, rows): the published rows whose time in that field is
        after `after` (their publication; with `public_from`, their coming
        out to the public)."""
        found = self.filter(status=Disclosure.Status.PUBLISHED).order_by()
        return [
            (field, found.filter(**{f"{field}__gt": after}))
            for field in _times_coming_out(public_from)
        ]

    def withdrawn(self) -> "DisclosureQuerySet":
        return self.filter(status=Disclosure.Status.WITHDRAWN)

    def once_public(self) -> "DisclosureQuerySet":
        """Withdrawn, after residents could read it: its publication time came
        before the withdrawal. Not one withdrawn when only approved, nor one
        scheduled and withdrawn before its time: nobody outside saw those, so
        they are not acknowledged, not even by their titles."""
        return self.withdrawn().filter(published_at__lte=models.F("withdrawn_at"))

    def within_scope(self, user, at=None) -> "DisclosureQuerySet":
        """The rows whose scope lets this user read them: the one place of that
        rule (党务公开条例 art. 8). The public reads 社会公开 rows, a 先党内后党外
        one from its `public_from`; party members also 党内 rows and their own
        branch's 党组织内部 rows; the town party committee's staff every row."""
        return self.for_reader(Reader.of(user), at)

    def for_reader(self, reader: "Reader", at=None) -> "DisclosureQuerySet":
        """`within_scope` for what a reader reads (`Reader.of(user)`, or one
        narrowed to a page: `Reader.on_board_of`)."""
        # Mirrored row by row in Disclosure.visibility_facts() (search index).
        if reader.every_branch:
            return self
        if reader.party_member:
            members = models.Q(scope__in=[Scope.PUBLIC, Scope.INNER_PARTY])
            if reader.branch_id:
                members |= models.Q(scope=Scope.BRANCH, branch_id=reader.branch_id)
            return self.filter(members)
        now = at or timezone.now()
        return self.filter(
            models.Q(public_from__isnull=True) | models.Q(public_from__lte=now),
            scope=Scope.PUBLIC,
        )

    def visible_to(self, user, at=None) -> "DisclosureQuerySet":
        """What this user may read on the public site (now, or at `at`)."""
        return self.published(at).within_scope(user, at)

    def information(self) -> "DisclosureQuerySet":
        """Real notices, without the 本期无此事项 filings (the article's figures)."""
        return self.filter(is_nil_return=False)

    def on_display(self, today=None) -> "DisclosureQuerySet":
        """Still on the board (the board page and its print): a 展示至 not yet
        passed or, without one (a record from before publication set it), the
        default from its item's frequency (`Disclosure.default_display_until`,
        but for a 公示's window, which ends within the month) not yet passed,
        so a record of an earlier year is not mixed into the current board."""
        today = today or timezone.localdate()
        zone = timezone.get_current_timezone()
        by_default = models.Q(item__timing=Timing.STANDING)
        for frequency, months in Disclosure.DISPLAY_MONTHS.items():
            # default_display_until() >= today, as a range on published_at.
            first = _first_day_on_display(today, months)
            since = datetime.combine(first, time(), zone)
            by_default |= models.Q(item__frequency=frequency, published_at__gte=since)
        return self.filter(
            models.Q(display_until__gte=today)
            | (models.Q(display_until__isnull=True) & by_default)
        )

    def for_unit(self, unit: Unit) -> "DisclosureQuerySet":
        return self.filter(unit=unit)

    def with_related(self) -> "DisclosureQuerySet":
        return self.select_related(
            "unit", "item__category__catalog", "item__department"
        )

    def with_article_flags(self) -> "DisclosureQuerySet":
        """Whether each row has tables, attachments and answered 点题 requests
        (`has_tables`, `has_attachments`, `has_answers`): a disclosure's page
        made again asks only for those it has (three EXISTS in the row's
        query, where each was a query of its own). Any request it answered
        counts, shown on the 回音壁 or not: the page asks which are."""

        def any_of(relation: str) -> Exists:
            rel = self.model._meta.get_field(relation)
            rows = rel.related_model._base_manager.filter(
                **{rel.field.name: OuterRef("pk")}
            )
            return Exists(rows)

        return self.annotate(
            has_tables=any_of("tables"),
            has_attachments=any_of("attachments"),
            has_answers=any_of("fulfilled_requests"),
        )

    def for_listing(self) -> "DisclosureQuerySet":
        """As listed on boards and lists: without the long texts only the
        disclosure's own page shows (a board fetches about 130 rows)."""
        return self.with_related().defer(
            "body", "notice_outcome_text", "withdrawal_reason", "item__description"
        )


def can_see_inner_party(user) -> bool:
    return bool(
        user and user.is_authenticated and user.has_perm(INNER_PARTY_PERMISSION)
    )


def kept_for_user(user, kind: str, work_out):
    """What `work_out()` finds of a logged-in user's rights (their Reader;
    whether they hold more than the 党内 permission, `page_audience`), kept
    on the user for the request, like its groups;
    and between requests in the value cache under the memberships version
    (read from the shared cache: any save or delete of what they read, a
    user, group, permission, organisation, membership, a unit's kind or slug,
    a branch's first 党组织内部 row, moves it, core/audiences.py) and the
    global one: the organisation and permission queries on every logged-in
    page otherwise. A session's audience worked out (log-in, its periodic
    check) reads the rows afresh and keeps them for the others: a change no
    signal announced (SQL by hand) shows within PAGE_AUDIENCE_CHECK_SECONDS."""
    attribute = f"_{kind}"
    fresh = audiences.working_out()
    if fresh or not hasattr(user, attribute):
        if settings.VALUE_CACHE_SECONDS <= 0:
            found = work_out()
        else:
            version = audiences.memberships_version(fresh=True)
            found = caching.cached(
                f"{kind}:{user.pk}:{version}", work_out, scopes=[], fresh=fresh
            )
        setattr(user, attribute, found)
    return getattr(user, attribute)


@dataclass(frozen=True)
class Reader:
    """What of the scopes a user reads (see `within_scope`)."""

    party_member: bool = False  # 党内 rows, and 先党内后党外 ones at once
    branch_id: int | None = None  # the own branch's 党组织内部 rows
    every_branch: bool = False  # every row: the town party committee's staff
    # The branch's unit (id, slug): its 党组织内部 rows are that unit's
    # (Disclosure.clean), so another unit's board is the same for every
    # branch's members (`on_board_of`).
    branch_unit_id: int | None = None
    branch_unit_slug: str = ""

    @classmethod
    def of(cls, user) -> "Reader":
        if not (user and user.is_authenticated):
            return PUBLIC_READER
        return kept_for_user(user, "reader", lambda: cls._look_up(user))

    @classmethod
    def _look_up(cls, user) -> "Reader":
        if user.has_perm(EVERY_BRANCH_PERMISSION):
            return cls(party_member=True, every_branch=True)
        towns = [Unit.Kind.TOWN, Unit.Kind.COUNTY]
        rows = Organisation.objects.filter(
            models.Q(party_members__user=user)
            | models.Q(
                members=user,
                kind=BodyKind.PARTY_COMMITTEE,
                # A town's (or the county's) committee, not a village's.
                unit__kind__in=towns,
            )
        ).values_list("pk", "kind", "unit_id", "unit__slug", "unit__kind", "members")
        branch = (None, None, "")
        for pk, kind, unit_id, unit_slug, unit_kind, acting in rows:
            # Acting for that committee (the filter's join), not a membership:
            # a village branch whose kind was edited to 党委 reads its own rows.
            committee = kind == BodyKind.PARTY_COMMITTEE and unit_kind in towns
            if committee and acting == user.pk:
                return cls(party_member=True, every_branch=True)
            branch = (pk, unit_id, unit_slug)
        if not user.has_perm(INNER_PARTY_PERMISSION):
            return PUBLIC_READER
        branch_id, unit_id, unit_slug = branch
        if branch_id and not cls._has_own_rows(branch_id):
            # Nothing of its own to read: a member of no branch's rows, and
            # their copy of every page (most branches file no 党组织内部 notice).
            return cls(party_member=True)
        return cls(
            party_member=True,
            branch_id=branch_id,
            branch_unit_id=unit_id if branch_id else None,
            branch_unit_slug=(unit_slug or "") if branch_id else "",
        )

    @staticmethod
    def _has_own_rows(branch_id: int) -> bool:
        """Whether the branch has any 党组织内部 row, of any status (a draft may
        be published without another save of the branch). A save of such a
        row moves the memberships version (`follow_branch_rows`), so a
        member's kept Reader and audience are worked out again. Not through
        the visibility rule on purpose: a fact that picks the reader, never
        shown, which must count rows nobody may read yet."""
        return Disclosure.objects.filter(
            scope=Scope.BRANCH, branch_id=branch_id
        ).exists()

    def on_board_of(self, unit: Unit) -> "Reader":
        """What this reader reads on `unit`'s board: on another unit's board
        a branch member reads what a member of no branch reads (their
        branch's 党组织内部 rows are on their own unit's board only), so every
        branch shares that board's copy (page cache, fragments) instead of
        each refilling its own after a change. Rendered as that narrowed
        reader, the board cannot carry one branch's row to another's copy,
        even if a row broke the rule."""
        if not self.branch_id or self.every_branch or self.branch_unit_id == unit.pk:
            return self
        return Reader(party_member=True)

    def on_list_of(self, unit_slug: str) -> "Reader":
        """What this reader reads of the list filtered to one unit (by its
        slug, as the request names it): as on that unit's board
        (`on_board_of`), another unit's list is the same for every branch's
        members, so they share its copy (page_scopes.list_audience)."""
        if not (self.branch_id and unit_slug) or self.every_branch:
            return self  # "": not filtered to a unit (the form's 全部单位)
        if self.branch_unit_slug == unit_slug:
            return self
        return Reader(party_member=True)

    def on_page_of(self, disclosure: "Disclosure") -> "Reader":
        """What this reader reads on a disclosure's own page: the same for
        every party member but for a 党组织内部 one (its branch's alone), so
        the members of every branch share one copy of it."""
        if not self.branch_id or self.every_branch or disclosure.scope == Scope.BRANCH:
            return self
        return Reader(party_member=True)

    @property
    def key(self) -> str:
        """For caches of counts: readers with the same key see the same rows."""
        if self.every_branch:
            return "all"
        if self.party_member:
            return f"party:{self.branch_id or ''}"
        return "public"


PUBLIC_READER = Reader()


def page_audience(user) -> str | None:
    """The page cache's audience of a logged-in user (core.audiences): users
    with the same one see the same rows on every page, by `Reader.key`. None
    (never from the cache) for staff and for anyone holding a permission
    beyond reading 党内 items, whose pages may show more than their scope;
    and for the town party committee's staff, who read every branch."""
    if not user.is_authenticated or user.is_staff or user.is_superuser:
        return None
    # Confirmed on every member's page miss (core.caching): the permissions
    # kept as the Reader is, so a miss loads the user alone. The audience is
    # made from the Reader the page is rendered with, never kept apart from
    # it: two kept values (another worker's copy, another lifetime) could
    # disagree, and a page of one branch's rows be kept in another's copy.
    beyond = kept_for_user(
        user,
        "more_rights",
        lambda: bool(user.get_all_permissions() - {INNER_PARTY_PERMISSION}),
    )
    if beyond:
        return None
    reader = Reader.of(user)
    if reader.every_branch:
        return None
    if reader.branch_id:
        # The branch's unit, for the board's narrowing (page_scopes.board_audience).
        return f"member:{reader.key}@{reader.branch_unit_slug}"
    return f"member:{reader.key}"


class NoticeOutcome(models.TextChoices):
    NO_OBJECTION = "no_objection", _("公示期满无异议")
    HANDLED = "handled", _("收到异议，已处理")


class Disclosure(KeepsLoaded, models.Model):
    # Where it was as loaded or last saved: a change's page cache scopes
    # (page_scopes.py).
    kept_as_loaded = ("unit_id", "status", "period", "published_at")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("待审核")
        REVIEWED = "reviewed", _("已审核待审批")
        APPROVED = "approved", _("已审批待发布")
        PUBLISHED = "published", _("已发布")
        WITHDRAWN = "withdrawn", _("已撤回")

    # Edits to these after publication are corrections, shown to residents
    # ("attachments": a file added; published files are never changed;
    # "tables": a table added or replaced, the earlier one kept in its history).
    CONTENT_FIELDS = ("title", "body", "period", "event_date", "attachments", "tables")
    # What a disclosure was published under, fixed from then on: its index
    # number names the unit and the item (moving one is withdrawing it and
    # publishing anew). Its scope may be narrowed to 党内, never widened
    # (DisclosureAdminForm.clean_scope): who may read it was reviewed.
    PUBLISHED_UNDER = ("unit", "item")

    # No index of its own: disclosure_unit_idx and disclosure_unit_period_idx
    # begin with it. The planner preferred the bare one for a unit's rows of
    # a year, reading every row the unit ever filed (docs/PERFORMANCE.md).
    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        related_name="disclosures",
        verbose_name=_("单位"),
        db_index=False,
    )
    item = models.ForeignKey(
        Item,
        on_delete=models.PROTECT,
        related_name="disclosures",
        verbose_name=_("公开事项"),
        db_index=False,  # disclosure_item_unit_idx begins with it
    )
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(
        _("正文"), help_text=_("纯文本；空行分段。不支持 HTML，网页上原样显示。")
    )
    period = models.CharField(
        _("所属期间"),
        max_length=7,
        help_text=_(
            "如 2011（年度）、2011-H2（下半年）、2011-Q3（第三季度）、2011-09（月）。"
        ),
    )
    period_start = models.DateField(_("期间开始"), editable=False)
    period_end = models.DateField(_("期间结束"), editable=False)
    event_date = models.DateField(
        _("事项发生日期"), null=True, blank=True, help_text=_("随时公开事项填写。")
    )
    scope = models.CharField(
        _("公开范围"),
        max_length=10,
        choices=Scope.choices,
        default=Scope.PUBLIC,
        help_text=_(
            "由公开事项决定：社会公开事项的内容社会公开，党内公开事项的内容党内公开"
            "（事项允许时可仅在本党支部内部公开）。"
        ),
    )
    branch = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="branch_disclosures",
        limit_choices_to={"kind": BodyKind.PARTY_BRANCH},
        verbose_name=_("所属党组织"),
        help_text=_("党组织内部公开时适用，留空为本单位党支部。"),
    )
    public_from = models.DateTimeField(
        _("社会公开时间"),
        null=True,
        blank=True,
        help_text=_(
            "先党内后党外：发布后先在党内公开，自此时间起向社会公开。"
            "仅事项允许时填写，须晚于发布时间。"
        ),
    )
    forms = models.ManyToManyField(
        "catalog.DisclosureForm",
        related_name="disclosures",
        verbose_name=_("公开形式"),
        blank=True,
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    display_until = models.DateField(
        _("展示截止日期"), null=True, blank=True, help_text=_("留空表示长期展示。")
    )
    index_number = models.CharField(
        _("索引号"),
        max_length=60,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text=_("发布时生成，永久不变。"),
    )
    is_nil_return = models.BooleanField(
        _("本期无此事项"),
        default=False,
        help_text=_(
            "本期没有应公开的内容时，发布一条“本期无此事项”说明，正文写明原因。"
        ),
    )
    notice_outcome = models.CharField(
        _("公示结果"),
        max_length=20,
        choices=NoticeOutcome.choices,
        blank=True,
        help_text=_("公示期满后填写。"),
    )
    notice_outcome_text = models.TextField(
        _("异议及处理情况"), blank=True, help_text=_("收到异议时，写明异议和处理结果。")
    )
    posted_on = models.DateField(_("张贴日期"), null=True, blank=True)
    taken_down_on = models.DateField(_("撤下日期"), null=True, blank=True)
    corrected_at = models.DateTimeField(
        _("更正时间"), null=True, blank=True, editable=False
    )
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    withdrawal_reason = models.TextField(_("撤回原因"), blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("提交人"),
        editable=False,
    )
    # Who reviewed the current submission: its approver must be someone else.
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("创建人"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = DisclosureQuerySet.as_manager()
    history = HistoricalRecords(
        excluded_fields=["updated_at"], verbose_name=_("公开内容历史版本")
    )

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("公开内容")
        verbose_name_plural = _("公开内容")
        permissions = [
            ("view_inner_party", _("可查看党内公开内容")),
            ("view_every_branch", _("可查看各党组织内部公开内容")),
        ]
        indexes = [
            models.Index(
                fields=["status", "scope", "-published_at"],
                name="disclosure_listing_idx",
            ),
            models.Index(
                fields=["unit", "status", "-published_at"], name="disclosure_unit_idx"
            ),
            # A unit's rows of a year by period (compliance.load_filings).
            models.Index(
                fields=["unit", "period_start"], name="disclosure_unit_period_idx"
            ),
            # The 长期 items' rows of earlier years, of a town's units
            # (compliance.load_filings): those alone, where the item's own
            # index read the county's rows of those items (11,119 to keep
            # 353 at county scale) and intersected them with the units'.
            models.Index(
                fields=["item", "unit", "period_start"],
                name="disclosure_item_unit_idx",
            ),
            # A period's rows, those out by a moment first: whether a period
            # holds a row visible then is read in the index alone, a period
            # whose rows are all scheduled (disclosure.page_scopes) included.
            models.Index(
                fields=["period", "published_at"], name="disclosure_period_idx"
            ),
            # The newest first across every unit (list, feeds, home), read in
            # index order until a page is full (EXPLAIN at county scale:
            # docs/PERFORMANCE.md).
            models.Index(
                fields=["status", "-published_at", "-id"],
                name="disclosure_recent_idx",
            ),
            # The next 先党内后党外 public date coming due (how long a cached
            # page or figure may live): without it a scan of every row, 0.2 s
            # at county scale, after each change (docs/PERFORMANCE.md).
            models.Index(
                fields=["status", "public_from"],
                name="disclosure_public_from_idx",
                condition=models.Q(public_from__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="published")
                | models.Q(published_at__isnull=False),
                name="published_disclosure_has_date",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="withdrawn")
                | ~models.Q(withdrawal_reason=""),
                name="withdrawn_disclosure_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(scope="branch", branch__isnull=False)
                | (~models.Q(scope="branch") & models.Q(branch__isnull=True)),
                name="branch_scope_has_branch",
                violation_error_message=_("党组织内部公开须有所属党支部。"),
            ),
            models.CheckConstraint(
                condition=models.Q(public_from__isnull=True) | models.Q(scope="public"),
                name="party_first_is_public",
                violation_error_message=_("只有社会公开的内容可以先党内后党外。"),
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # Derived fields only: the period's dates, and the scope's parts.
        try:
            period = periods.Period.parse(self.period)
        except periods.InvalidPeriod as exc:
            raise ValueError(f"invalid period {self.period!r}") from exc
        self.period_start, self.period_end = period.start, period.end
        self.derive_scope()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("disclosure:detail", args=[self.pk])

    def derive_scope(self) -> None:
        """Never wider than the item's scope (a 党内 item's disclosures are
        党内); a 党组织内部 one belongs to a branch, by default the unit's; only
        a 社会公开 one may open to the public later."""
        if self.item_id and SCOPE_WIDTH[self.scope] < SCOPE_WIDTH[self.item.scope]:
            self.scope = self.item.scope
        if self.scope != Scope.BRANCH:
            self.branch = None
        elif self.branch_id is None and self.unit_id:
            self.branch = self.unit.organisations.branches().first()
        if self.scope != Scope.PUBLIC:
            self.public_from = None

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # A stored scope is judged when it was set (clean()), not on every edit:
        # the item's rule may have changed since, and a scope is never widened.
        instance._stored_scope = instance.__dict__.get("scope")
        return instance

    @property
    def period_label(self) -> str:
        return periods.label_for(self.period)

    @property
    def is_inner_party(self) -> bool:
        return self.scope == Scope.INNER_PARTY

    @property
    def is_branch_only(self) -> bool:
        return self.scope == Scope.BRANCH

    @property
    def is_party_first(self) -> bool:
        """先党内后党外 and still before its public date: read as 党内."""
        return bool(self.public_from and self.public_from > timezone.now())

    def scheduled_after(self, after) -> datetime | None:
        """When this row comes out after `after` with no save, as it is
        loaded: what `next_scheduled` finds of it alone (its publication,
        its public date), read from the row instead of two queries."""
        if self.status != self.Status.PUBLISHED:
            return None
        times = (getattr(self, field) for field in _times_coming_out(True))
        return _earliest(t for t in times if t and t > after)

    @property
    def members_only_label(self) -> str:
        """The badge of a disclosure not (yet) for the public; '' otherwise."""
        if self.scope == Scope.INNER_PARTY:
            return _("党内公开")
        if self.scope == Scope.BRANCH:
            return _("党组织内部公开")
        if self.is_party_first:
            return _("先党内后党外")
        return ""

    @property
    def display_ends_on(self) -> date | None:
        """The last day on the board: its 展示至, else the default from its
        item's frequency (None: 长期)."""
        return self.display_until or self.default_display_until()

    @property
    def notice_ends_on(self):
        """For a 公示: the last day objections are taken, `notice_days`
        working days from the posting (the posting day counts if it is one)."""
        if self.is_nil_return or not (self.item.notice_days and self.published_at):
            return None
        start = self.posted_on or timezone.localdate(self.published_at)
        return notice_ends(start, self.item.notice_days)

    # How long a notice stays on the board when no end is given: one cycle
    # of its item's frequency from its publication (until the next period's
    # replaces it), a 随时 one a month.
    DISPLAY_MONTHS = {
        Item.Frequency.IMMEDIATELY: 1,
        Item.Frequency.MONTHLY: 1,
        Item.Frequency.QUARTERLY: 3,
        Item.Frequency.HALF_YEARLY: 6,
        Item.Frequency.YEARLY: 12,
    }

    def default_display_until(self):
        """The display end of a notice published without one (applied by
        services.publish): see DISPLAY_MONTHS; a 公示 at least until its
        window ends; a standing (长期) item's stays on the board (None)."""
        if self.item.timing == Timing.STANDING or self.published_at is None:
            return None
        published_on = timezone.localdate(self.published_at)
        end = periods.add_months(published_on, self.DISPLAY_MONTHS[self.item.frequency])
        notice_end = self.notice_ends_on
        return max(end, notice_end) if notice_end else end

    @property
    def notice_days_left(self) -> int | None:
        """Working days of the 公示 left, today included if it is one."""
        ends = self.notice_ends_on
        if ends is None:
            return None
        today = timezone.localdate()
        return workdays_between(today - timedelta(days=1), ends)

    def visibility_facts(self) -> dict:
        """This row's part of `visible_to()`, for the copy the search index keeps
        (composition/search.py): `published()` is `live` and `visible_from` passed,
        `within_scope()` is read from `inner_party` (not for the public: 党内
        or 党组织内部), `branch` (the 党组织内部 row's branch) and `public_from`
        (先党内后党外). Change them together."""
        return {
            "live": self.status == self.Status.PUBLISHED,
            "visible_from": self.published_at,
            "inner_party": self.scope != Scope.PUBLIC,
            "branch": self.branch_id if self.scope == Scope.BRANCH else None,
            "public_from": self.public_from if self.scope == Scope.PUBLIC else None,
        }

    def search_document(self) -> dict:
        """What the site's search keeps of this row (core/documents.py)."""
        return {
            "title": self.title,
            # The index number (索引号) is searchable too, as on government sites.
            "body": "\n\n".join(p for p in [self.body, self.index_number] if p),
            "date": self.published_at or self.created_at,
            **self.visibility_facts(),
        }

    @property
    def is_scheduled(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at > timezone.now()
        )

    def clean(self):
        errors = {}
        try:
            period = periods.Period.parse(self.period)
        except periods.InvalidPeriod:
            errors["period"] = _(
                "期间格式不正确，应如 2011、2011-H2、2011-Q3 或 2011-09。"
            )
        else:
            kind = self.item.period_kind if self.item_id else None
            if kind and period.kind != kind:
                errors["period"] = _("该事项公开时限为“%(freq)s”，期间应与之对应。") % {
                    "freq": self.item.get_frequency_display()
                }
        if self.is_nil_return and self.item_id and not self.item.nil_allowed:
            errors["is_nil_return"] = _(
                "“%(item)s”每期必有内容，不能报“本期无此事项”，请如实公开。"
            ) % {"item": self.item.name}
        if self.is_nil_return and not (self.body or "").strip():
            errors["body"] = _("请在正文中写明本期无此事项的原因。")
        if self.unit_id and self.unit.kind == Unit.Kind.COUNTY:
            errors["unit"] = _("县没有公开栏，请选择乡镇或村（社区）。")
        if self.item_id and self.unit_id:
            if self.unit.board_level == "town" and not self.item.for_town:
                errors["item"] = _("该事项不适用于镇级。")
            if self.unit.board_level == "village" and not self.item.for_village:
                errors["item"] = _("该事项不适用于村（社区）。")
            errors.update(self._scope_errors())
        if (
            self.display_until
            and self.published_at
            and self.display_until < timezone.localdate(self.published_at)
        ):
            errors["display_until"] = _("展示截止日期不能早于发布日期。")
        if self.status == self.Status.WITHDRAWN and not self.withdrawal_reason.strip():
            errors["withdrawal_reason"] = _("撤回必须填写原因。")
        if (
            self.posted_on
            and self.taken_down_on
            and self.taken_down_on < self.posted_on
        ):
            errors["taken_down_on"] = _("撤下日期不能早于张贴日期。")
        errors.update(self.outcome_errors())
        if errors:
            raise ValidationError(errors)

    def outcome_errors(self) -> dict:
        """A 公示's outcome with objections says what they were and how they
        were handled (here and where the outcome is recorded on its own)."""
        if (
            self.notice_outcome == NoticeOutcome.HANDLED
            and not self.notice_outcome_text.strip()
        ):
            return {"notice_outcome_text": _("请写明收到的异议及处理情况。")}
        return {}

    def _scope_errors(self) -> dict:
        """The scope comes from the item; editors never narrow it beyond what
        the item allows (党组织内部, 先党内后党外)."""
        self.derive_scope()
        errors = {}
        item = self.item
        changed = self._state.adding or getattr(self, "_stored_scope", None) != (
            self.scope
        )
        if self.is_nil_return:
            allowed = [item.scope]
        else:
            allowed = item.allowed_scopes()
        if changed and self.scope not in allowed:
            if self.is_nil_return:
                message = _("本期无此事项说明的公开范围与事项相同（%(scope)s）。")
            elif self.scope == Scope.BRANCH:
                message = _("该事项不允许党组织内部公开，公开范围为“%(scope)s”。")
            else:
                message = _("该事项的公开范围为“%(scope)s”，不能缩小公开范围。")
            errors["scope"] = message % {"scope": item.get_scope_display()}
        if self.scope == Scope.BRANCH:
            if self.branch is None:
                errors["branch"] = _("本单位没有党支部，不能党组织内部公开。")
            elif (
                self.branch.kind != BodyKind.PARTY_BRANCH
                or self.branch.unit_id != self.unit_id
            ):
                errors["branch"] = _("所属党组织须为本单位的党支部。")
        if self.public_from:
            if self.is_nil_return:
                errors["public_from"] = _("本期无此事项说明不能先党内后党外。")
            elif not item.party_first_allowed:
                errors["public_from"] = _(
                    "该事项不允许先党内后党外，请留空社会公开时间。"
                )
            elif self.published_at and self.public_from <= self.published_at:
                errors["public_from"] = _("社会公开时间须晚于发布时间。")
        return errors


class PendingDisclosure(Disclosure):
    """The reviewers' queue (待审核) as its own admin page."""

    class Meta:
        proxy = True
        verbose_name = _("待审核公开内容")
        verbose_name_plural = _("待审核公开内容")


class DisclosureEvent(KeptForDisclosure, models.Model):
    """One step of a disclosure's life: the audit trail and the public review trail."""

    class Action(models.TextChoices):
        SUBMITTED = "submitted", _("提出")
        RETURNED = "returned", _("退回修改")
        REVIEWED = "reviewed", _("审核")
        APPROVED = "approved", _("审批")
        PUBLISHED = "published", _("发布")
        CORRECTED = "corrected", _("发布后更正")
        WITHDRAWN = "withdrawn", _("撤回")

    # Shown on the public page (by body, never by person).
    PUBLIC_ACTIONS = (
        Action.SUBMITTED,
        Action.REVIEWED,
        Action.APPROVED,
        Action.PUBLISHED,
        Action.CORRECTED,
    )

    disclosure = models.ForeignKey(
        Disclosure,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("公开内容"),
    )
    action = models.CharField(_("操作"), max_length=20, choices=Action.choices)
    from_status = models.CharField(
        _("原状态"), max_length=20, choices=Disclosure.Status.choices
    )
    to_status = models.CharField(
        _("新状态"), max_length=20, choices=Disclosure.Status.choices
    )
    # PROTECT, like every "who" of the records: a staff account that has acted
    # is deactivated (is_active), never deleted, so the record keeps its name.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    # The body that acted, and its name as it was then: the public trail shows
    # the name recorded, so renaming a body later rewrites no history.
    body = models.ForeignKey(
        "disclosure.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("经办组织"),
    )
    acting_body = models.CharField(
        _("经办单位"),
        max_length=50,
        help_text=_("公开页面上显示的单位，如 村民委员会、镇纪委。"),
    )
    comment = models.TextField(_("意见或原因"), blank=True)
    secrecy_reviewed = models.BooleanField(
        _("已保密审查"),
        default=False,
        help_text=_("审核时确认：不涉及国家秘密、工作秘密、商业秘密和个人隐私。"),
    )
    secrecy_conclusion = models.TextField(_("保密审查意见"), blank=True)
    migrated = models.BooleanField(
        _("迁移记录"),
        default=False,
        help_text=_("由旧的“审核审批”一步记录拆分而来，当时未单独记录保密审查。"),
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")

    def __str__(self):
        return f"{self.get_action_display()} · {self.acting_body}"

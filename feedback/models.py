"""The 回音壁 (echo wall): submissions from residents and party members, the
点题公开 requests among them, their answers, ratings and an event log per case.

The submitter's name and phone are for the office only: no public page, feed
or export shows them (see docs/ARCHITECTURE.md).
"""

import secrets
from collections import Counter
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import BodyKind
from core import compiled
from core.loaded import KeepsLoaded

# No 0/O, 1/I/L: a code read out over the phone or copied from paper stays right.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_LENGTH = 8


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def normalize_tracking_code(raw: str) -> str:
    return "".join(raw.split()).replace("-", "").upper()[:20]


class Tag(models.Model):
    """A topic (森林防火, 抗旱救灾 …); the list is kept by staff."""

    name = models.CharField(_("名称"), max_length=30, unique=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("话题")
        verbose_name_plural = _("话题")

    def __str__(self):
        return self.name


class Kind(models.TextChoices):
    OPINION = "opinion", _("意见")
    SUGGESTION = "suggestion", _("建议")
    REPORT = "report", _("反映")
    QUESTION = "question", _("咨询")
    REQUEST = "request", _("点题公开")
    # About the conduct of cadres: for the town's discipline committee (镇纪委)
    # alone, never on the wall (see CONFIDENTIAL_KINDS).
    DENUNCIATION = "denunciation", _("举报")


class Channel(models.TextChoices):
    WEBSITE = "website", _("网站")
    BOX = "box", _("意见箱")
    PHONE = "phone", _("电话")
    RECEPTION = "reception", _("接待日")
    MEETING = "meeting", _("会议")
    LETTER = "letter", _("来信")
    SMS = "sms", _("短信")


class Status(models.TextChoices):
    RECEIVED = "received", _("已收到")
    ACCEPTED = "accepted", _("已受理")
    ANSWERED = "answered", _("已答复")
    CLOSED = "closed", _("已办结")
    NOT_PUBLISHED = "not_published", _("不予公开")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    FAIRLY = "fairly", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class Outcome(models.TextChoices):
    """What became of an opinion or a suggestion (意见、建议)."""

    ADOPTED = "adopted", _("采纳")
    PARTLY = "partly", _("部分采纳")
    NOT_ADOPTED = "not_adopted", _("暂不采纳")


class RatingChannel(models.TextChoices):
    """How the rating was given: online by the resident, or asked by staff."""

    ONLINE = "online", _("网上")
    PHONE = "phone", _("电话回访")
    VISIT = "visit", _("上门回访")


# A rating asked for by staff on a follow-up call or visit (回访).
FOLLOW_UP_CHANNELS = [RatingChannel.PHONE, RatingChannel.VISIT]
# The kinds that get an outcome (采纳 …) recorded with their answer.
OUTCOME_KINDS = [Kind.OPINION, Kind.SUGGESTION]
# Kinds never on the wall, in a feed, search or the sitemap (counted only);
# in the back office read by the discipline committee and the town
# administrator alone (feedback.confidential).
CONFIDENTIAL_KINDS = [Kind.DENUNCIATION]
CONFIDENTIAL_BODY_MESSAGE = _("举报只能交办镇纪委，由镇纪委答复。")

OPEN_STATUSES = [Status.RECEIVED, Status.ACCEPTED]
# What a resident wrote and chose on the website is theirs: staff never change
# it (their consent to publish staff may only withdraw, at their request).
RESIDENT_FIELDS = ["channel", "title", "text", "name", "phone", "is_party_member"]
# Counted in the figures: every case received, but those hidden (不予公开).
RECORD_STATUSES = [Status.RECEIVED, Status.ACCEPTED, Status.ANSWERED, Status.CLOSED]
# Listed on the wall: only what staff have read and accepted (受理) or answered.
WALL_STATUSES = [Status.ACCEPTED, Status.ANSWERED, Status.CLOSED]
# A case about 党内 matters stays off the wall until staff clear it.
HELD_BACK = Q(concerns_inner_party=True, inner_party_cleared_at__isnull=True)
# Written as the states it leaves out: a NOT IN cannot use the status index,
# so SQLite reads the wall's first page from its order index instead.
ON_WALL = (
    ~Q(status__in=[Status.RECEIVED, Status.NOT_PUBLISHED])
    & ~HELD_BACK
    & ~Q(kind__in=CONFIDENTIAL_KINDS)
)
# On the wall with the question's text (`published()`).
PUBLISHED = ON_WALL & Q(consent_to_publish=True)


# 督办中: open, and escalated in its current round (services.escalate).
ESCALATED = Q(status__in=OPEN_STATUSES, escalated_round=F("round"))
# Escalated at some time (its latest round's escalation is kept).
EVER_ESCALATED = Q(escalated_round__isnull=False)


# Answered on time: on or before the due date (after with_local_dates()).
ON_TIME_COUNT = Count("id", filter=Q(answered_on__lte=F("due_date")))
ANSWERED_COUNT = Count("id", filter=Q(answered_at__isnull=False))


class SubmissionQuerySet(models.QuerySet):
    def on_record(self) -> "SubmissionQuerySet":
        """Every case received, from every channel, but the hidden (不予公开)
        ones: what the wall's and the statistics' figures count."""
        return self.filter(status__in=RECORD_STATUSES)

    def on_wall(self) -> "SubmissionQuerySet":
        """Listed on the public wall: accepted (受理) or answered by staff, and
        not held back as a 党内 matter. A new case waits for staff to read it."""
        return self.filter(ON_WALL)

    def awaiting_acceptance(self) -> "SubmissionQuerySet":
        """Received, not yet read and accepted: counted, not listed."""
        return self.filter(status=Status.RECEIVED)

    def published(self) -> "SubmissionQuerySet":
        """On the wall with the question's text: the submitter agreed."""
        # Mirrored row by row in Submission.visibility_facts() (search index).
        return self.filter(PUBLISHED)

    def answered(self) -> "SubmissionQuerySet":
        return self.filter(answered_at__isnull=False)

    def open(self) -> "SubmissionQuerySet":
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, as_of: date | None = None) -> "SubmissionQuerySet":
        return self.filter(self._overdue_q(as_of or timezone.localdate()))

    def escalated(self) -> "SubmissionQuerySet":
        """督办中: open, past its deadline or rated 不满意 twice, and escalated."""
        return self.filter(ESCALATED)

    def for_units(self, units) -> "SubmissionQuerySet":
        return self.filter(unit__in=units)

    def with_related(self) -> "SubmissionQuerySet":
        return self.select_related(
            "unit__parent",
            "tag",
            "answered_by",
            "answering_body__unit",
            "department",
            "fulfilled_by",
        )

    def newest_answered_first(self) -> "SubmissionQuerySet":
        return self.order_by(
            F("answered_at").desc(nulls_last=True), "-received_at", "-id"
        )

    def with_overdue_flag(self, as_of: date | None = None) -> "SubmissionQuerySet":
        """Annotate `overdue_flag` (1 or 0) so lists can put overdue cases first."""
        return self.annotate(
            overdue_flag=Case(
                When(self._overdue_q(as_of or timezone.localdate()), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )

    @staticmethod
    def _overdue_q(as_of: date) -> Q:
        undecided_request = Q(
            kind=Kind.REQUEST, status=Status.RECEIVED, decision_due__lt=as_of
        )
        return Q(status__in=OPEN_STATUSES) & (Q(due_date__lt=as_of) | undecided_request)

    @classmethod
    def _waiting_overdue_q(cls) -> Q:
        return Q(status=Status.RECEIVED) & cls._overdue_q(timezone.localdate())

    def _kept_rows(self, shape: tuple, name: str, build, units, day) -> list:
        """`build(units)`'s rows (`units`: ids, or None for every unit's);
        with a `shape`, from SQL kept under it, `name` and the `day` it
        counts against (core.compiled), the units its parameters: a plan
        for any one unit, as most recounts are."""
        if not shape:
            return list(build(units))
        kept = (*shape, name, units is None, day)
        if units is None:
            return compiled.rows(self.model, kept, lambda _at: build(None))
        return compiled.rows(
            self.model, kept, lambda _at, *keys: build(keys), keys=units
        )

    def overdue_waiting_part(self, shape: tuple = (), units=None) -> dict:
        """The part of `summary_parts(today=False)` left out: the cases of
        this selection (`units`: of these units' ids alone) waiting past their
        deadline today. Few rows (those not yet accepted), found by the
        status index. `shape`: what this queryset is a function of, as
        `summary_parts`' (its SQL kept per day; the units its parameters)."""
        as_of = timezone.localdate()
        waiting = Q(status=Status.RECEIVED) & self._overdue_q(as_of)

        def build(chosen):
            rows = self if chosen is None else self.filter(unit__in=chosen)
            # One group (received), or none: a count compiled.rows can keep.
            return (
                rows.order_by()
                .filter(waiting)
                .values("status")
                .annotate(n=Count("id"))
                .values_list("n", flat=True)
            )

        units = None if units is None else tuple(units)
        counts = self._kept_rows(shape, "overdue", build, units, as_of)
        part = empty_part()
        part["totals"]["waiting_overdue"] = sum(counts)
        return part

    def with_local_dates(self) -> "SubmissionQuerySet":
        """Annotate the local dates of receipt and answer (the deadline's terms)."""
        tz = timezone.get_current_timezone()
        return self.annotate(
            received_on=TruncDate("received_at", tzinfo=tz),
            answered_on=TruncDate("answered_at", tzinfo=tz),
        )

    def summary(self) -> dict:
        """The wall's figures for this selection, counted in the database.

        Three grouped queries (the ratings of every round, the current and
        the earlier ones, in one) whose results are small whatever the number of
        rows (days to answer and ratings take a few dozen values), so the wall
        costs the same at county scale as for one town.
        """
        return summary_of(self.summary_parts().values())

    def summary_parts(
        self,
        *,
        by_unit: bool = False,
        today: bool = True,
        shape: tuple = (),
        units: tuple[int, ...] | None = None,
        cases: tuple[int, ...] | None = None,
    ) -> dict:
        """What `summary_of` adds up: the counts of this selection (key None),
        or of each unit's cases in it (key: the unit's id; a unit without
        cases is not there). The same three grouped queries either way.
        `today=False`: without the one count the date changes (those waiting
        past their deadline, `overdue_waiting_part`), so that the parts stay
        right past midnight. `units`: only these units' cases (ids).
        `cases`: only these cases (ids; instead of `units`): what came in
        since a unit's kept counts were counted (feedback.kept_counts).
        `shape` (by unit): everything this queryset is a function of
        (feedback.summary.unit_parts); the three queries' SQL is then kept
        under it (core.compiled), the units (or cases) its parameters: a
        case coming in recounts its unit, and building and compiling them
        cost more than running them."""
        if units is not None and cases is not None:
            raise ValueError("units or cases, not both")
        keyed = "pk" if cases is not None else "unit"
        chosen_keys = cases if cases is not None else units
        by = ["unit_id"] if by_unit else []
        counts = {
            "received": Count("id"),
            "on_time": ON_TIME_COUNT,
            "listed": Count("id", filter=ON_WALL),
            "waiting": Count("id", filter=Q(status=Status.RECEIVED)),
            "escalating": Count("id", filter=ESCALATED),
            "escalated": Count("id", filter=EVER_ESCALATED),
            **(
                {"waiting_overdue": Count("id", filter=self._waiting_overdue_q())}
                if today
                else {}
            ),
            # In the same query: 采纳 outcomes.
            **{
                f"outcome_{value}": Count("id", filter=Q(outcome=value))
                for value in Outcome.values
            },
        }

        def rows(chosen):
            found = self if chosen is None else self.filter(**{f"{keyed}__in": chosen})
            return found.order_by().with_local_dates()

        def fetched(name: str, build) -> list:
            # The day too: `today` counts against it.
            day = timezone.localdate() if today else None
            return self._kept_rows(
                shape if by_unit else (), name, build, chosen_keys, day
            )

        def part(key) -> dict:
            return parts.setdefault(key, empty_part())

        parts: dict = {}
        if by_unit:
            names = list(counts)
            totals = fetched(
                "totals",
                lambda chosen: (
                    rows(chosen).values_list("unit_id").annotate(**counts).order_by()
                ),
            )
            for unit, *values in totals:
                part(unit)["totals"].update(dict(zip(names, values, strict=True)))
        else:
            part(None)["totals"].update(rows(chosen_keys).aggregate(**counts))
        # Days to answer, counted by the database (a few dozen values a unit).
        took = fetched(
            "days",
            lambda chosen: (
                rows(chosen)
                .filter(answered_at__isnull=False)
                .annotate(took=F("answered_on") - F("received_on"))
                .values_list(*by, "took")
                .annotate(n=Count("id"))
                .order_by()
            ),
        )
        for *key, days_taken, n in took:
            days = part(key[0] if by_unit else None)["days"]
            days[days_taken.days] = days.get(days_taken.days, 0) + n

        def ratings(chosen):
            # Every round's rating counts: a 不满意 that reopened a case (kept
            # in its AnswerRound) stays counted once the case is answered
            # again. One query: the current ratings and the earlier rounds'.
            current = (
                rows(chosen)
                .exclude(rating="")
                .values_list(*by, "rating", "rating_channel")
                .annotate(n=Count("id"))
                .order_by()
            )
            earlier = (
                # Checked round by round (few) against the selection by its
                # key, not the selection (the county's every case) listed for
                # an IN.
                AnswerRound.objects.filter(
                    Exists(rows(chosen).filter(pk=OuterRef("submission_id")))
                )
                .exclude(rating="")
                .values_list(
                    *(["submission__unit_id"] if by_unit else []),
                    "rating",
                    "rating_channel",
                )
                .annotate(n=Count("id"))
                .order_by()
            )
            return current.union(earlier, all=True)

        for *key, rating, channel, n in fetched("ratings", ratings):
            counted = part(key[0] if by_unit else None)
            counted["ratings"][rating] = counted["ratings"].get(rating, 0) + n
            if channel in FOLLOW_UP_CHANNELS:
                counted["by_staff"] += n
        if not by_unit:
            part(None)
        return parts


def empty_part() -> dict:
    return {"totals": Counter(), "days": {}, "ratings": {}, "by_staff": 0}


def plain_part(part: dict) -> dict:
    """A part with plain dictionaries (a Counter pickles as a call to its
    constructor: the wall keeps and adds up hundreds of parts)."""
    return {
        "totals": dict(part["totals"]),
        "days": dict(part["days"]),
        "ratings": dict(part["ratings"]),
        "by_staff": part["by_staff"],
    }


def add_parts(parts) -> dict:
    """One part of the counts of several (`summary_parts`, or `plain_part`
    of them). A loop of its own: `Counter.update` checks its argument's type
    on every call, a third of adding up the county's 500 units."""
    totals, days, ratings, by_staff = Counter(), Counter(), Counter(), 0
    for part in parts:
        for into, more in (
            (totals, part["totals"]),
            (days, part["days"]),
            (ratings, part["ratings"]),
        ):
            get = into.get
            for key, n in more.items():
                into[key] = get(key, 0) + n
        by_staff += part["by_staff"]
    return {"totals": totals, "days": days, "ratings": ratings, "by_staff": by_staff}


def summary_of(parts) -> dict:
    """The wall's figures from the counts of `summary_parts` (of one selection
    or of its units): sums, and the median of the days added up."""
    part = add_parts(parts)
    totals, days, by_staff = part["totals"], part["days"], part["by_staff"]
    ratings = {value: part["ratings"][value] for value in Rating.values}
    answered = sum(days.values())
    rated = sum(ratings.values())
    satisfied = ratings[Rating.SATISFIED] + ratings[Rating.FAIRLY]
    return {
        "received": totals["received"],
        "listed": totals["listed"],
        "waiting": totals["waiting"],
        "waiting_overdue": totals["waiting_overdue"],
        "escalating": totals["escalating"],
        "escalated": totals["escalated"],
        "answered": answered,
        "on_time": totals["on_time"],
        "median_days": _median(days) if answered else None,
        "rated": rated,
        # Labels translated now (str): the wall keeps this per language, and a
        # lazy text is unpickled as a new class each time it is read.
        "ratings": [
            {"label": str(label), "count": ratings[value]}
            for value, label in Rating.choices
        ],
        "satisfied_percent": round(100 * satisfied / rated) if rated else None,
        "rated_by_staff": by_staff,
        "outcomes": [
            {"value": value, "label": str(label), "count": totals[f"outcome_{value}"]}
            for value, label in Outcome.choices
        ],
        "with_outcome": sum(totals[f"outcome_{v}"] for v in Outcome.values),
    }


def _median(counts: Counter) -> float:
    """statistics.median of a multiset given as {value: how many}, without
    writing out its members (200,000 at county scale)."""
    size = sum(counts.values())
    wanted = [(size - 1) // 2, size // 2]  # the middle one, or the two
    found, seen = [], 0
    for value, n in sorted(counts.items()):
        while wanted and wanted[0] < seen + n:
            found.append(value)
            wanted.pop(0)
        seen += n
    if size % 2:
        return found[0]
    return (found[0] + found[1]) / 2


class Submission(KeepsLoaded, models.Model):
    # Where it was shown as loaded or last saved: a change's page cache
    # scopes (page_scopes.py).
    kept_as_loaded = ("unit_id", "fulfilled_by_id")
    Kind = Kind
    Channel = Channel
    Status = Status
    Rating = Rating
    Outcome = Outcome
    RatingChannel = RatingChannel

    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    channel = models.CharField(
        _("来源渠道"), max_length=20, choices=Channel.choices, default=Channel.WEBSITE
    )
    unit = models.ForeignKey(
        "disclosure.Unit",
        on_delete=models.PROTECT,
        related_name="submissions",
        verbose_name=_("所涉单位"),
    )
    item = models.ForeignKey(
        "catalog.Item",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="submissions",
        verbose_name=_("所涉公开事项"),
    )
    disclosure = models.ForeignKey(
        "disclosure.Disclosure",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="submissions",
        verbose_name=_("所涉公开内容"),
    )
    title = models.CharField(_("标题"), max_length=100)
    text = models.TextField(_("内容"))
    tag = models.ForeignKey(
        Tag,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="submissions",
        verbose_name=_("话题"),
    )
    # Private: shown to the office only, never on a public page or in an export.
    name = models.CharField(_("姓名"), max_length=30, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    is_party_member = models.BooleanField(_("党员"), default=False)
    # Raised from a 党内 disclosure, or by a party member about a 党内 item:
    # kept off the wall until staff decide it may be public (and say so).
    concerns_inner_party = models.BooleanField(
        _("涉及党内公开事项"), default=False, editable=False
    )
    inner_party_cleared_at = models.DateTimeField(
        _("确认可在回音壁公开的时间"), null=True, blank=True, editable=False
    )
    consent_to_publish = models.BooleanField(
        _("同意在回音壁公开问题"),
        default=False,
        help_text=_("公开时不显示姓名和电话。不同意时回音壁只显示“已答复”记录。"),
    )
    tracking_code = models.CharField(
        _("查询码"), max_length=TRACKING_LENGTH, unique=True, editable=False
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.RECEIVED
    )
    received_at = models.DateTimeField(_("收到时间"), default=timezone.now)
    due_date = models.DateField(_("答复期限"), editable=False)
    # 点题公开 only: decide (accept or refuse) within 3 working days, or 10 once
    # extended with a reason.
    decision_due = models.DateField(_("决定期限"), null=True, editable=False)
    extension_reason = models.TextField(_("延期理由"), blank=True)
    refusal_reason = models.TextField(
        _("不予公开理由"), blank=True, help_text=_("点题公开申请不予公开时的书面理由。")
    )
    department = models.ForeignKey(
        "catalog.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_submissions",
        verbose_name=_("承办部门"),
    )
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    answer_text = models.TextField(_("答复内容"), blank=True)
    answered_by = models.ForeignKey(
        "catalog.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="answered_submissions",
        verbose_name=_("答复部门"),
    )
    # The body that answered, shown as the answerer: a body of the case's unit
    # or of its town (a 村务 matter by the village's own: 村民委员会组织法
    # art. 30; a town office; 镇纪委). Given by the answer, from the 交办.
    answering_body = models.ForeignKey(
        "disclosure.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="answered_submissions",
        verbose_name=_("答复单位"),
        help_text=_(
            "本村（社区）或本镇的组织，如 村民委员会、党政办；留空则为交办单位。"
        ),
    )
    # 交办: the body that must answer, or the village's 包村干部 (a person:
    # staff see who; the wall says 包村干部, never the name).
    assigned_body = models.ForeignKey(
        "disclosure.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_submissions",
        verbose_name=_("交办单位"),
        editable=False,
    )
    assigned_cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_submissions",
        verbose_name=_("交办包村干部"),
        editable=False,
    )
    assigned_at = models.DateTimeField(_("交办时间"), null=True, editable=False)
    # The current round's deadline counts from this day (a 交办 with its own
    # term, a reopening after 不满意) instead of the day received.
    deadline_from = models.DateField(_("期限起算日"), null=True, editable=False)
    deadline_workdays = models.PositiveSmallIntegerField(
        _("办理期限（工作日）"), null=True, editable=False
    )
    # 1 until a 不满意 reopens the case; the earlier rounds are AnswerRound rows.
    round = models.PositiveSmallIntegerField(_("办理轮次"), default=1, editable=False)
    # The latest 督办 (escalated_round: the round it was for; 督办中 while that
    # round is open): to the village's 联系领导, and to the body below when the
    # matter is a cadre's conduct.
    escalated_at = models.DateTimeField(_("督办时间"), null=True, editable=False)
    escalated_round = models.PositiveSmallIntegerField(
        _("督办轮次"), null=True, editable=False
    )
    escalated_to = models.ForeignKey(
        "disclosure.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="escalated_submissions",
        verbose_name=_("督办单位"),
        editable=False,
    )
    concerns_conduct = models.BooleanField(
        _("反映干部作风问题"),
        default=False,
        help_text=_("反映干部作风、纪律问题的，超期时同时向镇纪委督办。"),
    )
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    fulfilled_by = models.ForeignKey(
        "disclosure.Disclosure",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="fulfilled_requests",
        verbose_name=_("答复该点题的公开内容"),
    )
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    hidden_reason = models.TextField(
        _("不予公开原因（内部）"), blank=True, help_text=_("仅工作人员可见。")
    )
    rating = models.CharField(
        _("满意度"), max_length=20, choices=Rating.choices, blank=True
    )
    rating_comment = models.TextField(_("评价意见"), blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    rating_channel = models.CharField(
        _("评价方式"), max_length=20, choices=RatingChannel.choices, blank=True
    )
    # Who recorded a rating given on a follow-up call or visit (回访): the
    # office's to know; the public page says only that staff recorded it.
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("回访记录人"),
    )
    # 意见、建议 only (OUTCOME_KINDS): recorded with the answer or after it.
    outcome = models.CharField(
        _("采纳情况"), max_length=20, choices=Outcome.choices, blank=True
    )
    outcome_reason = models.TextField(
        _("采纳情况说明"),
        blank=True,
        help_text=_("部分采纳、暂不采纳时必填，在回音壁公开。"),
    )
    # Anti-abuse: a keyed hash of the client address (never the address itself)
    # and the one-time token of the form that sent it.
    client_key = models.CharField(max_length=64, blank=True, editable=False)
    form_token = models.CharField(
        max_length=32, null=True, blank=True, unique=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("录入人"),
    )
    # The account that sent it from the website, when logged in: their own
    # list (/feedback/mine/). Private like the name; anonymous sending stays.
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("提交账号"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("意见建议")
        verbose_name_plural = _("意见建议")
        permissions = [("assign_submission", _("可以交办意见建议"))]
        indexes = [
            models.Index(fields=["status", "-answered_at"], name="feedback_wall_idx"),
            models.Index(fields=["unit", "status"], name="feedback_unit_idx"),
            models.Index(
                fields=["unit", "client_key", "-received_at"],
                name="feedback_duplicate_idx",
            ),
            # The 点题 requests a town's units accepted in a year, which the
            # compliance engine counts (obligations.accepted_requests): one
            # case in twenty, where the unit's index read all its cases
            # (8 ms at county scale, 0.4 through this).
            models.Index(
                fields=["unit", "accepted_at"],
                name="feedback_request_idx",
                condition=Q(kind="request", accepted_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="not_published") | ~Q(hidden_reason=""),
                name="hidden_submission_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["answered", "closed"])
                | Q(answered_at__isnull=False),
                name="answered_submission_has_date",
            ),
            models.CheckConstraint(
                condition=Q(outcome="") | Q(outcome="adopted") | ~Q(outcome_reason=""),
                name="outcome_not_adopted_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(outcome="") | Q(kind__in=["opinion", "suggestion"]),
                name="outcome_only_for_opinions",
            ),
        ]

    def __str__(self):
        return f"{self.tracking_code} {self.title}"

    def save(self, *args, **kwargs):
        # A derived field only. The deadlines are the workflow's
        # (services.set_deadlines, where a case is entered or extended).
        if not self.tracking_code:
            self.tracking_code = self._free_tracking_code()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("feedback:detail", args=[self.pk])

    def clean(self):
        super().clean()
        if (
            self.answering_body_id
            and self.unit_id
            and not self.is_own_body(self.answering_body)
        ):
            raise ValidationError({"answering_body": self.own_body_message()})
        if self.unit_id and self.is_confidential:
            # Reclassified as a 举报 after a 交办: the body or 包村干部 it was
            # given to may not read it (feedback.services.cases_for).
            if self.assigned_cadre_id or (
                self.assigned_body_id and not self.is_own_body(self.assigned_body)
            ):
                raise ValidationError(CONFIDENTIAL_BODY_MESSAGE)
        elif (
            self.unit_id
            and self.assigned_body_id
            and not self.is_own_body(self.assigned_body)
        ):
            # Moved to another village after a 交办: the old village's body
            # would keep a case that is no longer its own.
            raise ValidationError(
                {
                    "unit": _(
                        "该事项已交办给原单位的组织，不能直接改到其他单位；"
                        "请由镇管理员重新交办后再修改。"
                    )
                }
            )

    def is_own_body(self, body) -> bool:
        """A body that may be given this case (交办) or answer it: of its unit
        or of its town; a 举报 its town's 镇纪委 alone (the one rule, read by
        the 交办 and answer steps and by clean())."""
        if self.is_confidential:
            return body.kind == BodyKind.DISCIPLINE and body.unit_id == self.town_id
        return body.unit_id in (self.unit_id, self.unit.parent_id)

    def own_body_message(self) -> str:
        if self.is_confidential:
            return CONFIDENTIAL_BODY_MESSAGE
        return _("答复单位须是本村（社区）或本镇的组织。")

    @property
    def town_id(self) -> int:
        unit = self.unit
        return unit.pk if unit.kind == "town" or not unit.parent_id else unit.parent_id

    def get_tracking_url(self):
        return reverse("feedback:track_code", args=[self.tracking_code])

    @staticmethod
    def _free_tracking_code() -> str:
        while True:
            code = new_tracking_code()
            if not Submission.objects.filter(tracking_code=code).exists():
                return code

    def visibility_facts(self) -> dict:
        """This row's part of `published()`, for the copy the search index keeps
        (composition/search.py): on the wall with consent. Change them together."""
        return {
            "live": self.is_on_wall and self.consent_to_publish,
            "visible_from": None,
            "inner_party": False,
            "branch": None,
            "public_from": None,
        }

    def search_document(self) -> dict:
        """What the site's search keeps of this row (core/documents.py): the
        question, the earlier rounds' answers of a reopened case and, once
        answered, the current answer (what the wall may show), never the
        submitter's name or phone, the ratings' comments, nor the internal
        hiding reason. Written again when a round is saved (its `parts`)."""
        parts = [self.text]
        if self.round > 1:  # a case never reopened has no rounds: no query
            parts += [r.answer_text for r in self.rounds.all()]
        if self.is_answered:
            parts.append(self.answer_text)
        return {
            "title": self.title,
            "body": "\n\n".join(p for p in parts if p),
            "date": self.answered_at or self.received_at,
            **self.visibility_facts(),
        }

    @property
    def answerer(self) -> str:
        """Who answered, as the wall shows it: a body, never a person (a
        包村干部's answer is the town's 包村干部), else the town office."""
        if self.answering_body_id:
            return self.answering_body.full_name
        if self.assigned_cadre_id:
            return _("%(town)s包村干部") % {"town": self.town_name}
        return self.answered_by.name if self.answered_by_id else ""

    @property
    def town_name(self) -> str:
        unit = self.unit
        return unit.parent.name if unit.parent_id and unit.kind != "town" else unit.name

    @property
    def is_escalated(self) -> bool:
        """督办中: this row's part of `escalated()`."""
        return self.is_open and self.escalated_round == self.round

    @property
    def is_on_wall(self) -> bool:
        """This row's part of `on_wall()`."""
        return (
            self.status in WALL_STATUSES
            and not self.is_held_back
            and not self.is_confidential
        )

    @property
    def is_confidential(self) -> bool:
        """A 举报: for the discipline committee, never on the wall."""
        return self.kind in CONFIDENTIAL_KINDS

    @property
    def takes_outcome(self) -> bool:
        return self.kind in OUTCOME_KINDS

    @property
    def rated_by_staff(self) -> bool:
        """Rated on a follow-up call or visit, recorded by staff."""
        return self.rating_channel in FOLLOW_UP_CHANNELS

    @property
    def is_held_back(self) -> bool:
        return self.concerns_inner_party and self.inner_party_cleared_at is None

    @property
    def is_request(self) -> bool:
        return self.kind == Kind.REQUEST

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None and self.status in (
            Status.ANSWERED,
            Status.CLOSED,
        )

    @property
    def is_refused(self) -> bool:
        return bool(self.refusal_reason)

    @property
    def days_to_answer(self) -> int | None:
        if self.answered_at is None:
            return None
        return (
            timezone.localdate(self.answered_at) - timezone.localdate(self.received_at)
        ).days

    @property
    def answered_on_time(self) -> bool | None:
        if self.answered_at is None:
            return None
        return timezone.localdate(self.answered_at) <= self.due_date

    def is_overdue(self, as_of: date | None = None) -> bool:
        as_of = as_of or timezone.localdate()
        if not self.is_open or self.due_date is None:
            return False
        if self.due_date < as_of:
            return True
        return bool(
            self.is_request
            and self.status == Status.RECEIVED
            and self.decision_due
            and self.decision_due < as_of
        )

    @property
    def can_be_rated(self) -> bool:
        return self.is_answered and not self.rating


class SubmissionEvent(models.Model):
    """One row per action on a submission: the trail and the basis of statistics."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("收到")
        ACCEPTED = "accepted", _("受理")
        EXTENDED = "extended", _("延期决定")
        REFUSED = "refused", _("不予公开（点题）")
        ANSWERED = "answered", _("答复")
        CLOSED = "closed", _("办结")
        HIDDEN = "hidden", _("不在回音壁公开")
        RATED = "rated", _("评价")
        REOPENED = "reopened", _("重新办理")
        ASSIGNED = "assigned", _("交办")
        ESCALATED = "escalated", _("督办")
        CLEARED = "cleared", _("确认可公开（涉及党内事项）")
        HELD_BACK = "held_back", _("所涉事项改为党内公开，暂不在回音壁公开")
        CONSENT_WITHDRAWN = "consent_withdrawn", _("应提交人要求撤回公开同意")
        OUTCOME = "outcome", _("采纳情况")

    submission = models.ForeignKey(
        Submission,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("意见建议"),
    )
    kind = models.CharField(_("事件"), max_length=20, choices=Kind.choices)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    # An account that acted is deactivated, never deleted (who did what stays).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")

    def __str__(self):
        # The caption of each row of the 办理记录 inline, beside local times.
        return f"{self.get_kind_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


class AnswerRound(KeepsLoaded, models.Model):
    """An earlier round of a case: its answer and its rating, kept when a
    不满意 reopened the case (the case's own fields hold the current round).
    Public as the case is: the wall's page shows every round, by body."""

    # Its change names the case it was of too (feedback.page_scopes).
    kept_as_loaded = ("submission_id",)

    submission = models.ForeignKey(
        Submission,
        on_delete=models.CASCADE,
        related_name="rounds",
        verbose_name=_("意见建议"),
    )
    number = models.PositiveSmallIntegerField(_("轮次"))
    due_date = models.DateField(_("答复期限"))
    answer_text = models.TextField(_("答复内容"))
    answerer = models.CharField(_("答复单位"), max_length=100, blank=True)
    answered_at = models.DateTimeField(_("答复时间"))
    rating = models.CharField(_("满意度"), max_length=20, choices=Rating.choices)
    rating_comment = models.TextField(_("评价意见"), blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True)
    rating_channel = models.CharField(
        _("评价方式"), max_length=20, choices=RatingChannel.choices, blank=True
    )

    class Meta:
        ordering = ["submission", "number"]
        verbose_name = _("办理轮次")
        verbose_name_plural = _("办理轮次")
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "number"], name="answer_round_unique"
            )
        ]

    def __str__(self):
        return f"{self.submission.tracking_code} #{self.number}"


class AnswerTemplate(models.Model):
    """A standard answer (常用答复) staff can start from, per kind."""

    kind = models.CharField(
        _("适用类型"),
        max_length=20,
        choices=Kind.choices,
        blank=True,
        help_text=_("留空表示适用于所有类型。"),
    )
    title = models.CharField(_("名称"), max_length=50)
    text = models.TextField(_("答复内容"))
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        ordering = ["kind", "order", "title"]
        verbose_name = _("常用答复")
        verbose_name_plural = _("常用答复")

    def __str__(self):
        kind = self.get_kind_display() if self.kind else _("通用")
        return f"[{kind}] {self.title}"


class UnitCounts(models.Model):
    """A unit's counts of its cases for one of the wall's selections
    (`summary_parts` of the unit, without today's), kept by the events
    (feedback.kept_counts): the wall's figures after the page cache is
    flushed read these rows, not the county's 200,000 cases.

    `generation` is raised after every change of the unit's cases commits;
    the counts are those of `counted_generation` (none: never counted), by
    the counting rules `rules`. Counts of an older generation or rules are
    counted again when read, but where every change since they were counted
    is a case coming in: `added` lists those cases (",12,15"; "" none; null
    another change, or too many), and only they are counted and added."""

    unit = models.ForeignKey(
        "disclosure.Unit", on_delete=models.CASCADE, related_name="+"
    )
    selection = models.CharField(max_length=32)
    generation = models.BigIntegerField(default=0)
    counted_generation = models.BigIntegerField(null=True)
    rules = models.CharField(max_length=16, blank=True)
    parts = models.JSONField(default=dict)
    counted_at = models.DateTimeField(null=True)
    # Null is not "": another change (counted whole), where "" is none.
    added = models.TextField(null=True, default=None)  # noqa: DJ001

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "selection"], name="unit_counts_unique"
            )
        ]

    def __str__(self):
        return f"{self.unit_id} {self.selection} #{self.generation}"

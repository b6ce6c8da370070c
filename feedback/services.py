"""The 回音壁 workflow: receive → accept → assign (交办) → answer → close, or
hide; ratings, a 不满意 reopening the case for another round; escalation
(督办) of what passes its deadline. Who may act on a case (`can_handle`) and
who may read it in the back office (`cases_for`) are decided here too.

Each function changes one submission, writes its event row and returns it.
The steps staff take on a case are listed once, in ACTIONS: the admin offers
the ones `allowed_actions` gives, and each step's function checks its own with
`check_action` before it changes anything, so both refuse in the same words.
Entering a case (`record_offline`) and withdrawing consent at the resident's
request are not in the table: they come with a save of the case's form, in
any state.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog import workdays
from catalog.models import BodyKind, Department, Scope
from core import events
from disclosure.models import Disclosure, Organisation, Unit, can_see_inner_party
from disclosure.roles import is_town_admin, units_for

from .confidential import discipline_body, discipline_towns
from .models import (
    CONFIDENTIAL_BODY_MESSAGE,
    CONFIDENTIAL_KINDS,
    ESCALATED,
    FOLLOW_UP_CHANNELS,
    OPEN_STATUSES,
    OUTCOME_KINDS,
    AnswerRound,
    Kind,
    Outcome,
    Rating,
    RatingChannel,
    Status,
    Submission,
    SubmissionEvent,
    SubmissionQuerySet,
    new_tracking_code,
)

Event = SubmissionEvent.Kind
logger = logging.getLogger(__name__)
TRACKING_CODE_ATTEMPTS = 5


def _log(
    submission: Submission, kind: str, *, by=None, note: str = "", at=None
) -> None:
    SubmissionEvent.objects.create(
        submission=submission,
        kind=kind,
        user=by if by and by.is_authenticated else None,
        note=note,
        at=at or timezone.now(),
    )
    # With the row: its page scopes (feedback.page_scopes) need no query.
    events.announce(kind, Submission, [submission.pk], instance=submission)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValidationError(message)


# Deadlines -----------------------------------------------------------------------


@cache
def _add_workdays(start: date, days: int) -> date:
    # chinese-calendar scans its whole holiday table for each day it checks
    # (about 0.4 ms per deadline): a deadline depends only on the day received,
    # and a few thousand days cover years of cases.
    return workdays.add_workdays(start, days)


def deadlines(
    received_on: date, *, kind: str, extended: bool = False
) -> tuple[date, date | None]:
    """答复期限, and a 点题公开 request's 决定期限 (3 working days, 10 once
    extended; None for other kinds), in Chinese working days after the day
    received."""
    due = _add_workdays(received_on, answer_workdays(kind))
    if kind != Kind.REQUEST:
        return due, None
    days = (
        settings.FEEDBACK_REQUEST_EXTENDED_WORKDAYS
        if extended
        else settings.FEEDBACK_REQUEST_DECISION_WORKDAYS
    )
    return due, _add_workdays(received_on, days)


def answer_workdays(kind: str) -> int:
    """The working days a kind of case is answered in (settings, per kind); a
    kind the setting leaves out takes the longest deadline there."""
    days = settings.FEEDBACK_ANSWER_WORKDAYS
    if isinstance(days, int):  # an override written the old way
        return days
    return days.get(kind) or max(days.values())


def set_deadlines(submission: Submission) -> Submission:
    """Fill a case's deadlines from its day received, its kind and whether its
    decision was extended: where a case is entered, reclassified or extended,
    the only changes they follow (the received time is fixed once entered).
    A round that counts from another day (a 交办 with its own term, a reopening
    after 不满意) keeps that day and term."""
    submission.due_date, submission.decision_due = deadlines(
        timezone.localdate(submission.received_at),
        kind=submission.kind,
        extended=bool(submission.extension_reason),
    )
    if submission.deadline_from:
        days = submission.deadline_workdays or answer_workdays(submission.kind)
        submission.due_date = _add_workdays(submission.deadline_from, days)
    return submission


# Who may act on a case, and who reads it -------------------------------------------


def _bodies_of(user):
    return Organisation.objects.filter(members=user).values("pk")


def can_handle(user: AbstractBaseUser, submission: Submission) -> bool:
    """May take the case's steps (with the step's permission): the town's
    administrators; the editors of its unit; the members of the body it was
    assigned to, or its 包村干部. A village editor never another village's.
    Kept on the case for the facts it depends on (the buttons ask per step)."""
    key = (
        user.pk,
        submission.unit_id,
        submission.kind,
        submission.assigned_body_id,
        submission.assigned_cadre_id,
    )
    known = submission.__dict__.setdefault("_can_handle", {})
    if key not in known:
        known[key] = _can_handle(user, submission)
    return known[key]


def _can_handle(user: AbstractBaseUser, submission: Submission) -> bool:
    if is_town_admin(user):
        return True
    if not user.is_authenticated:
        return False
    if submission.is_confidential and submission.town_id not in discipline_towns(user):
        # A 举报: 镇纪委's alone, as cases_for reads it (the village's editor
        # may be the cadre it is about).
        return False
    if submission.assigned_cadre_id == user.pk:
        return True
    if (
        submission.assigned_body_id
        and Organisation.objects.filter(
            pk=submission.assigned_body_id, members=user
        ).exists()
    ):
        return True
    return units_for(user).filter(pk=submission.unit_id).exists()


def keeps_record(user: AbstractBaseUser, submission: Submission) -> bool:
    """May edit what the case is (its unit, kind, text as entered, 承办部门)
    and take the steps that decide about it (Action.record_keeper): the
    town's administrators and its unit's editors. A body it was assigned to
    answers it and no more. Kept on the case, as can_handle."""
    key = (user.pk, submission.unit_id)
    known = submission.__dict__.setdefault("_keeps_record", {})
    if key not in known:
        known[key] = is_town_admin(user) or (
            user.is_authenticated
            and units_for(user).filter(pk=submission.unit_id).exists()
        )
    return known[key]


def cases_for(user: AbstractBaseUser):
    """The cases a staff member reads in the back office: those they may
    handle (can_handle), and those escalated to them (督办: the villages they
    are 联系领导 of, the bodies they act for)."""
    cases = Submission.objects.all()
    if is_town_admin(user):
        return cases
    if not user.is_authenticated:
        return cases.none()
    bodies = _bodies_of(user)
    handled = (
        Q(unit__in=units_for(user).values("pk"))
        | Q(assigned_body__in=bodies)
        | Q(assigned_cadre=user)
        | Q(escalated_to__in=bodies)
        | Q(unit__in=leader_units(user).values("pk"))
        | Q(pk__in=escalated_to(user).values("pk"))
    )
    # A 举报 only for the discipline committee's members of its town (and
    # the town administrator, above), whoever else it names.
    confidential = Q(kind__in=CONFIDENTIAL_KINDS)
    readable = handled & ~confidential
    if towns := discipline_towns(user):
        readable |= confidential & (Q(unit__in=towns) | Q(unit__parent__in=towns))
    return cases.filter(readable)


def leader_units(user: AbstractBaseUser):
    """The units whose 联系领导 this user is: their own, and a town's villages
    that have none of their own."""
    return Unit.objects.filter(
        Q(contact_leader=user) | Q(parent__contact_leader=user, contact_leader=None)
    )


def inbox(user: AbstractBaseUser):
    """待我办理: open cases assigned to a body the user acts for or to them as
    包村干部, or of a unit they edit and assigned to no one else; among those
    they read (cases_for: never a 举报 outside 镇纪委, not even as a count)."""
    bodies = _bodies_of(user)
    own_units = units_for(user).values("pk") if not is_town_admin(user) else []
    return (
        cases_for(user)
        .open()
        .filter(
            Q(assigned_body__in=bodies)
            | Q(assigned_cadre=user)
            | Q(
                unit__in=own_units,
                assigned_body__isnull=True,
                assigned_cadre__isnull=True,
            )
        )
    )


def escalated_to(user: AbstractBaseUser, as_of: date | None = None):
    """督办给我: cases 督办中 of the villages the user leads, or escalated to a
    body they act for (镇纪委); and those due for it, past their deadline and
    not yet escalated by the daily run (escalate_overdue), so that a leader's
    inbox never waits for it. Reading only: recording 督办 is the command's."""
    as_of = as_of or timezone.localdate()
    # A 举报 never reaches a leader, only 镇纪委 (escalation_targets).
    led = Q(unit__in=leader_units(user).values("pk")) & ~Q(kind__in=CONFIDENTIAL_KINDS)
    discipline = Organisation.objects.filter(
        members=user, kind=BodyKind.DISCIPLINE
    ).values("unit_id")
    conduct = (
        Q(kind=Kind.REPORT, concerns_conduct=True) | Q(kind__in=CONFIDENTIAL_KINDS)
    ) & (Q(unit__in=discipline) | Q(unit__parent__in=discipline))
    not_yet = Q(escalated_round__isnull=True) | ~Q(escalated_round=F("round"))
    due = SubmissionQuerySet._overdue_q(as_of) & not_yet
    return Submission.objects.filter(
        (ESCALATED & (led | Q(escalated_to__in=_bodies_of(user))))
        | (due & (led | conduct))
    )


def assignable_bodies(submission: Submission):
    """The bodies a case may be assigned to or answered by: its unit's and
    its town's (a village's 两委 or 村委会, a town office, 镇纪委)."""
    unit = submission.unit
    bodies = Organisation.objects.filter(
        unit_id__in=[pk for pk in (unit.pk, unit.parent_id) if pk]
    ).select_related("unit")
    if submission.is_confidential:  # 镇纪委 alone (Submission.is_own_body)
        return bodies.filter(kind=BodyKind.DISCIPLINE, unit_id=submission.town_id)
    return bodies


# The steps staff take, and when each is open ---------------------------------------


def _check_accept(submission: Submission) -> None:
    _require(submission.status == Status.RECEIVED, _("只有“已收到”的事项可以受理。"))


def _check_extend(submission: Submission) -> None:
    _require(submission.kind == Kind.REQUEST, _("只有点题公开申请可以延期决定。"))
    _require(submission.status == Status.RECEIVED, _("已作出决定的申请不能延期。"))
    _require(not submission.extension_reason, _("点题公开申请只能延期一次。"))


def _check_refuse(submission: Submission) -> None:
    _require(submission.kind == Kind.REQUEST, _("只有点题公开申请可以不予公开。"))
    _require(submission.status in OPEN_STATUSES, _("该申请已办理，不能再作决定。"))


def _check_answer(submission: Submission) -> None:
    _require(submission.status in OPEN_STATUSES, _("该事项已答复或不予公开。"))


def _check_assign(submission: Submission) -> None:
    _require(
        submission.status in OPEN_STATUSES, _("该事项已答复或不予公开，不能交办。")
    )


def _check_close(submission: Submission) -> None:
    _require(submission.status == Status.ANSWERED, _("只有已答复的事项可以办结。"))


def _check_clear(submission: Submission) -> None:
    # A hidden case never returns to the wall: nothing to clear it for.
    _require(submission.status != Status.NOT_PUBLISHED, _("该事项已设为不予公开。"))
    _require(submission.is_held_back, _("该事项不涉及党内事项，或已确认可以公开。"))


def _check_hide(submission: Submission) -> None:
    _require(submission.status != Status.NOT_PUBLISHED, _("该事项已设为不予公开。"))


@dataclass(frozen=True)
class Action:
    """A step staff take on a case, from the buttons of its admin page."""

    name: str
    label: Promise
    # The case's state allows the step, else ValidationError saying why.
    check: Callable[[Submission], None]
    # What the step must be given (its function's keywords), and what is said
    # when one is left blank.
    required: Mapping[str, Promise] = field(default_factory=dict)
    # Who may take it; the admin scopes cases to the units a user works on.
    permission: str = "feedback.change_submission"
    # The label on a case held back as a 党内 matter, where it differs.
    held_back_label: Promise | None = None
    # A decision about the case (受理, off the wall or onto it, 办结, a
    # deadline, the 回访 rating of its answer): for who keeps its record
    # (keeps_record), not the body or 包村干部 it was assigned to, who answer
    # it (and might otherwise hide, close or rate their own answer).
    record_keeper: bool = True

    def label_for(self, submission: Submission) -> Promise:
        if submission.is_confidential and self.name in CONFIDENTIAL_LABELS:
            return CONFIDENTIAL_LABELS[self.name]
        if submission.is_held_back and self.held_back_label:
            return self.held_back_label
        return self.label


# In the order the admin shows the buttons.
ACTIONS = {
    action.name: action
    for action in [
        Action(
            "accept",
            gettext_lazy("受理（须选承办部门；受理后列入回音壁）"),
            _check_accept,
            {"department": gettext_lazy("受理时必须指定承办部门。")},
            held_back_label=gettext_lazy("受理（须选承办部门）"),
        ),
        Action(
            "assign",
            gettext_lazy("交办（选交办单位或包村干部，可定办理期限）"),
            _check_assign,
            permission="feedback.assign_submission",
        ),
        Action(
            "extend",
            gettext_lazy("延期决定（须填理由）"),
            _check_extend,
            {"reason": gettext_lazy("延期必须填写理由。")},
        ),
        Action(
            "refuse",
            gettext_lazy("不予公开（须填书面理由）"),
            _check_refuse,
            {"reason": gettext_lazy("不予公开必须书面说明理由。")},
            record_keeper=False,
        ),
        Action(
            "answer",
            gettext_lazy("答复并在回音壁公开"),
            _check_answer,
            {
                "department": gettext_lazy("答复时必须指定答复部门。"),
                "text": gettext_lazy("答复内容不能为空。"),
            },
            held_back_label=gettext_lazy("答复（涉及党内事项，不在回音壁公开）"),
            record_keeper=False,
        ),
        Action("close", gettext_lazy("办结"), _check_close),
        Action(
            "clear",
            gettext_lazy("确认可在回音壁公开（涉及党内事项）"),
            _check_clear,
        ),
        Action(
            "hide",
            gettext_lazy("不在回音壁公开（须填原因）"),
            _check_hide,
            {"reason": gettext_lazy("设为不予公开必须填写原因。")},
        ),
    ]
}


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_action(
    name: str, submission: Submission, *, user: AbstractBaseUser | None = None, **given
) -> None:
    """Raise unless step `name` may be taken on `submission` now.

    ValidationError, with the message staff are shown, when the case's state
    does not allow it or a required input among `given` is blank; with a user,
    PermissionDenied when they lack the step's permission, may not handle
    the case (can_handle) or, for a decision about it, do not keep its record
    (keeps_record: the body it was assigned to only answers). The step
    functions check without a user: who may act is their caller's to settle
    (the admin asks with the user).
    """
    action = ACTIONS[name]
    if user is not None and not (
        user.has_perm(action.permission)
        and can_handle(user, submission)
        and (not action.record_keeper or keeps_record(user, submission))
    ):
        raise PermissionDenied
    action.check(submission)
    for key, message in action.required.items():
        if key in given and is_blank(given[key]):
            raise ValidationError(message)


def allowed_actions(submission: Submission, user: AbstractBaseUser) -> list[str]:
    """The steps this user may take on this case now, in the buttons' order."""
    names = []
    for name in ACTIONS:
        try:
            check_action(name, submission, user=user)
        except (PermissionDenied, ValidationError):
            continue
        names.append(name)
    return names


MAX_ASSIGN_WORKDAYS = 60


def check_assignment(
    submission: Submission,
    *,
    body: Organisation | None,
    to_cadre: bool = False,
    workdays: int | None = None,
) -> None:
    """One body of the case's unit or town, or the village's 包村干部; a term
    of 1 to 60 working days, or none (the usual term, from the day received)."""
    _require(
        bool(body) != bool(to_cadre),
        _("请选择一个交办单位，或交办给本村包村干部（二者选一）。"),
    )
    if body is not None:
        _require(
            submission.is_own_body(body),
            str(CONFIDENTIAL_BODY_MESSAGE)
            if submission.is_confidential
            else _("交办单位须是本村（社区）或本镇的组织。"),
        )
    if to_cadre:
        # A 举报 may be about the cadre: 镇纪委 alone (is_own_body).
        _require(not submission.is_confidential, str(CONFIDENTIAL_BODY_MESSAGE))
        _require(
            submission.unit.village_cadre_id is not None,
            _("%(unit)s尚未设置包村干部，请先在单位中设置。")
            % {"unit": submission.unit.name},
        )
    if workdays is not None:
        _require(
            1 <= workdays <= MAX_ASSIGN_WORKDAYS,
            _("办理期限须为 1 至 %(n)d 个工作日。") % {"n": MAX_ASSIGN_WORKDAYS},
        )


def check_answering_body(submission: Submission, body: Organisation | None) -> None:
    _require(
        body is None or submission.is_own_body(body),
        str(submission.own_body_message()),
    )


def check_fulfilment(submission: Submission, fulfilled_by: Disclosure | None) -> None:
    """Only a 点题公开 request is answered by linking the disclosure it asked for."""
    _require(
        fulfilled_by is None or submission.kind == Kind.REQUEST,
        _("只有点题公开申请可以关联答复它的公开内容。"),
    )


# Receiving -----------------------------------------------------------------------


class FormAlreadySent(Exception):
    """This form was sent already, with other content: the resident went back
    and wrote about something else. Not the same submission, and not to be
    dropped: they are asked to send it again, on a fresh form."""

    def __init__(self, submission: Submission):
        super().__init__(submission.tracking_code)
        self.submission = submission


def _same_post(earlier: Submission, *, data: dict, form_token: str) -> Submission:
    """`earlier` if this post is it again (a double click, a reload); raises
    FormAlreadySent if the same form now carries another matter."""
    sent = (earlier.unit_id, earlier.title, earlier.text)
    if earlier.form_token == form_token and sent != (
        data["unit"].pk,
        data["title"],
        data["text"],
    ):
        raise FormAlreadySent(earlier)
    return earlier


def find_earlier(
    *, form_token: str, unit_id: int, text: str, client_key: str
) -> Submission | None:
    """The submission of this form (a double post), else a duplicate: the same
    text about the same unit from the same client, sent just now.

    One query, which loads only what the answer needs (the tracking code, and
    what tells a double post from another matter on the same form): compiling
    the select of every column costs more than running it.
    """
    since = timezone.now() - timedelta(seconds=settings.FEEDBACK_DUPLICATE_WINDOW)
    duplicate = Q(
        unit_id=unit_id, client_key=client_key, text=text, received_at__gte=since
    )
    same_form_first = Case(When(form_token=form_token, then=Value(0)), default=1)
    return (
        Submission.objects.filter(Q(form_token=form_token) | duplicate)
        .order_by(same_form_first, "id")
        .only("id", "tracking_code", "form_token", "unit_id", "title", "text")
        .first()
    )


def concerns_inner_party(submission: Submission, *, by=None) -> bool:
    """Raised from a disclosure not (yet) for the public (党内, 党组织内部, or
    先党内后党外 before its public date), or by a party member about an item
    not for the public: such a case is not public by default (staff may clear
    it, warned)."""
    if submission.disclosure_id and not is_for_the_public(submission.disclosure):
        return True
    by_member = submission.is_party_member or can_see_inner_party(by)
    return bool(
        by_member and submission.item_id and submission.item.scope != Scope.PUBLIC
    )


def is_for_the_public(disclosure: Disclosure) -> bool:
    return disclosure.scope == Scope.PUBLIC and not disclosure.is_party_first


def submit(
    *, data: dict, client_key: str, form_token: str, by=None
) -> tuple[Submission, bool]:
    """Save a submission from the public form exactly once.

    Returns (submission, created). A second post of the same form (double
    click) or the same text again from the same client returns the first one;
    the same form with another matter raises FormAlreadySent.
    The unique form_token settles a race between two posts of one form. The
    unique tracking code is drawn without a look-up: a clash (31^8 codes; at
    200,000 rows about 1 in 4 million) is tried again with a new code.
    """
    attempts = 0
    while True:
        try:
            # One transaction, not nested: the row, its event and its search
            # entry (post_save) or none of them, and no savepoint to pay for.
            with transaction.atomic():
                earlier = find_earlier(
                    form_token=form_token,
                    unit_id=data["unit"].pk,
                    text=data["text"],
                    client_key=client_key,
                )
                if earlier:
                    return _same_post(earlier, data=data, form_token=form_token), False
                submission = Submission(
                    **data,
                    channel=Submission.Channel.WEBSITE,
                    client_key=client_key,
                    form_token=form_token,
                    tracking_code=new_tracking_code(),
                    submitter=by if by is not None and by.is_authenticated else None,
                )
                submission.concerns_inner_party = concerns_inner_party(
                    submission, by=by
                )
                set_deadlines(submission)
                submission.save()
                _log(submission, Event.RECEIVED, note=route_note(submission))
            return submission, True
        except IntegrityError:
            # A concurrent post of the same form won the race on form_token.
            earlier = Submission.objects.filter(form_token=form_token).first()
            if earlier:
                return _same_post(earlier, data=data, form_token=form_token), False
            # Else the tracking code was taken: draw again; anything else raises.
            attempts += 1
            code = submission.tracking_code
            clash = Submission.objects.filter(tracking_code=code).exists()
            if not clash or attempts == TRACKING_CODE_ATTEMPTS:
                raise


def hold_back_inner_party_cases(cases) -> int:
    """Cases that now concern 党内 matters, because their disclosure or item
    became 党内 after they were raised, leave the wall as such a case would
    never have reached it, until staff clear them (once cleared, they stay).
    Row by row: each save re-indexes the case for search and bumps the page
    cache; a disclosure or an item has a handful of cases."""
    held = 0
    for submission in cases.filter(concerns_inner_party=False).select_related(
        "disclosure", "item"
    ):
        if concerns_inner_party(submission):
            submission.concerns_inner_party = True
            submission.save()
            _log(submission, Event.HELD_BACK)
            held += 1
    return held


def on_item_saved(event: events.Event) -> None:
    item = event.instance
    if not event.raw and item.scope != Scope.PUBLIC:
        hold_back_inner_party_cases(
            Submission.objects.filter(Q(item=item) | Q(disclosure__item=item))
        )


def on_disclosure_saved(event: events.Event) -> None:
    if not event.raw and not is_for_the_public(event.instance):
        hold_back_inner_party_cases(
            Submission.objects.filter(disclosure=event.instance)
        )


@transaction.atomic
def record_offline(submission: Submission, *, by: AbstractBaseUser) -> Submission:
    """Staff enter a submission that came by box, phone, reception day or meeting."""
    submission.created_by = by
    submission.concerns_inner_party = concerns_inner_party(submission)
    set_deadlines(submission)
    submission.save()
    _log(submission, Event.RECEIVED, by=by, note=route_note(submission))
    return submission


@transaction.atomic
def withdraw_consent(submission: Submission, *, by: AbstractBaseUser) -> Submission:
    """At the resident's request: the question leaves the wall and search (the
    answered record stays). Never the other way: consent is the resident's to
    give, in their own form."""
    submission.consent_to_publish = False
    submission.save()
    _log(submission, Event.CONSENT_WITHDRAWN, by=by)
    return submission


@transaction.atomic
def clear_for_wall(submission: Submission, *, by: AbstractBaseUser) -> Submission:
    """Staff decide that a case about 党内 matters may be on the public wall."""
    check_action("clear", submission)
    submission.inner_party_cleared_at = timezone.now()
    submission.save()
    _log(submission, Event.CLEARED, by=by)
    return submission


@transaction.atomic
def accept(
    submission: Submission, *, by: AbstractBaseUser, department: Department
) -> Submission:
    check_action("accept", submission, department=department)
    submission.status = Status.ACCEPTED
    submission.department = department
    submission.accepted_at = timezone.now()
    submission.save()
    _log(submission, Event.ACCEPTED, by=by, note=department.name)
    return submission


@transaction.atomic
def assign(
    submission: Submission,
    *,
    by: AbstractBaseUser,
    body: Organisation | None = None,
    to_cadre: bool = False,
    workdays: int | None = None,
) -> Submission:
    """交办: the body that must answer (or the village's 包村干部), and a term
    in working days from today if given. Assigning again replaces it."""
    check_action("assign", submission)
    check_assignment(submission, body=body, to_cadre=to_cadre, workdays=workdays)
    submission.assigned_body = body
    submission.assigned_cadre = submission.unit.village_cadre if to_cadre else None
    submission.assigned_at = timezone.now()
    if workdays:
        submission.deadline_from = timezone.localdate()
        submission.deadline_workdays = workdays
        set_deadlines(submission)
    submission.save()
    to = body.full_name if body else _("包村干部")
    note = _("交办%(to)s，答复期限 %(due)s") % {
        "to": to,
        "due": f"{submission.due_date:%Y-%m-%d}",
    }
    _log(submission, Event.ASSIGNED, by=by, note=note)
    return submission


def escalation_targets(submission: Submission):
    """(联系领导, body): the village's 联系领导 (else its town's), and for a
    反映 about a cadre's conduct the town's 镇纪委; a 举报 to 镇纪委 alone
    (the leader may be the cadre it is about)."""
    unit = submission.unit
    leader = unit.contact_leader or (
        unit.parent.contact_leader if unit.parent else None
    )
    if submission.is_confidential:
        leader = None
    body = None
    if submission.is_confidential or (
        submission.kind == Kind.REPORT and submission.concerns_conduct
    ):
        town = unit if unit.kind == Unit.Kind.TOWN else unit.parent
        body = (
            Organisation.objects.filter(unit=town, kind=BodyKind.DISCIPLINE).first()
            if town
            else None
        )
    return leader, body


def escalate(submission: Submission, *, why: str, by=None) -> Submission:
    """督办 the current round: recorded with to whom and why (the staff trail
    names the leader; the wall says only 督办中)."""
    leader, body = escalation_targets(submission)
    submission.escalated_at = timezone.now()
    submission.escalated_round = submission.round
    submission.escalated_to = body
    submission.save()
    to = []
    if leader:
        to.append(
            _("联系领导 %(name)s") % {"name": leader.get_full_name() or leader.username}
        )
    elif not submission.is_confidential:
        to.append(_("联系领导（未设置，请镇管理员督办）"))
    if body:
        to.append(body.full_name)
    _log(submission, Event.ESCALATED, by=by, note=f"{why}；{'、'.join(to)}")
    mail_escalation(submission, why=why, leader=leader, body=body)
    return submission


def mail_escalation(submission: Submission, *, why: str, leader, body) -> list[str]:
    """Mail the 督办 to the 联系领导 and the members of the body it went to
    (镇纪委): the case's code, title, unit, deadline and its back-office page,
    never the submitter's name or phone. A mail server down does not undo
    the 督办: it is recorded, and the inboxes list it (escalated_to)."""
    recipients = [leader] if leader else []
    if body:
        recipients += list(body.members.filter(is_active=True))
    link = settings.PORTAL_BASE_URL.rstrip("/") + reverse(
        "admin:feedback_submission_change", args=[submission.pk]
    )
    subject = _("【回音壁督办】%(code)s %(title)s") % {
        "code": submission.tracking_code,
        "title": submission.title,
    }
    sent = []
    for user in {u.pk: u for u in recipients if u.is_active and u.email}.values():
        message = render_to_string(
            "feedback/email/escalated.txt",
            {"user": user, "submission": submission, "why": why, "link": link},
        )
        try:
            send_mail(
                subject=subject,
                message=message,
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )
        except OSError:  # smtplib's errors are OSErrors
            logger.exception("督办 mail to %s failed", user.pk)
            continue
        sent.append(user.email)
    return sent


def escalate_overdue(
    as_of: date | None = None,
) -> list[Submission]:
    """督办 every open case past its deadline not yet escalated in its round:
    run daily (manage.py escalate_overdue). Not when a page opens: recording
    a backlog costs queries per case; escalated_to() lists those due already."""
    as_of = as_of or timezone.localdate()
    due = (
        Submission.objects.overdue(as_of)
        .exclude(escalated_round=F("round"))
        .select_related("unit__parent__contact_leader", "unit__contact_leader")
        .order_by("due_date", "id")
    )
    done = []
    for submission in due:
        with transaction.atomic():
            if submission.due_date < as_of:
                why = _("超过答复期限（%(due)s）未答复") % {
                    "due": f"{submission.due_date:%Y-%m-%d}"
                }
            else:  # a 点题公开 request not decided in time
                why = _("超过决定期限（%(due)s）未作决定") % {
                    "due": f"{submission.decision_due:%Y-%m-%d}"
                }
            done.append(escalate(submission, why=why))
    return done


@transaction.atomic
def extend_decision(
    submission: Submission, *, by: AbstractBaseUser, reason: str
) -> Submission:
    """A 点题公开 decision may be extended once, from 3 to 10 working days."""
    check_action("extend", submission, reason=reason)
    submission.extension_reason = reason.strip()
    set_deadlines(submission)
    submission.save()
    _log(submission, Event.EXTENDED, by=by, note=submission.extension_reason)
    return submission


@transaction.atomic
def refuse_request(
    submission: Submission,
    *,
    by: AbstractBaseUser,
    reason: str,
    department: Department | None = None,
) -> Submission:
    """Decline a 点题公开 request; the written reason is its public answer."""
    check_action("refuse", submission, reason=reason)
    now = timezone.now()
    submission.refusal_reason = reason.strip()
    submission.answer_text = reason.strip()
    submission.answered_by = department or submission.department
    submission.answered_at = now
    submission.status = Status.ANSWERED
    submission.save()
    _log(submission, Event.REFUSED, by=by, note=submission.refusal_reason, at=now)
    return submission


@transaction.atomic
def answer(
    submission: Submission,
    *,
    by: AbstractBaseUser,
    department: Department,
    text: str,
    fulfilled_by: Disclosure | None = None,
    answered_at: datetime | None = None,
    body: Organisation | None = None,
) -> Submission:
    """Publish the answer; a 点题公开 request may be answered by a disclosure.
    The answering body is the one given, else the one the case was assigned
    to (a village's 村委会 answers as itself; the office stays 承办部门); a
    举报's is its town's 镇纪委."""
    check_action("answer", submission, department=department, text=text)
    check_fulfilment(submission, fulfilled_by)
    body = body or submission.answering_body or submission.assigned_body
    if body is None and submission.is_confidential:
        body = discipline_body(submission.unit)  # a 举报 is 镇纪委's to answer
    check_answering_body(submission, body)
    submission.answering_body = body
    submission.answer_text = text.strip()
    submission.answered_by = department
    submission.department = submission.department or department
    submission.answered_at = answered_at or timezone.now()
    submission.accepted_at = submission.accepted_at or submission.answered_at
    submission.fulfilled_by = fulfilled_by or submission.fulfilled_by
    submission.status = Status.ANSWERED
    submission.save()
    _log(submission, Event.ANSWERED, by=by, note=submission.answerer)
    return submission


@transaction.atomic
def close(submission: Submission, *, by: AbstractBaseUser) -> Submission:
    check_action("close", submission)
    submission.status = Status.CLOSED
    submission.closed_at = timezone.now()
    submission.save()
    _log(submission, Event.CLOSED, by=by)
    return submission


@transaction.atomic
def hide(submission: Submission, *, by: AbstractBaseUser, reason: str) -> Submission:
    """Take off the wall (abuse, spam, a personal matter); never deleted."""
    check_action("hide", submission, reason=reason)
    submission.status = Status.NOT_PUBLISHED
    submission.hidden_reason = reason.strip()
    submission.save()
    _log(submission, Event.HIDDEN, by=by, note=submission.hidden_reason)
    return submission


@transaction.atomic
def rate(
    submission: Submission,
    *,
    rating: str,
    comment: str = "",
    channel: str = RatingChannel.ONLINE,
    by: AbstractBaseUser | None = None,
    rated_at: datetime | None = None,
) -> Submission:
    """The submitter rates the answer, once a round: online by the resident,
    or recorded by staff after a 回访 (record_follow_up). 不满意 reopens it
    for another round (reopen), and a 不满意 in a second round escalates it."""
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    _require(submission.is_answered, _("答复之后才能评价。"))
    _require(not submission.rating, _("每条答复只能评价一次。"))
    _require(rating in Rating.values, _("请选择评价。"))
    submission.rating = rating
    submission.rating_comment = comment.strip()
    submission.rated_at = rated_at or timezone.now()
    submission.rating_channel = channel
    submission.rated_by = by if channel != RatingChannel.ONLINE else None
    note = submission.get_rating_display()
    if submission.rating_comment:
        note = f"{note}：{submission.rating_comment}"
    if submission.rated_by_staff:
        # The trail says staff recorded it, and how; never who (the user
        # column, for the office only, does).
        note = _("%(channel)s（工作人员记录）：%(note)s") % {
            "channel": submission.get_rating_channel_display(),
            "note": note,
        }
    _log(submission, Event.RATED, note=note, by=by, at=submission.rated_at)
    if rating == Rating.UNSATISFIED:
        return reopen(submission)
    submission.save()
    return submission


# 采纳 outcomes and 回访 ---------------------------------------------------------


def check_outcome(submission: Submission, *, outcome: str, reason: str) -> None:
    """An outcome is for an opinion or a suggestion, answered (or being
    answered: the caller checks the answer first); a reason unless 采纳."""
    _require(submission.kind in OUTCOME_KINDS, _("只有意见、建议可以记录采纳情况。"))
    _require(outcome in Outcome.values, _("请选择采纳情况。"))
    _require(
        outcome == Outcome.ADOPTED or not is_blank(reason),
        _("部分采纳或暂不采纳时必须说明理由。"),
    )


@transaction.atomic
def record_outcome(
    submission: Submission, *, by: AbstractBaseUser, outcome: str, reason: str = ""
) -> Submission:
    """采纳 / 部分采纳 / 暂不采纳, with the answer or after it; shown on the wall.
    Recorded again if it changes (each time in the trail)."""
    check_action("outcome", submission, outcome=outcome)
    check_outcome(submission, outcome=outcome, reason=reason)
    submission.outcome = outcome
    submission.outcome_reason = (reason or "").strip()
    submission.save()
    note = submission.get_outcome_display()
    if submission.outcome_reason:
        note = f"{note}：{submission.outcome_reason}"
    _log(submission, Event.OUTCOME, by=by, note=note)
    return submission


def _check_outcome_step(submission: Submission) -> None:
    _require(submission.kind in OUTCOME_KINDS, _("只有意见、建议可以记录采纳情况。"))
    _require(submission.is_answered, _("答复时或答复之后才能记录采纳情况。"))


def _check_follow_up_step(submission: Submission) -> None:
    _require(submission.is_answered, _("答复之后才能记录回访评价。"))
    _require(not submission.rating, _("这条答复已经评价过。"))


# A 举报 is never on the wall: its buttons say so.
CONFIDENTIAL_LABELS = {
    "accept": gettext_lazy("受理（举报，不在回音壁公开）"),
    "answer": gettext_lazy("答复（举报，仅提交人凭查询码可见）"),
}

# After the table's other steps (their buttons come last).
ACTIONS["outcome"] = Action(
    "outcome",
    gettext_lazy("记录采纳情况（意见、建议）"),
    _check_outcome_step,
    {"outcome": gettext_lazy("请选择采纳情况。")},
    record_keeper=False,
)
ACTIONS["follow_up"] = Action(
    "follow_up",
    gettext_lazy("记录回访评价（电话、上门）"),
    _check_follow_up_step,
    {
        "rating": gettext_lazy("请选择回访评价。"),
        "channel": gettext_lazy("请选择回访方式（电话回访或上门回访）。"),
        "on": gettext_lazy("请填写回访日期。"),
    },
)


def check_follow_up(submission: Submission, *, channel: str, on: date) -> None:
    check_action("follow_up", submission)
    _require(channel in FOLLOW_UP_CHANNELS, _("请选择回访方式（电话回访或上门回访）。"))
    _require(on is not None, _("请填写回访日期。"))
    _require(on <= timezone.localdate(), _("回访日期不能晚于今天。"))
    _require(
        on >= timezone.localdate(submission.answered_at),
        _("回访日期不能早于答复日期。"),
    )


def record_follow_up(
    submission: Submission,
    *,
    by: AbstractBaseUser,
    rating: str,
    channel: str,
    on: date,
    comment: str = "",
) -> Submission:
    """Staff record the resident's satisfaction after a phone call or a visit
    (回访): offline cases are rated too. A 不满意 reopens the case as the
    resident's own rating does."""
    check_follow_up(submission, channel=channel, on=on)
    # The day of the call or visit; the time it was recorded when that is today,
    # and never before the answer (a call on the day of a late answer).
    now = timezone.localtime()
    at = (
        now if on == now.date() else timezone.make_aware(datetime.combine(on, time(12)))
    )
    at = max(at, submission.answered_at)
    return rate(
        submission,
        rating=rating,
        comment=comment or "",
        channel=channel,
        by=by,
        rated_at=at,
    )


def route_note(submission: Submission) -> str:
    """The received event's note: the channel, and for a 举报 where it goes."""
    note = submission.get_channel_display()
    if submission.is_confidential:
        body = discipline_body(submission.unit)
        name = body.full_name if body else _("纪委")
        note = _("%(channel)s；举报，转%(body)s办理，不在回音壁公开") % {
            "channel": note,
            "body": name,
        }
    return note


def reopen(submission: Submission) -> Submission:
    """A 不满意 starts a new round: the answer and rating are kept as an
    AnswerRound; a new deadline counts from today (working days); a second
    answer and a second rating follow. Not satisfied twice: 督办."""
    comment = submission.rating_comment
    AnswerRound.objects.create(
        submission=submission,
        number=submission.round,
        due_date=submission.due_date,
        answer_text=submission.answer_text,
        answerer=submission.answerer,
        answered_at=submission.answered_at,
        rating=submission.rating,
        rating_comment=submission.rating_comment,
        rated_at=submission.rated_at,
        rating_channel=submission.rating_channel,
    )
    submission.round += 1
    submission.status = Status.ACCEPTED
    submission.closed_at = None
    for name in (
        "answer_text",
        "refusal_reason",
        "rating",
        "rating_comment",
        "rating_channel",
    ):
        setattr(submission, name, "")
    submission.answered_at = submission.rated_at = None
    submission.answered_by = submission.answering_body = submission.rated_by = None
    submission.deadline_from = timezone.localdate()
    submission.deadline_workdays = None
    set_deadlines(submission)
    submission.save()
    note = _("第%(n)d轮办理，答复期限 %(due)s") % {
        "n": submission.round,
        "due": f"{submission.due_date:%Y-%m-%d}",
    }
    _log(submission, Event.REOPENED, note=f"{comment}（{note}）" if comment else note)
    if submission.round > 2:
        escalate(submission, why=_("提交人再次不满意"))
    return submission

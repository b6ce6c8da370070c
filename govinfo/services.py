"""The workflow of an application for government information: receiving it,
the clock's steps, the answer (drafted by the town office, approved by a
reviewer), 视为放弃, and turning what was released into a 主动公开 draft.
Every step is an InfoRequestEvent; the clock (clock.py) is recomputed from
them after each one."""

from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import periods
from catalog.models import Catalog, Item
from disclosure.models import Disclosure
from disclosure.roles import is_town_admin, units_for

from . import clock
from .models import Channel, Ground, InfoRequest, InfoRequestEvent, Result

Kind = InfoRequestEvent.Kind
Status = InfoRequest.Status


# Who may do what ---------------------------------------------------------------


def handles_applications(user) -> bool:
    """Whether the back office shows this staff member the applications at
    all: the town's administrators and reviewers, and the editors of a town
    (its office). A village's editors share the editors' role group, and so
    its permissions, but applications go to the town government only: they
    never see the section."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    if not user.has_perm("govinfo.view_inforequest"):
        return False
    if is_town_admin(user) or user.has_perm("govinfo.approve_inforequest"):
        return True
    return units_for(user).towns().exists()


def requests_for(user) -> "InfoRequest.objects":
    """The applications a staff member handles or reads: the town's
    administrators and reviewers all; a town's editors (the town office)
    their towns'."""
    if not handles_applications(user):
        return InfoRequest.objects.none()
    if is_town_admin(user) or user.has_perm("govinfo.approve_inforequest"):
        return InfoRequest.objects.all()
    return InfoRequest.objects.filter(unit__in=units_for(user).towns())


def can_handle(request: InfoRequest, user) -> bool:
    return user.has_perm("govinfo.change_inforequest") and (
        requests_for(user).filter(pk=request.pk).exists()
    )


def can_approve(request: InfoRequest, user) -> bool:
    """A reviewer approves (or returns) an answer someone else drafted: the
    drafter never approves their own letter."""
    return (
        user.has_perm("govinfo.approve_inforequest")
        and request.drafted_by_id != user.pk
        and can_handle(request, user)
    )


def can_extend(request: InfoRequest, user) -> bool:
    """Art. 33: an extension needs the consent of the head of the disclosure
    office. The reviewer (负责人) who may approve answers grants it; the event
    is recorded in their name, so the trail shows who agreed."""
    return user.has_perm("govinfo.approve_inforequest") and can_handle(request, user)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValidationError(message)


def _log(request, kind, *, by=None, on=None, days=0, note="") -> InfoRequestEvent:
    return InfoRequestEvent.objects.create(
        request=request,
        kind=kind,
        on=on or timezone.localdate(),
        days=days,
        user=by if by is not None and by.is_authenticated else None,
        note=note,
    )


def _locked(request: InfoRequest) -> InfoRequest:
    return InfoRequest.objects.select_for_update().get(pk=request.pk)


# The clock --------------------------------------------------------------------


def clock_steps(request: InfoRequest) -> list[clock.Step]:
    return [
        clock.Step(e.kind, e.on, e.days)
        for e in request.events.filter(kind__in=clock.CLOCK_STEPS)
    ]


def clock_of(request: InfoRequest) -> clock.Clock:
    return clock.run(request.received_on, clock_steps(request))


def refresh_clock(request: InfoRequest) -> clock.Clock:
    state = clock_of(request)
    request.due_on = state.due_on
    request.extended_days = state.extended_days
    if request.status not in (Status.SUBMITTED, Status.ANSWERED):
        request.status = {
            clock.CORRECTION: Status.CORRECTION,
            clock.CONSULT: Status.CONSULTING,
        }.get(state.stopped_by, Status.RECEIVED)
    request.save(update_fields=["due_on", "extended_days", "status"])
    return state


# Receiving ---------------------------------------------------------------------


class FormAlreadySent(Exception):
    def __init__(self, request: InfoRequest):
        self.request = request


def submit(*, data: dict, form_token: str) -> tuple[InfoRequest, bool]:
    """Save an online application exactly once (art. 31: received the day it
    is sent, the portal confirming it at once). A second post of the same form
    returns the first; the same form with another matter raises
    FormAlreadySent."""
    earlier = InfoRequest.objects.filter(form_token=form_token).first()
    if earlier:
        return _same_post(earlier, data), False
    try:
        with transaction.atomic():
            request = InfoRequest(
                **data,
                channel=Channel.ONLINE,
                form_token=form_token,
                received_on=timezone.localdate(),
            )
            request.save()
            _log(request, Kind.RECEIVED, note=_("网上申请，系统即时确认收到。"))
            refresh_clock(request)
    except IntegrityError:
        earlier = InfoRequest.objects.filter(form_token=form_token).first()
        if earlier is None:
            raise
        return _same_post(earlier, data), False
    return request, True


def _same_post(earlier: InfoRequest, data: dict) -> InfoRequest:
    if earlier.description != data.get("description"):
        raise FormAlreadySent(earlier)
    return earlier


def register(request: InfoRequest, *, by: AbstractBaseUser) -> InfoRequest:
    """An application received on paper, by letter, in person or by fax,
    entered by staff with the day it counts as received (art. 31)."""
    with transaction.atomic():
        request.save()
        _log(
            request,
            Kind.RECEIVED,
            by=by,
            on=request.received_on,
            note=_("%(channel)s，收到日期 %(day)s。")
            % {"channel": request.get_channel_display(), "day": request.received_on},
        )
        refresh_clock(request)
    return request


# The clock's steps ----------------------------------------------------------------


STEP_RULES = {
    Kind.CORRECTION: ((Status.RECEIVED,), _("只有办理中的申请可以告知补正。")),
    Kind.CORRECTED: ((Status.CORRECTION,), _("该申请没有待补正的告知。")),
    Kind.CONSULT: ((Status.RECEIVED,), _("只有办理中的申请可以征求第三方意见。")),
    Kind.CONSULTED: ((Status.CONSULTING,), _("该申请没有在征求第三方意见。")),
    # Also while the answer is with the reviewer: the term still runs.
    Kind.EXTEND: (
        (Status.RECEIVED, Status.SUBMITTED),
        _("只有办理中的申请可以延期。"),
    ),
}


def record_step(
    request: InfoRequest,
    kind: str,
    *,
    by: AbstractBaseUser,
    on: date | None = None,
    days: int = 0,
    note: str = "",
) -> clock.Clock:
    """告知补正 / 收到补正 / 征求第三方意见 / 意见返回 / 延期, with the day it
    happened; an extension needs its working days (1–20, once) and reason,
    and is granted by a reviewer (can_extend)."""
    on = on or timezone.localdate()
    with transaction.atomic():
        request = _locked(request)
        allowed = can_extend if kind == Kind.EXTEND else can_handle
        if not allowed(request, by):
            raise PermissionDenied
        statuses, message = STEP_RULES[kind]
        _require(request.status in statuses, str(message))
        _require(on >= request.received_on, _("日期不能早于收到申请的日期。"))
        _require(on <= timezone.localdate(), _("日期不能晚于今天。"))
        steps = clock_steps(request)
        # The clock takes the steps in date order: one dated before the last
        # (收到补正 before 告知补正) would leave it stopped for good.
        last = max((step.on for step in steps), default=request.received_on)
        _require(
            on >= last,
            _("日期不能早于上一个办理步骤的日期（%(day)s）。") % {"day": last},
        )
        if kind == Kind.EXTEND:
            state = clock.run(request.received_on, steps)
            refusal = clock.check_extension(state, days, on)
            _require(not refusal, refusal)
            _require(bool(note.strip()), _("延期须写明理由，并告知申请人。"))
            request.extension_reason = note.strip()
            request.save(update_fields=["extension_reason"])
        elif kind == Kind.CORRECTION:
            refusal = clock.check_correction(request.received_on, steps, on)
            _require(not refusal, refusal)
            _require(bool(note.strip()), _("请写明需要补正的事项和合理的补正期限。"))
        _log(
            request,
            kind,
            by=by,
            on=on,
            days=days if kind == Kind.EXTEND else 0,
            note=note.strip(),
        )
        return refresh_clock(request)


def abandon(request: InfoRequest, *, by: AbstractBaseUser, on: date | None = None):
    """No correction within the reasonable time (art. 30): 视为放弃, counted
    as 其他处理 (申请人无正当理由逾期不补正)."""
    on = on or timezone.localdate()
    with transaction.atomic():
        request = _locked(request)
        if not can_handle(request, by):
            raise PermissionDenied
        _require(request.status == Status.CORRECTION, _("该申请没有待补正的告知。"))
        # A date to come would close the case now, before the time to correct
        # has run out.
        _require(on <= timezone.localdate(), _("日期不能晚于今天。"))
        state = clock_of(request)
        _require(
            on > state.correction_due,
            _("补正期限（%(day)s）届满后才能视为放弃。")
            % {"day": state.correction_due},
        )
        request.result = Result.OTHER
        request.ground = "no_correction"
        request.answer_text = _(
            "申请人无正当理由逾期未补正，视为放弃申请，本机关不再处理。"
        )
        request.answered_on = on
        request.status = Status.ANSWERED
        request.save()
        _log(request, Kind.ABANDONED, by=by, on=on)
    return request


# The answer -------------------------------------------------------------------


def draft_answer(
    request: InfoRequest,
    *,
    by: AbstractBaseUser,
    result: str,
    ground: str = "",
    text: str,
    responsible_body: str = "",
    responsible_contact: str = "",
) -> InfoRequest:
    """The handler's draft of the answer, for the reviewer. For 非本机关负责
    (art. 36(五)) the responsible body and its contact, when known, are named
    in the letter; for any other ground they are dropped."""
    with transaction.atomic():
        request = _locked(request)
        if not can_handle(request, by):
            raise PermissionDenied
        _require(
            request.status == Status.RECEIVED,
            _("只有办理中的申请可以拟定答复（补正或征求意见期间不能）。"),
        )
        request.result, request.ground, request.answer_text = result, ground, text
        if ground != Ground.NOT_THIS_BODY:
            responsible_body = responsible_contact = ""
        request.responsible_body = responsible_body.strip()
        request.responsible_contact = responsible_contact.strip()
        _require(bool(text.strip()), _("请填写答复内容。"))
        request.full_clean(exclude=["unit", "name"])
        request.status = Status.SUBMITTED
        request.drafted_by = by
        request.save()
        _log(request, Kind.DRAFTED, by=by, note=request.get_result_display())
    return request


def approve(request: InfoRequest, *, by: AbstractBaseUser) -> InfoRequest:
    """The reviewer approves the drafted answer: it is sent that day."""
    with transaction.atomic():
        request = _locked(request)
        if not can_approve(request, by):
            raise PermissionDenied
        _require(request.status == Status.SUBMITTED, _("该申请没有待审核的答复。"))
        request.status = Status.ANSWERED
        request.approved_by = by
        request.answered_on = max(timezone.localdate(), request.received_on)
        request.save()
        _log(request, Kind.ANSWERED, by=by, note=request.get_result_display())
    return request


def return_answer(request: InfoRequest, *, by: AbstractBaseUser, note: str):
    with transaction.atomic():
        request = _locked(request)
        if not can_approve(request, by):
            raise PermissionDenied
        _require(request.status == Status.SUBMITTED, _("该申请没有待审核的答复。"))
        _require(bool(note.strip()), _("请写明退回修改的意见。"))
        request.status = Status.RECEIVED
        request.save(update_fields=["status"])
        _log(request, Kind.RETURNED, by=by, note=note.strip())
        refresh_clock(request)
    return request


# 转为主动公开 ---------------------------------------------------------------------


def release_items():
    """The 政务 items a town discloses: where released information goes."""
    return Item.objects.for_unit_kind("town").filter(
        category__catalog__kind=Catalog.Kind.GOVERNMENT
    )


def release_title(item: Item, on: date | None = None) -> str:
    """A neutral title for released information: the catalog item and the
    year. Never the applicant's description, which may name them or others."""
    on = on or timezone.localdate()
    return _("%(item)s（%(year)s年）") % {"item": item.name, "year": on.year}


def release(
    request: InfoRequest,
    *,
    by: AbstractBaseUser,
    item: Item,
    body: str,
    title: str = "",
) -> Disclosure:
    """Information released on request that others may need: a 主动公开 draft
    of the town, which then goes through the normal workflow (submit, review,
    approve, publish). Its title and body are written by staff for the public
    (an empty title: the item and year); nothing of the application or the
    letter to the applicant is copied."""
    with transaction.atomic():
        request = _locked(request)
        if not can_handle(request, by):
            raise PermissionDenied
        _require(
            request.result in (Result.DISCLOSED, Result.PARTLY),
            _("只有予以公开或部分公开的信息可以转为主动公开。"),
        )
        _require(request.released_as_id is None, _("该申请的信息已转为主动公开。"))
        _require(bool(body.strip()), _("请填写拟主动公开的信息内容。"))
        kind = item.period_kind or periods.MONTH
        today = timezone.localdate()
        disclosure = Disclosure(
            unit=request.unit,
            item=item,
            title=title.strip() or release_title(item, today),
            body=body.strip(),
            period=periods.Period.containing(today, kind).key,
            status=Disclosure.Status.DRAFT,
            created_by=by,
        )
        disclosure.full_clean()
        disclosure.save()
        request.released_as = disclosure
        request.save(update_fields=["released_as"])
        _log(request, Kind.RELEASED, by=by, note=disclosure.title)
    return disclosure

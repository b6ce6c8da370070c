"""The publishing workflow: 提出 → 审核 (with the 保密审查) → 审批 → 发布, with
return and 撤回. Which bodies act comes from disclosure/procedure.py.

Each transition checks who may make it, changes the status and records a
DisclosureEvent, in one transaction. The admin's buttons and actions call
these functions and nothing else changes a disclosure's status.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import SCOPE_WIDTH, Item, Scope
from core import audiences, events

from . import archives, procedure, roles
from .models import Disclosure, DisclosureEvent, NoticeOutcome, Organisation, Unit

Status = Disclosure.Status
Action = DisclosureEvent.Action
SEALED_MESSAGE = gettext_lazy(
    "该年度已归档，不能再新增或提交；如需更正，请联系镇管理员。"
)
CANNOT_EDIT_MESSAGE = gettext_lazy(
    "您不能修改该公开内容：村（社区）只能修改本单位未提交且未归档的草稿，"
    "发布后的更正由镇管理员进行，已撤回的内容不能修改。"
)
# What an earlier version may give back: its text. Status, scope, item, unit,
# index number and dates change only through the workflow steps here.
RESTORABLE_FIELDS = ("title", "body")


def can_edit_content(disclosure: Disclosure, user: AbstractBaseUser) -> bool:
    """Editors change their own unit's drafts; the town administrator anything
    not withdrawn (a change after publication is a recorded correction)."""
    if roles.is_town_admin(user):
        return disclosure.status != Status.WITHDRAWN
    if archives.is_sealed(disclosure):  # a closed year: corrections only
        return False
    return (
        disclosure.status == Status.DRAFT
        and roles.units_for(user).filter(pk=disclosure.unit_id).exists()
    )


def can_delete(disclosure: Disclosure, user: AbstractBaseUser) -> bool:
    """Only the town administrator, only a draft that was never submitted."""
    return (
        roles.is_town_admin(user)
        and disclosure.status == Status.DRAFT
        and not disclosure.events.exists()
    )


def allowed_transitions(disclosure: Disclosure, user: AbstractBaseUser) -> list[str]:
    names = []
    for name, check in CHECKS.items():
        try:
            check(disclosure, user)
        except (PermissionDenied, ValidationError):
            continue
        names.append(name)
    return names


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PermissionDenied(message)


def _require_status(disclosure: Disclosure, *statuses: str) -> None:
    if disclosure.status not in statuses:
        raise ValidationError(
            _("当前状态为“%(status)s”，不能进行此操作。")
            % {"status": disclosure.get_status_display()}
        )


def _check_submit(disclosure: Disclosure, user) -> None:
    _require_status(disclosure, Status.DRAFT)
    if archives.is_sealed(disclosure):
        raise ValidationError(SEALED_MESSAGE)
    _require(
        roles.units_for(user).filter(pk=disclosure.unit_id).exists(),
        _("只能提交本单位的公开内容。"),
    )
    procedure.bodies_for(disclosure)  # the procedure is set, or say so now


def _check_review(disclosure: Disclosure, user) -> None:
    _require_status(disclosure, Status.SUBMITTED)
    body = procedure.bodies_for(disclosure).review
    _require(
        procedure.acts_for(user, body),
        _("该内容由%(body)s审核，您不是其经办人员。") % {"body": body.full_name},
    )
    _require(disclosure.submitted_by_id != user.pk, _("不能审核自己提交的公开内容。"))


def _check_approve(disclosure: Disclosure, user) -> None:
    _require_status(disclosure, Status.REVIEWED)
    body = procedure.bodies_for(disclosure).approve
    _require(
        procedure.acts_for(user, body),
        _("该内容由%(body)s审批，您不是其经办人员。") % {"body": body.full_name},
    )
    _require(disclosure.submitted_by_id != user.pk, _("不能审批自己提交的公开内容。"))
    _require(
        disclosure.reviewed_by_id != user.pk,
        _("审核和审批须由不同的人进行：您已审核过该内容。"),
    )


def _may_return(disclosure: Disclosure, user) -> bool:
    """The reviewing and approving bodies; and the town's reviewers, who see
    every unit's records and may send one back (a secrecy concern) though
    they do not approve a village's own affairs."""
    bodies = procedure.bodies_for(disclosure)
    return (
        roles.is_reviewer(user)
        or procedure.acts_for(user, bodies.review)
        or procedure.acts_for(user, bodies.approve)
    )


def _check_return(disclosure: Disclosure, user) -> None:
    _require_status(disclosure, Status.SUBMITTED, Status.REVIEWED, Status.APPROVED)
    _require(_may_return(disclosure, user), _("只有审核、审批机构的经办人员可以退回。"))


def _may_publish(disclosure: Disclosure, user) -> bool:
    """The publishing body (the village itself for its own affairs), its
    approver scheduling the publication, or the unit's editors posting it."""
    bodies = procedure.bodies_for(disclosure)
    return (
        procedure.acts_for(user, bodies.publish)
        or procedure.acts_for(user, bodies.approve)
        or roles.units_for(user).filter(pk=disclosure.unit_id).exists()
    )


def _check_publish(disclosure: Disclosure, user) -> None:
    _require_status(disclosure, Status.APPROVED)
    _require(_may_publish(disclosure, user), _("只有发布单位或审批机构可以发布。"))


def _check_withdraw(disclosure: Disclosure, user) -> None:
    _require_status(disclosure, Status.PUBLISHED, Status.APPROVED)
    bodies = procedure.bodies_for(disclosure)
    _require(
        roles.is_town_admin(user) or procedure.acts_for(user, bodies.approve),
        _("只有审批机构或镇管理员可以撤回。"),
    )


CHECKS = {
    "submit": _check_submit,
    "review": _check_review,
    "approve": _check_approve,
    "return": _check_return,
    "publish": _check_publish,
    "withdraw": _check_withdraw,
}


def _move(
    disclosure: Disclosure,
    *,
    to: str,
    action: str,
    by: AbstractBaseUser,
    body: Organisation,
    comment: str = "",
    fields: tuple[str, ...] = (),
    **recorded,
) -> Disclosure:
    event = DisclosureEvent(
        disclosure=disclosure,
        action=action,
        from_status=disclosure.status,
        to_status=to,
        actor=by,
        body=body,
        acting_body=body.name,
        comment=comment,
        **recorded,
    )
    disclosure.status = to
    disclosure._change_reason = str(DisclosureEvent.Action(action).label)
    disclosure.save(update_fields=["status", "updated_at", *fields])
    event.save()
    # With the row as just saved: what its save moved (the span of
    # publications) was told by the save's own event.
    events.announce(action, Disclosure, [disclosure.pk], instance=disclosure)
    return disclosure


def _locked(disclosure: Disclosure) -> Disclosure:
    """Lock the row and refresh the caller's instance, so that two reviewers
    clicking at once cannot both succeed and the caller sees the new state."""
    list(Disclosure.objects.select_for_update().filter(pk=disclosure.pk).values("pk"))
    disclosure.refresh_from_db()
    return disclosure


@transaction.atomic
def submit(disclosure: Disclosure, *, by: AbstractBaseUser) -> Disclosure:
    """提出, by the unit's drafting body (its editor)."""
    disclosure = _locked(disclosure)
    _check_submit(disclosure, by)
    disclosure.full_clean()
    disclosure.submitted_by = by
    return _move(
        disclosure,
        to=Status.SUBMITTED,
        action=Action.SUBMITTED,
        by=by,
        body=procedure.bodies_for(disclosure).draft,
        fields=("submitted_by",),
    )


@transaction.atomic
def review(
    disclosure: Disclosure,
    *,
    by: AbstractBaseUser,
    secrecy_checked: bool,
    secrecy_conclusion: str,
    comment: str = "",
) -> Disclosure:
    """审核, with the 保密审查 recorded: nothing goes on to approval without it."""
    if not secrecy_checked:
        raise ValidationError(_("审核须先完成保密审查，并勾选确认。"))
    if not secrecy_conclusion.strip():
        raise ValidationError(_("请填写保密审查意见。"))
    disclosure = _locked(disclosure)
    _check_review(disclosure, by)
    disclosure.reviewed_by = by
    return _move(
        disclosure,
        to=Status.REVIEWED,
        action=Action.REVIEWED,
        by=by,
        body=procedure.bodies_for(disclosure).review,
        comment=comment,
        fields=("reviewed_by",),
        secrecy_reviewed=True,
        secrecy_conclusion=secrecy_conclusion.strip(),
    )


@transaction.atomic
def approve(
    disclosure: Disclosure,
    *,
    by: AbstractBaseUser,
    comment: str = "",
    publish_at: datetime | None = None,
) -> Disclosure:
    """审批, by the approving body; with publish_at also scheduled."""
    disclosure = _locked(disclosure)
    _check_approve(disclosure, by)
    _move(
        disclosure,
        to=Status.APPROVED,
        action=Action.APPROVED,
        by=by,
        body=procedure.bodies_for(disclosure).approve,
        comment=comment,
    )
    if publish_at is not None:
        return publish(disclosure, by=by, at=publish_at)
    return disclosure


def _acting_body(disclosure: Disclosure, user, *steps: str) -> Organisation:
    """The first of the procedure's bodies (in `steps` order) the user acts
    for; else the first one (a town administrator or reviewer acts for the
    town's oversight, recorded under the step's body)."""
    bodies = procedure.bodies_for(disclosure)
    candidates = [getattr(bodies, step) for step in steps]
    for body in candidates:
        if procedure.acts_for(user, body):
            return body
    return candidates[0]


@transaction.atomic
def return_for_changes(
    disclosure: Disclosure, *, by: AbstractBaseUser, comment: str
) -> Disclosure:
    if not comment.strip():
        raise ValidationError(_("退回修改必须填写意见。"))
    disclosure = _locked(disclosure)
    _check_return(disclosure, by)
    return _move(
        disclosure,
        to=Status.DRAFT,
        action=Action.RETURNED,
        by=by,
        body=_acting_body(disclosure, by, "review", "approve"),
        comment=comment,
    )


@transaction.atomic
def publish(
    disclosure: Disclosure, *, by: AbstractBaseUser, at: datetime | None = None
) -> Disclosure:
    """Publish now, or at a later time: the visibility query compares with now,
    so a scheduled disclosure appears by itself, with no job to run."""
    disclosure = _locked(disclosure)
    _check_publish(disclosure, by)
    disclosure.published_at = at or timezone.now()
    if not disclosure.index_number:
        disclosure.index_number = next_index_number(disclosure)
    if disclosure.display_until is None:
        # Left empty by the editor: from the item's frequency (the model's rule).
        disclosure.display_until = disclosure.default_display_until()
    return _move(
        disclosure,
        to=Status.PUBLISHED,
        action=Action.PUBLISHED,
        by=by,
        body=procedure.bodies_for(disclosure).publish,
        fields=("published_at", "index_number", "display_until"),
    )


@transaction.atomic
def withdraw(
    disclosure: Disclosure, *, by: AbstractBaseUser, reason: str
) -> Disclosure:
    """Take off the public site; the record, its history and the reason stay."""
    if not reason.strip():
        raise ValidationError(_("撤回必须填写原因。"))
    disclosure = _locked(disclosure)
    _check_withdraw(disclosure, by)
    disclosure.withdrawal_reason = reason
    disclosure.withdrawn_at = timezone.now()
    return _move(
        disclosure,
        to=Status.WITHDRAWN,
        action=Action.WITHDRAWN,
        by=by,
        body=_acting_body(disclosure, by, "approve", "publish"),
        comment=reason,
        fields=("withdrawal_reason", "withdrawn_at"),
    )


@transaction.atomic
def record_edit(
    disclosure: Disclosure, *, by: AbstractBaseUser, changed: list[str]
) -> None:
    """After an admin save: a content change to a published disclosure is a
    correction that residents are told about."""
    content = set(changed) & set(Disclosure.CONTENT_FIELDS)
    if disclosure.status != Status.PUBLISHED or not content:
        return
    disclosure.corrected_at = timezone.now()
    disclosure.save(update_fields=["corrected_at"])
    body = _acting_body(disclosure, by, "publish", "approve")
    DisclosureEvent.objects.create(
        disclosure=disclosure,
        action=Action.CORRECTED,
        from_status=Status.PUBLISHED,
        to_status=Status.PUBLISHED,
        actor=by,
        body=body,
        acting_body=body.name,
        comment=", ".join(sorted(content)),
    )
    events.announce(Action.CORRECTED, Disclosure, [disclosure.pk])


# The event announced with the ids of disclosures made 党内 with their item.
MADE_INNER_PARTY = "made_inner_party"
# Rows changed per statement when an item becomes 党内 (a monthly village item
# has about 18,000 disclosures at county scale).
SCOPE_BATCH = 1000


@transaction.atomic
def follow_item_scope(item: Item) -> int:
    """Make every disclosure of a 党内 item 党内 (of a 党组织内部 item, its
    branch's), whatever its state, each with a history version saying why;
    returns how many changed.

    Never the other way: an item made public again leaves its disclosures 党内,
    since publishing them is a decision for the workflow. Called on every save
    of an item (`on_item_saved`), in the item's transaction; the search index
    and the page cache follow the `made_inner_party` event. Set-based: 18,000
    rows take about 11 s on PostgreSQL (most of it the search index's trigram
    indexes), against 24 s with simple-history's bulk_history_create.
    """
    if item.is_public:
        return 0
    # A 党组织内部 item's disclosures become its unit's branch's (derive_scope);
    # any as narrow as the item already stay as they are.
    as_narrow = [s for s, w in SCOPE_WIDTH.items() if w >= SCOPE_WIDTH[item.scope]]
    ids = list(
        Disclosure.objects.filter(item=item)
        .exclude(scope__in=as_narrow)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    branch = None
    if item.scope == Scope.BRANCH:
        branch = Subquery(
            Organisation.objects.branches()
            .filter(unit=OuterRef("unit"))
            .order_by("order", "id")
            .values("pk")[:1]
        )
    reason = _("公开事项“%(item)s”改为%(scope)s，其公开内容随之改为%(scope)s。") % {
        "item": item,
        "scope": item.get_scope_display(),
    }
    history = Disclosure.history.model
    user = history.get_default_history_user(item)  # the admin user, if any
    now = timezone.now()
    for start in range(0, len(ids), SCOPE_BATCH):
        batch = ids[start : start + SCOPE_BATCH]
        Disclosure.objects.filter(pk__in=batch).update(
            scope=item.scope, branch=branch, public_from=None, updated_at=now
        )
        _record_history(batch, reason=reason, at=now, user=user)
        # An UPDATE sends no post_save: the event is the only news of it.
        events.announce(MADE_INNER_PARTY, Disclosure, batch)
    if branch is not None and ids:
        audiences.moved()  # branches with rows of their own now (Reader)
    return len(ids)


def follow_branch_rows(sender, instance, **kwargs) -> None:
    """A 党组织内部 row saved (a proxy's too, loaded raw too): its branch may
    have a row of its own for the first time, so its members' kept Readers
    and audiences are worked out again (`Reader._has_own_rows`). Rare: few
    rows are 党组织内部."""
    if isinstance(instance, Disclosure) and instance.scope == Scope.BRANCH:
        audiences.moved()


def _record_history(ids: list[int], *, reason: str, at, user) -> None:
    """A history version ("~", changed) of each row as it now is, copied by the
    database (INSERT … SELECT, the same SQL on SQLite and PostgreSQL) instead
    of a Python object per row."""
    history = Disclosure.history.model
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in history.tracked_fields)
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"INSERT INTO {quote(history._meta.db_table)} ({columns}, history_date,"
        " history_type, history_change_reason, history_user_id)"
        f" SELECT {columns}, %s, %s, %s, %s"
        f" FROM {quote(Disclosure._meta.db_table)} WHERE id IN ({marks})"
    )
    params = [
        connection.ops.adapt_datetimefield_value(at),
        "~",
        reason,
        user.pk if user else None,
        *ids,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def on_item_saved(event: events.Event) -> None:
    # A fixture loaded raw has no disclosures of the item yet to follow it.
    if not event.raw:
        follow_item_scope(event.instance)


@transaction.atomic
def restore_version(
    disclosure: Disclosure, *, version, by: AbstractBaseUser
) -> list[str]:
    """Copy an earlier version's text (RESTORABLE_FIELDS) onto the disclosure.

    An edit like any other: only who may edit the disclosure now, and after
    publication a public correction (record_edit). Returns the fields changed.
    """
    if version.id != disclosure.pk:
        raise ValueError("a version of another disclosure")
    disclosure = _locked(disclosure)
    if not can_edit_content(disclosure, by):
        raise PermissionDenied(CANNOT_EDIT_MESSAGE)
    changed = [
        name
        for name in RESTORABLE_FIELDS
        if getattr(disclosure, name) != getattr(version, name)
    ]
    if not changed:
        return []
    for name in changed:
        setattr(disclosure, name, getattr(version, name))
    others = [f.name for f in Disclosure._meta.fields if f.name not in changed]
    disclosure.clean_fields(exclude=others)
    disclosure._history_user = by
    disclosure._change_reason = _("恢复 %(at)s 的版本") % {
        "at": timezone.localtime(version.history_date).strftime("%Y-%m-%d %H:%M")
    }
    disclosure.save(update_fields=[*changed, "updated_at"])
    record_edit(disclosure, by=by, changed=changed)
    return changed


# 公示 outcomes -------------------------------------------------------------------

CANNOT_RECORD_OUTCOME = gettext_lazy("只能在公示期满后登记本单位已发布公示的结果。")


def can_record_outcome(disclosure: Disclosure, user: AbstractBaseUser) -> bool:
    """A published 公示's outcome (公示结果) is recorded once its window has
    ended, by its unit's editors or the town administrator: a fact about the
    notice, not a change of its text (no correction), so the editors who are
    prompted for it may record it. A closed year is sealed but for the town."""
    if disclosure.status != Status.PUBLISHED:
        return False
    ends = disclosure.notice_ends_on
    if ends is None or timezone.localdate() <= ends:  # objections still taken
        return False
    if roles.is_town_admin(user):
        return True
    if archives.is_sealed(disclosure):
        return False
    return roles.units_for(user).filter(pk=disclosure.unit_id).exists()


@transaction.atomic
def record_outcome(
    disclosure: Disclosure, *, by: AbstractBaseUser, outcome: str, text: str = ""
) -> Disclosure:
    """Record a 公示's outcome: no objection, or objections and how they were
    handled. Kept in the disclosure's history."""
    if not can_record_outcome(disclosure, by):
        raise PermissionDenied(CANNOT_RECORD_OUTCOME)
    disclosure.notice_outcome = outcome
    disclosure.notice_outcome_text = (text or "").strip()
    errors = disclosure.outcome_errors()
    if outcome not in NoticeOutcome.values:
        errors["notice_outcome"] = _("请选择公示结果。")
    if errors:
        raise ValidationError(errors)
    disclosure._history_user = by
    disclosure._change_reason = _("登记公示结果")
    disclosure.save(
        update_fields=["notice_outcome", "notice_outcome_text", "updated_at"]
    )
    return disclosure


def next_index_number(disclosure: Disclosure) -> str:
    """索引号: unit / year / catalog item / sequence, e.g. WENLI-2011-A09-003.

    Assigned once, at first publication, and never changed. The caller holds a
    transaction; the unit row is locked so two publications cannot share one.
    """
    unit = Unit.objects.select_for_update().get(pk=disclosure.unit_id)
    year = timezone.localdate(disclosure.published_at).year
    prefix = f"{unit.slug.upper()}-{year}-{disclosure.item.code}-"
    taken = Disclosure.objects.filter(index_number__startswith=prefix).values_list(
        "index_number", flat=True
    )
    seq = max((int(number.rsplit("-", 1)[1]) for number in taken), default=0) + 1
    return f"{prefix}{seq:03d}"

"""What waits for a staff member in the disclosure workflow and the compliance
schedule: the start page's counts (registered with core.worklist) and the
filters of the lists they link to, from the same functions, so that a count
and its list always agree.

- 退回修改: drafts sent back that the user drafts again (of a unit they edit,
  or submitted by them);
- 待我审核 / 待我审批: what services.CHECKS let the user review or approve
  now (the body they act for, never their own submission or review);
- a unit's obligations (compliance.py) overdue and falling due this month,
  for the units they edit (the town administrator: the town's).
"""

from datetime import date

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import worklist

from . import compliance, procedure, roles
from .models import Disclosure, DisclosureEvent, DisclosureQuerySet, Unit

Status = Disclosure.Status
RETURNED, REVIEW, APPROVE = "returned", "review", "approve"
# The disclosure list's 我的待办 filter (admin.WorkFilter).
CHOICES = [
    (RETURNED, gettext_lazy("退回修改的草稿")),
    (REVIEW, gettext_lazy("待我审核")),
    (APPROVE, gettext_lazy("待我审批")),
]


def returned_drafts(user, records: DisclosureQuerySet) -> DisclosureQuerySet:
    """Drafts returned for changes (a draft with a 退回 event: only a return
    makes a submitted record a draft again) of the units the user edits, or
    submitted by them."""
    returned = DisclosureEvent.objects.filter(
        disclosure=OuterRef("pk"), action=DisclosureEvent.Action.RETURNED
    )
    edited = Unit.objects.filter(editors=user).values("pk")
    return records.filter(
        Exists(returned),
        Q(unit__in=edited) | Q(submitted_by=user),
        status=Status.DRAFT,
    )


def waiting_steps(user, records: DisclosureQuerySet) -> dict[str, list[int]]:
    """The ids among `records` the user may review (审核) or approve (审批) now:
    services._check_review and _check_approve, with the procedure's bodies
    resolved for all the records at once (tests compare the two)."""
    mine = procedure.bodies_acted_for(user)
    found: dict[str, list[int]] = {REVIEW: [], APPROVE: []}
    if not mine:
        return found
    candidates = list(
        records.filter(status__in=[Status.SUBMITTED, Status.REVIEWED])
        .exclude(submitted_by=user)
        .select_related("unit__parent__parent", "item__category")
        .order_by()
    )
    bodies = procedure.bodies_in_bulk(candidates)
    for d in candidates:
        if d.pk not in bodies:
            continue
        if d.status == Status.SUBMITTED and bodies[d.pk].review.pk in mine:
            found[REVIEW].append(d.pk)
        elif (
            d.status == Status.REVIEWED
            and bodies[d.pk].approve.pk in mine
            and d.reviewed_by_id != user.pk
        ):
            found[APPROVE].append(d.pk)
    return found


def filtered(user, records: DisclosureQuerySet, which: str) -> DisclosureQuerySet:
    """`records` narrowed to one of CHOICES (the list's filter)."""
    if which == RETURNED:
        return returned_drafts(user, records)
    return records.filter(pk__in=waiting_steps(user, records)[which])


def obligation_units(user) -> list[Unit]:
    """The units whose obligations the start page counts: those the user
    edits; for the town administrator, the town's (the first town: one per
    site), not the county's hundreds."""
    if roles.is_town_admin(user):
        town = Unit.objects.ordered_towns().first()
        if town is None:
            return []
        return [town, *town.children.with_boards().order_by("order", "id")]
    return list(Unit.objects.filter(editors=user).with_boards().order_by("order"))


def years_due(as_of: date) -> list[int]:
    # In January last year's December and Q4 items fall due (compliance.attention).
    return [as_of.year, as_of.year - 1] if as_of.month == 1 else [as_of.year]


def obligation_counts(units: list[Unit], as_of: date) -> list[tuple]:
    """(unit, year, {show: count}) for each unit and year due, as the unit's
    compliance page lists them with ?show= (compliance.waiting)."""
    counts = []
    for year in years_due(as_of):
        obligations, _items = compliance.load(units=units, year=year, as_of=as_of)
        by_unit: dict[int, list] = {}
        for o in obligations:
            by_unit.setdefault(o.unit_id, []).append(o)
        for unit in units:
            mine = by_unit.get(unit.pk, [])
            found = {
                show: len(compliance.waiting(mine, show, as_of))
                for show, _label in compliance.SHOW_CHOICES
            }
            if year == as_of.year or any(found.values()):
                counts.append((unit, year, found))
    return counts


def _line(text: str, n: int, url: str, urgent: bool = False) -> worklist.Line:
    return worklist.Line(text=text % {"n": n}, count=n, url=url, urgent=urgent)


def start_page(user) -> worklist.Section | None:
    """The start page's 公开内容 counts (core.worklist provider)."""
    changelist = reverse("admin:disclosure_disclosure_changelist")
    records = roles.staff_disclosures(user)
    lines = []
    if user.has_perm("disclosure.change_disclosure"):
        n = returned_drafts(user, records).count()
        lines.append(
            _line(_("退回修改的草稿 %(n)d 条"), n, f"{changelist}?todo={RETURNED}")
        )
    # Only who may open the list (a 镇纪委 member without a role may not).
    if user.has_perm("disclosure.view_disclosure") and (
        procedure.bodies_acted_for(user)
        or user.has_perm("disclosure.view_pendingdisclosure")
    ):
        steps = waiting_steps(user, records)
        lines.append(
            _line(
                _("待我审核 %(n)d 条"),
                len(steps[REVIEW]),
                f"{changelist}?todo={REVIEW}",
            )
        )
        lines.append(
            _line(
                _("待我审批 %(n)d 条"),
                len(steps[APPROVE]),
                f"{changelist}?todo={APPROVE}",
            )
        )
    rows = []
    units = obligation_units(user)
    as_of = compliance.reference_date()
    for unit, year, found in obligation_counts(units, as_of) if units else []:
        url = reverse("disclosure:compliance_unit", args=[unit.slug])
        query = {"year": year, "as_of": f"{as_of:%Y-%m-%d}"}
        heading = unit.name if year == as_of.year else f"{unit.name}（{year}年度）"
        rows.append(
            (
                heading,
                [
                    _line(
                        _("逾期未办 %(n)d 项"),
                        found["overdue"],
                        f"{url}?{urlencode({**query, 'show': 'overdue'})}",
                        urgent=True,
                    ),
                    _line(
                        _("本月到期 %(n)d 项"),
                        found["due"],
                        f"{url}?{urlencode({**query, 'show': 'due'})}",
                    ),
                ],
            )
        )
    if not (lines or rows):
        return None
    day = f"{as_of.year}年{as_of.month}月{as_of.day}日"
    return worklist.Section(
        title=_("公开内容"),
        lines=lines,
        rows=rows,
        note=(_("应公开事项截至 %(day)s。") % {"day": day} if rows else ""),
    )

"""Which bodies act on a disclosure, and who acts for them: the procedure of
党务公开条例 2017 art. 15 (提出、审核、审批、实施), and for village affairs the
村民委员会组织法 (the village committee discloses, the 村务监督委员会 oversees,
the town guides but does not approve).

A catalog's `ProcedureRule` names the kinds of body at each level; this module
resolves them to the unit's own organisations (or the town's, where the rule
says so). Nothing here is a fixed name: the trail records what it finds.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from catalog.models import ProcedureRule

from .models import Disclosure, Organisation, Unit


@dataclass(frozen=True)
class Bodies:
    draft: Organisation
    review: Organisation
    approve: Organisation
    publish: Organisation


def town_of(unit: Unit) -> Unit:
    """The town a unit belongs to (itself for a town)."""
    while unit.kind != Unit.Kind.TOWN and unit.parent_id:
        unit = unit.parent
    return unit


def rule_for(disclosure: Disclosure) -> ProcedureRule:
    level = disclosure.unit.board_level
    catalog = disclosure.item.category.catalog
    rule = ProcedureRule.objects.filter(catalog=catalog, level=level).first()
    if rule is None:
        raise ValidationError(
            _(
                "“%(catalog)s”尚未设置%(level)s公开程序（审核、审批机构），请联系镇管理员。"
            )
            % {"catalog": catalog, "level": ProcedureRule.Level(level).label}
        )
    return rule


def _body(unit: Unit, kind: str, step: str) -> Organisation:
    body = unit.organisations.filter(kind=kind).order_by("order", "id").first()
    if body is None:
        raise ValidationError(
            _("%(unit)s没有负责“%(step)s”的组织（%(kind)s），请联系镇管理员设置。")
            % {
                "unit": unit.name,
                "step": step,
                "kind": Organisation(kind=kind).get_kind_display(),
            }
        )
    return body


def bodies_for(disclosure: Disclosure) -> Bodies:
    """The bodies that draft, review, approve and publish this disclosure.

    Kept on the instance for its unit and item: a workflow page asks for each
    step's check (allowed_transitions), and they all need the same bodies."""
    key = (disclosure.unit_id, disclosure.item_id)
    cached = getattr(disclosure, "_procedure_bodies", None)
    if cached and cached[0] == key:
        return cached[1]
    bodies = _resolve(disclosure)
    disclosure._procedure_bodies = (key, bodies)
    return bodies


def _resolve(disclosure: Disclosure) -> Bodies:
    rule = rule_for(disclosure)
    unit = disclosure.unit
    town = town_of(unit)
    return Bodies(
        draft=_body(unit, rule.draft_body, _("提出")),
        review=_body(
            town if rule.review_by_town else unit, rule.review_body, _("审核")
        ),
        approve=_body(
            town if rule.approve_by_town else unit, rule.approve_body, _("审批")
        ),
        publish=_body(
            town if rule.publish_by_town else unit, rule.publish_body, _("发布")
        ),
    )


def bodies_in_bulk(disclosures) -> dict[int, Bodies]:
    """bodies_for of many disclosures in three queries (the start page's
    counts): the same rule and the same first body of each kind. A disclosure
    whose procedure is not set is left out, as bodies_for refuses it.
    Give them with `unit__parent__parent` and `item__category` loaded."""
    disclosures = list(disclosures)
    if not disclosures:
        return {}
    rules = {(r.catalog_id, r.level): r for r in ProcedureRule.objects.all()}
    towns = {d.unit_id: town_of(d.unit) for d in disclosures}
    unit_ids = set(towns) | {town.pk for town in towns.values()}
    first: dict[tuple[int, str], Organisation] = {}
    for body in Organisation.objects.filter(unit_id__in=unit_ids).order_by(
        "order", "id"
    ):
        first.setdefault((body.unit_id, body.kind), body)
    found = {}
    for d in disclosures:
        rule = rules.get((d.item.category.catalog_id, d.unit.board_level))
        if rule is None:
            continue
        unit, town = d.unit_id, towns[d.unit_id].pk
        steps = [
            first.get((unit, rule.draft_body)),
            first.get((town if rule.review_by_town else unit, rule.review_body)),
            first.get((town if rule.approve_by_town else unit, rule.approve_body)),
            first.get((town if rule.publish_by_town else unit, rule.publish_body)),
        ]
        if None not in steps:
            found[d.pk] = Bodies(*steps)
    return found


def bodies_acted_for(user) -> set[int]:
    """The ids of the bodies this staff member acts for (acts_for, at once)."""
    if not user.is_authenticated:
        return set()
    return set(Organisation.objects.filter(members=user).values_list("pk", flat=True))


def acts_for(user, body: Organisation) -> bool:
    """Whether this staff member acts for the body (its members, in the admin)."""
    return bool(user.is_authenticated and body.members.filter(pk=user.pk).exists())

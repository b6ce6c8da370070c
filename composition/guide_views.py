"""The 公开指南 pages of a town (?town=<slug>, the home town by default):
/guide/ the 政府信息公开指南 (how to apply for information, where, when,
fees, time limits, remedies) and /guide/affairs/ the 党务、村务公开指南 (the
leading group and its office, the disclosure days, the liaison points, the
supervision channels). Every fact comes from the records: the town's
`DisclosureGuide` (entered by its administrator), its bodies, the catalogs'
schedules; a fact not entered is said to be not yet given."""

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from catalog.models import BodyKind, Catalog, ScheduleRule
from disclosure.models import Organisation, Unit

from .models import DisclosureGuide, GovernmentReport
from .report_views import _town
from .views import home_unit


def _chosen_town(request) -> Unit:
    slug = request.GET.get("town")
    if slug is None:
        town = home_unit()
        if town is None:
            raise Http404(_("没有这个镇。"))
        return town
    return _town(slug)


def _common(town: Unit) -> dict:
    guide = DisclosureGuide.objects.filter(town=town).first()
    bodies = {
        o.kind: o
        for o in Organisation.objects.filter(unit=town).order_by("order", "id")
        if o.kind in (BodyKind.OFFICE, BodyKind.DISCIPLINE, BodyKind.GOVERNMENT)
    }
    office = bodies.get(BodyKind.OFFICE)
    return {
        "town": town,
        "guide": guide,
        "office_name": (guide.office if guide and guide.office else "")
        or (office.full_name if office else ""),
        "discipline": bodies.get(BodyKind.DISCIPLINE),
        "government": bodies.get(BodyKind.GOVERNMENT),
    }


def gov_guide(request):
    town = _chosen_town(request)
    county = town.parent if town.parent_id else None
    latest = (
        GovernmentReport.objects.published().filter(town=town).order_by("-year").first()
    )
    return render(
        request,
        "portal/guide_government.html",
        _common(town)
        | {
            "apply_url": reverse("govinfo:apply"),
            "county": county,
            "latest_report": latest,
        },
    )


def affairs_guide(request):
    town = _chosen_town(request)
    schedules = {
        rule.catalog.kind: rule
        for rule in ScheduleRule.objects.select_related("catalog").filter(
            catalog__kind__in=[Catalog.Kind.PARTY, Catalog.Kind.VILLAGE]
        )
    }
    units = Unit.objects.of_town(town)
    return render(
        request,
        "portal/guide_affairs.html",
        _common(town)
        | {
            "party_schedule": schedules.get(Catalog.Kind.PARTY),
            "village_schedule": schedules.get(Catalog.Kind.VILLAGE),
            "liaison_points": list(
                units.filter(is_liaison_point=True).order_by("order", "id")
            ),
            "villages": town.children.count(),
            "supervision": Organisation.objects.filter(
                unit__parent=town, kind=BodyKind.SUPERVISION
            ).count(),
        },
    )

"""The statistics page's figures for one year (and optionally one unit): the
charts and totals every app registers (core/figures.py), in app order, and
the same figures as CSV."""

import csv
import io

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from catalog.page_scopes import CATALOG
from core import caching
from core import figures as registry
from core.security import spreadsheet_safe
from disclosure import compliance
from disclosure.models import Reader, Unit


def figures(
    user, *, year: int, unit: Unit | None = None, town: Unit | None = None
) -> dict:
    """`unit`: one unit's figures; else `town`: its own and its villages'.

    Kept in the value cache per year, unit or town and audience (`Reader.key`:
    the rows a reader may see, so a party member's counts never reach a
    visitor) until a change in that unit or town (`kept`); the figures the
    date changes (providers registered `by_day`: the on-time shares) kept
    apart for the day, so that midnight recounts only them."""
    selection = {"year": year, "unit": unit, "town": town}
    audience = Reader.of(user).key
    where = f"{unit.pk if unit else ''}:{town.pk if town else ''}"
    name = f"stats:{year}:{where}:{audience}:{get_language()}"
    day = timezone.localdate().isoformat()
    parts = []
    # Apart: what the date changes (kept for the day), and what reads no
    # catalog row (a catalog change leaves it kept).
    for by_day in (False, True):
        for unread in registry.groups(by_day=by_day):
            parts += caching.cached(
                ":".join([name, *sorted(unread), *([day] if by_day else [])]),
                lambda by_day=by_day, unread=unread: registry.collect_parts(
                    user, by_day=by_day, independent_of=unread, **selection
                ),
                **kept(unit or town, midnight=by_day, independent_of=unread),
            )
    collected = registry.combine(parts)
    return {
        "charts": collected.charts,
        "totals": collected.totals,
        **collected.values,
    }


def kept(
    where: Unit | None, *, midnight: bool = True, independent_of=frozenset()
) -> dict:
    """How long a unit's or a town's figures are kept (`caching.cached`'s
    scopes and seconds): until a change in it (a unit's rows name
    "unit:<slug>", a town's villages' "town:<slug>"; a new 回音壁 case
    "cases-unit:<slug>" and "cases-town:<slug>", feedback.summary; a unit's
    change names its own and its town's; the catalog names CATALOG;
    an obligation event names its unit's and town's), the
    next publication scheduled in it (or a 先党内后党外 row coming out) or
    midnight (the day is in the name; `midnight=False` for figures the date
    does not change). Without either: any change, and the next publication
    coming due anywhere (the county's page, kept until then, is made again
    then: not from figures of before). `independent_of`: scopes, or kinds
    of scope, the figures do not read (CATALOG for the 回音壁's; the counts
    of cases, "cases-unit" and "cases-town", for the disclosures'), left
    out."""
    if where is None:
        return {"seconds": caching.until_due(None)}
    started = timezone.now()
    if where.kind == Unit.Kind.TOWN:
        units = Unit.objects.of_town(where)
    else:
        units = Unit.objects.filter(pk=where.pk)
    return {
        "scopes": [
            s
            for s in kept_scopes(where)
            if s not in independent_of and s.partition(":")[0] not in independent_of
        ],
        "seconds": lambda: caching.until(
            compliance.next_scheduled(units, started, public_from=True),
            midnight=midnight,
        ),
    }


def kept_scopes(where: Unit) -> list[str]:
    """The scopes of a unit's or a town's figures (`kept`): its rows, its
    villages' for a town, the new 回音壁 cases of either, and the catalog."""
    if where.kind == Unit.Kind.TOWN:
        scopes = [f"{kind}:{where.slug}" for kind in ("unit", "town")]
    else:
        scopes = [f"unit:{where.slug}"]
    return [*scopes, *(f"cases-{scope}" for scope in scopes), CATALOG]


def as_csv(data: dict, *, year: int, unit: Unit | None) -> str:
    """The same figures as the page, one value per line."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("图表"), _("年份"), _("单位"), _("项目"), _("分组"), _("数值")])
    scope = unit.name if unit else _("全镇")
    rows = [
        (chart.title, label, name, values[i])
        for chart in data["charts"]
        for i, label in enumerate(chart.labels)
        for name, values in chart.series
    ]
    rows += [(_("合计"), label, "", value) for label, value in data["totals"]]
    for title, label, name, value in rows:
        writer.writerow(
            [spreadsheet_safe(v) for v in (title, year, scope, label, name, value)]
        )
    return out.getvalue()

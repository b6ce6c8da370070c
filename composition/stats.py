"""The statistics page's figures for one year (and optionally one unit): the
charts and totals every app registers (core/figures.py), in app order, and
the same figures as CSV."""

import csv
import io

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core import caching
from core import figures as registry
from core.security import spreadsheet_safe
from disclosure import compliance
from disclosure.figures import kept
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
    # The day's figures are drawn as of the reference day, which a
    # publication anywhere in an archive county moves to today (a fact of
    # the county, not of this town's scopes): in their name beside today.
    day = f"{timezone.localdate().isoformat()}@{compliance.reference_date()}"
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
                **kept(
                    unit or town,
                    midnight=by_day,
                    independent_of=unread,
                    # The day's figures are the engine's on-time shares.
                    answers=by_day,
                ),
            )
    collected = registry.combine(parts)
    return {
        "charts": collected.charts,
        "totals": collected.totals,
        **collected.values,
    }


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

# ruff: noqa: F811 (the fixture imported from test_unit_counts)
"""Found by a review of the matrix's kept rows (compliance_tags.matrix_rows)
and the engine's counts kept under the counted twin (2026-12-04): a kept row
under another urlconf gave the first urlconf's links; a village moved to
another town left the counts of the unit whose disclosure answers its 点题
request as they were (older than the twin: "unit:<slug>" had the same gap).
Both fixed; each test failed before its fix."""

from datetime import date

import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import include, path

from core import caching
from disclosure.templatetags import compliance_tags
from tests.factories import TownFactory
from tests.perf.kept import nothing_kept
from tests.perf.test_compliance_runs_attack import at
from tests.perf.test_unit_counts import (  # noqa: F401 (the fixture)
    figures,
    town,
    towns_answer,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

# The site's pages, the disclosure app mounted under another prefix (a
# second site, a test's own urlconf): its unit links are elsewhere.
urlpatterns = [
    path("elsewhere/", include("disclosure.urls")),
    path("", include("fengming_portal.urls")),
]


def test_a_kept_matrix_row_follows_the_urlconf(town, settings):
    """A row's link is `reverse()`d: it depends on the urlconf, which the
    row's key does not name (chrome.py's kept copies name it). Rendered
    once under the site's urlconf, the same rows under another urlconf
    give the first urlconf's links, not those written afresh."""
    with time_machine.travel(at(date(2026, 11, 17), 22), tick=False):
        page = Client().get("/compliance/?kind=party&town=fengming&year=2026")
        rows = page.context["rows"]
        compliance_tags.matrix_rows(rows, "?year=2026")  # kept
        with override_settings(ROOT_URLCONF=__name__):
            kept = compliance_tags.matrix_rows(rows, "?year=2026")
            fresh = nothing_kept(
                settings, lambda: compliance_tags.matrix_rows(rows, "?year=2026")
            )
    assert "/elsewhere/compliance/wenli/" in fresh
    assert kept == fresh


def test_a_village_moved_to_another_town_recounts_the_towns_used_up_answer(
    town, settings, changed
):
    """The town's answer to 文理村's 点题 request is used up by the request
    (counted as the request's, not as the town's own event). 文理村 moved to
    another town takes its request out of 凤鸣镇's inputs: the town's
    answer is its own disclosure again. The move names the units whose
    disclosures answer its requests (`compliance.answering_units`): 凤鸣镇's
    counts are made again (they were kept as before the move)."""
    towns_answer(town)
    other = TownFactory(name="青龙镇", slug="qinglong")
    visitor = Client()
    with time_machine.travel(at(date(2026, 11, 18), 10), tick=False):
        before = figures(visitor)
        with changed():
            town["wenli"].parent = other
            town["wenli"].save()
        caching.reset_local()  # no process-local copy in the way
        after = figures(visitor)
        # 凤鸣镇's row: counted afresh, its answer is its own (on time) again.
        assert after == nothing_kept(settings, lambda: figures(Client()))
        assert after != before


def test_a_script_in_a_unit_or_category_name_comes_out_inert(town, changed):
    """matrix_rows joins kept rows with mark_safe: each row is written by
    format_html, so a <script> in a unit's or a category's name is escaped,
    in the row written and in the row kept and served again."""
    from catalog.models import Category

    payload = '<script>alert("x")</script>'
    with changed():
        town["wenli"].name = f"文理村{payload}"
        town["wenli"].save()
        category = Category.objects.get()
        category.name = f"栏目{payload}"
        category.save()
    url = "/compliance/?kind=party&town=fengming&year=2026"
    with time_machine.travel(at(date(2026, 11, 17), 22), tick=False):
        for _ in range(2):  # written, then kept
            html = Client().get(url).content.decode()
            assert payload not in html
            assert "文理村&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
            assert "栏目&lt;script&gt;" in html

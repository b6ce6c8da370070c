"""The statistics page's chart sections kept by their numbers
(`composition.templatetags.stats_tags.chart_section`): the same markup as
rendered afresh, made again when a number changes, never by a stale key."""

import pytest
from django.template.loader import render_to_string
from django.test import Client

from composition.templatetags import stats_tags
from core.charts import Chart
from tests.factories import DisclosureFactory, NoticeBoardFactory, UnitFactory
from tests.perf.test_scoped_values import counted

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

HOSTILE = '<script>alert(1)</script> "文理村" & ‮'


def a_chart(values=(3, None), label=HOSTILE) -> Chart:
    return Chart(
        key="by-unit",
        title="各单位公开条数",
        description=f"{label}：说明",
        labels=[label, "茅山村"],
        series=[("党务", list(values)), ("村务", [1, 2])],
        unit="条",
    )


def test_the_kept_section_is_the_template_byte_for_byte():
    fresh = render_to_string("includes/stats_chart.html", {"chart": a_chart()})
    assert stats_tags.chart_section(a_chart()) == fresh  # made and kept
    assert stats_tags.chart_section(a_chart()) == fresh  # read back
    assert "<script>" not in fresh and "&lt;script&gt;" in fresh


def test_another_number_or_label_is_another_section():
    first = stats_tags.chart_section(a_chart())
    assert stats_tags.chart_section(a_chart(values=(4, None))) != first
    assert stats_tags.chart_section(a_chart(label="文理村")) != first
    # 0 is not "—" (None): another key, another table cell.
    assert stats_tags.chart_key(a_chart(values=(3, 0))) != stats_tags.chart_key(
        a_chart()
    )
    assert stats_tags.chart_section(a_chart()) == first


def test_the_statistics_page_renders_a_chart_once_for_the_same_numbers(
    monkeypatch, django_capture_on_commit_callbacks
):
    wenli = UnitFactory(name="文理村", slug="wenli")
    NoticeBoardFactory(unit=wenli)
    DisclosureFactory(unit=wenli, title="第一条")
    rendered = counted(monkeypatch, stats_tags, "render_to_string")
    visitor = Client()
    first = visitor.get("/stats/").text
    charts = len(rendered)
    assert charts >= 3
    assert visitor.get("/stats/").text == first
    assert len(rendered) == charts  # every section kept
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(unit=wenli, title="第二条")
    again = visitor.get("/stats/").text
    assert charts < len(rendered) < 2 * charts + 1  # those whose numbers moved
    assert again != first


def test_a_script_in_every_text_of_a_chart_comes_out_inert_kept_or_not():
    """The one mark_safe the tag adds carries only the template's output,
    rendered with autoescaping: a payload in the title, description, labels,
    series names and unit is text, made and read back alike."""
    hostile = Chart(
        key="by-unit",
        title=HOSTILE,
        description=HOSTILE,
        labels=[HOSTILE],
        series=[(HOSTILE, [3]), ("<img src=x onerror=alert(1)>", [1])],
        unit="<b>条</b>",
    )
    for html in (stats_tags.chart_section(hostile), stats_tags.chart_section(hostile)):
        assert "<script>" not in html and "<img" not in html and "<b>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_hostile_unit_name_is_inert_on_the_kept_statistics_page():
    unit = UnitFactory(name="<script>alert(1)</script>村", slug="wenli")
    NoticeBoardFactory(unit=unit)
    DisclosureFactory(unit=unit, title="第一条")
    visitor = Client()
    for _ in range(2):  # rendered, then the sections read back
        page = visitor.get("/stats/").text
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;村" in page


def test_a_flush_of_every_version_leaves_the_sections_kept(monkeypatch):
    """Their content is their name: a change no scope names (a bulk load, a
    restore) makes the figures again, not a chart whose numbers are the
    same; another release (another template) names other sections."""
    from core import caching

    first = stats_tags.chart_section(a_chart())
    rendered = counted(monkeypatch, stats_tags, "render_to_string")
    caching._bump()
    caching.reset_local()  # another process
    assert stats_tags.chart_section(a_chart()) == first
    assert rendered == []
    monkeypatch.setattr(caching, "release", lambda: "another-release")
    assert stats_tags.chart_section(a_chart()) == first
    assert len(rendered) == 1

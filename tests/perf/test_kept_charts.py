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

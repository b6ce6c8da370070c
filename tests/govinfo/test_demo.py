"""The demo year: every answer type, the tables adding up, and no applicant's
particulars on any public page (a crawl from the home page)."""

import re
from urllib.parse import urlsplit

import pytest

from disclosure.models import Unit
from govinfo import figures
from govinfo.demo import read_demo
from govinfo.models import InfoRequest, Result

pytestmark = pytest.mark.django_db


def test_every_answer_type_is_in_the_demo_year(demo):
    results = set(
        InfoRequest.objects.filter(answered_on__year=2011).values_list(
            "result", flat=True
        )
    )
    assert results == set(Result.values)
    assert InfoRequest.objects.filter(answered_on__isnull=True).count() == 2


def test_the_demo_tables_add_up(demo):
    town = Unit.objects.towns().get()
    table = figures.application_table(town, 2011)
    rows = dict(table["rows"])
    for label, values in table["rows"]:
        assert len(values) == 7 and values[-1] == sum(values[:-1]), label
    new, carried = rows[figures.NEW], rows[figures.CARRIED]
    total, forward = rows[figures.TOTAL], rows[figures.FORWARD]
    assert [a + b for a, b in zip(new, carried, strict=True)] == [
        a + b for a, b in zip(total, forward, strict=True)
    ]
    assert new[-1] == 13 and carried[-1] == 1 and forward[-1] == 2
    assert total[-1] == 12
    # Each result row is the sum of its numbered subtypes (where it has some).
    labels = [label for label, _values in table["rows"]]
    for index, level in enumerate(table["levels"]):
        if level != 1 or labels[index] == figures.TOTAL:
            continue
        subs = []
        for sub in range(index + 1, len(labels)):
            if table["levels"][sub] != 2:
                break
            subs.append(table["rows"][sub][1])
        if subs:
            assert [sum(c) for c in zip(*subs, strict=True)] == table["rows"][index][1]
    remedies = figures.review_litigation_table(town, 2011)
    values = remedies["values"]
    assert values[:5] == [1, 0, 0, 0, 1]  # the 行政复议, upheld
    assert values[5:10] == [0, 0, 0, 1, 1]  # a suit, pending
    for start in (0, 5, 10):
        assert values[start + 4] == sum(values[start : start + 4])


def _particulars() -> list[str]:
    data = read_demo()
    secrets = []
    for row in data["applications"]:
        secrets += [row["name"], row.get("id_number", ""), row.get("credit_code", "")]
        secrets += [row.get("contact_person", "")]
    return sorted({s for s in secrets if len(s) >= 3 and s != "联系人"})


def test_no_applicant_data_on_any_public_page(client, demo):
    """Follow every link of the public site from the home page and the
    application's pages (the tracking and letter pages of a demo code too)."""
    secrets = _particulars()
    assert "柏青禾" in secrets and any(len(s) == 18 for s in secrets)
    answered = InfoRequest.objects.get(code="SQ2011A002")
    start = [
        "/",
        "/yishenqing/",
        "/yishenqing/track/",
        answered.get_tracking_url(),
        f"/yishenqing/track/{answered.code}/letter/",
        "/search/?q=低保",  # words of the demo applications
        "/search/?q=申请",
        "/feeds/",
        "/sitemap.xml",
        "/stats/",
    ]
    seen, queue = set(), list(start)
    link = re.compile(r'(?:href|src)="(/[^"#]*)"')
    while queue and len(seen) < 400:
        url = queue.pop(0)
        if url in seen or url.startswith(("/admin", "/static", "/media", "/accounts")):
            continue
        seen.add(url)
        response = client.get(url)
        if (
            response.status_code != 200
            or "html" not in response.get("Content-Type", "")
            and "xml" not in response.get("Content-Type", "")
        ):
            continue
        body = response.content.decode(errors="replace")
        leaked = [s for s in secrets if s in body]
        assert not leaked, f"{url}: {leaked}"
        for found in link.findall(body):
            path = found.replace("&amp;", "&")
            if urlsplit(path).path.endswith((".pdf", ".css", ".js", ".png", ".svg")):
                continue
            if path not in seen:
                queue.append(path)
    assert len(seen) > 50

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Scope
from feedback.models import Status
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def parse(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}title").text
    assert root.find(f"{ATOM}id").text
    assert root.find(f"{ATOM}updated") is not None
    return [
        {
            "title": entry.find(f"{ATOM}title").text,
            "link": entry.find(f"{ATOM}link").get("href"),
            "summary": entry.find(f"{ATOM}summary").text or "",
        }
        for entry in root.findall(f"{ATOM}entry")
    ]


@pytest.fixture
def units():
    town = TownFactory()
    return (
        UnitFactory(name="文理村", parent=town),
        UnitFactory(name="茅山村", parent=town),
    )


def test_latest_feed_is_atom_with_public_disclosures_only(client, party_client, units):
    wenli, _ = units
    public = DisclosureFactory(unit=wenli, title="抗旱救灾物资发放公示")
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title="党内通报"
    )
    DisclosureFactory(unit=wenli, title="草稿", status="draft")
    DisclosureFactory(
        unit=wenli, title="定时", published_at=timezone.now() + timedelta(days=1)
    )
    # Even a party member's feed is the public one: feeds are shared and cached.
    for c in (party_client, client):
        entries = parse(c.get("/feeds/latest/"))
        assert [e["title"] for e in entries] == ["文理村：抗旱救灾物资发放公示"]
        assert entries[0]["link"].endswith(public.get_absolute_url())


def test_board_feed_is_scoped_to_its_unit(client, units):
    wenli, maoshan = units
    DisclosureFactory(unit=wenli, title="文理村的通知")
    DisclosureFactory(unit=maoshan, title="茅山村的通知")
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title="党内通报"
    )
    entries = parse(client.get(f"/feeds/boards/{wenli.slug}/"))
    assert [e["title"] for e in entries] == ["文理村的通知"]
    assert client.get("/feeds/boards/nowhere/").status_code == 404


def test_feedback_feed_has_answered_consented_items_without_private_data(client, units):
    wenli, _ = units
    now = timezone.now()
    SubmissionFactory(
        unit=wenli,
        title="水泵怎么借",
        name="张三",
        phone="13800000000",
        status=Status.ANSWERED,
        answered_at=now,
        answer_text="到村委会登记。",
    )
    SubmissionFactory(unit=wenli, title="还没答复的")
    SubmissionFactory(
        unit=wenli,
        title="不同意公开的",
        consent_to_publish=False,
        status=Status.ANSWERED,
        answered_at=now,
        answer_text="已答复。",
    )
    SubmissionFactory(
        unit=wenli,
        title="隐藏的",
        status=Status.NOT_PUBLISHED,
        hidden_reason="涉及隐私",
    )
    response = client.get("/feeds/feedback/")
    entries = parse(response)
    assert [e["title"] for e in entries] == ["[咨询] 水泵怎么借"]
    assert "到村委会登记" in entries[0]["summary"]
    assert "张三" not in response.text and "13800000000" not in response.text


# Rows stored before the forms refused control characters (a 回音壁 question,
# an answer, a disclosure, a unit or department name).
STORED = "甲\x01\x1b[31m\x0b乙\u202e丙"


def test_feeds_are_written_with_control_characters_already_stored(client, units):
    from feedback import services
    from tests.factories import DepartmentFactory, UserFactory

    wenli, _ = units
    wenli.name = f"文理村{STORED}"
    wenli.save()
    DisclosureFactory(unit=wenli, title=f"通知{STORED}", body=f"正文{STORED}")
    question = SubmissionFactory(
        unit=wenli, title=f"问题{STORED}", text=f"内容{STORED}", consent_to_publish=True
    )
    services.answer(
        question,
        by=UserFactory(username="answerer", is_staff=True),
        department=DepartmentFactory(name=f"综治办{STORED}"),
        text=f"答复{STORED}",
    )
    for url in ("/feeds/latest/", f"/feeds/boards/{wenli.slug}/", "/feeds/feedback/"):
        entries = parse(client.get(url))
        assert entries, url
        assert "甲[31m乙丙" in entries[0]["title"], url
    (answered,) = parse(client.get("/feeds/feedback/"))
    assert "答复甲[31m乙丙" in answered["summary"]
    # Only the feed leaves them out: the stored text is as it was.
    question.refresh_from_db()
    assert question.answer_text == f"答复{STORED}"


def test_pages_link_their_feeds(client, units):
    wenli, _ = units
    alternate = 'rel="alternate" type="application/atom+xml"'
    board = client.get(f"/boards/{wenli.slug}/").text
    assert alternate in board and f"/feeds/boards/{wenli.slug}/" in board
    assert "/feeds/latest/" in client.get("/").text
    assert "/feeds/latest/" in client.get("/disclosures/").text
    wall = client.get("/feedback/").text
    assert alternate in wall and "/feeds/feedback/" in wall


def test_sitemap_lists_public_pages_and_no_inner_party_url(client, units):
    wenli, _ = units
    public = DisclosureFactory(unit=wenli, title="公开的")
    inner_item = ItemFactory(scope=Scope.INNER_PARTY)
    inner = DisclosureFactory(unit=wenli, item=inner_item, title="党内的")
    draft = DisclosureFactory(unit=wenli, status="draft")
    answered = SubmissionFactory(unit=wenli, accepted=True)
    private = SubmissionFactory(unit=wenli, consent_to_publish=False, accepted=True)
    waiting = SubmissionFactory(unit=wenli)  # not read by staff yet
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    locs = {loc.text for loc in root.iter(f"{ns}loc")}
    paths = {loc.split("testserver", 1)[1] for loc in locs}
    assert {"/", "/catalog/", "/boards/", "/feedback/", "/stats/"} <= paths
    assert public.get_absolute_url() in paths
    assert wenli.get_absolute_url() in paths
    assert answered.get_absolute_url() in paths
    assert inner.get_absolute_url() not in paths
    assert inner_item.get_absolute_url() not in paths
    assert draft.get_absolute_url() not in paths
    assert private.get_absolute_url() not in paths
    assert waiting.get_absolute_url() not in paths


def test_robots_txt_points_to_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap.xml" in response.text
    assert "Disallow: /admin/" in response.text

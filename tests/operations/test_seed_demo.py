import io

import pytest
from django.contrib import auth
from django.core.management import call_command
from PIL import Image

from catalog.models import Catalog, Category, Item, Scope
from disclosure.models import Attachment, Disclosure, NoticeBoard, Unit

pytestmark = pytest.mark.django_db

# `demo` (tests/conftest.py) seeds the town once for this module; a seed from
# an empty database is in test_seed_demo_uploads.py.

VILLAGES = [
    *"梁都坝 牌坊 新胜 双凤 海棠 文理 九层 瓦窑".split(),
    *"凤凰 金龙湖 茅山 朝阳 新洋 黄金湾 农化".split(),
]


def counts():
    return {
        "catalogs": Catalog.objects.count(),
        "categories": Category.objects.count(),
        "items": Item.objects.count(),
        "units": Unit.objects.count(),
        "boards": NoticeBoard.objects.count(),
        "disclosures": Disclosure.objects.count(),
        "forms": Disclosure.forms.through.objects.count(),
    }


def test_party_catalog_has_7_categories_and_64_items(demo):
    party = Catalog.objects.get(kind=Catalog.Kind.PARTY)
    assert party.document == "凤委发[2011]119号"
    assert party.categories.count() == 7
    assert Item.objects.filter(category__catalog=party).count() == 64
    assert (
        Item.objects.filter(category__catalog=party, scope=Scope.INNER_PARTY).count()
        == 22
    )
    assert [c.name for c in party.categories.all()][:3] == [
        "民主决策",
        "思想建设",
        "组织建设",
    ]


def test_government_and_village_catalogs_are_loaded_too(demo):
    kinds = set(Catalog.objects.values_list("kind", flat=True))
    assert kinds == {"party", "government", "village"}


def test_demo_town_has_15_villages_1_community_and_2_liaison_points(demo):
    town = Unit.objects.get(name="凤鸣镇")
    assert town.slug == "fengming"
    villages = town.children.filter(kind=Unit.Kind.VILLAGE)
    assert [v.name.removesuffix("村") for v in villages] == VILLAGES
    assert town.children.filter(kind=Unit.Kind.COMMUNITY).count() == 1
    liaison = set(
        Unit.objects.filter(is_liaison_point=True).values_list("slug", flat=True)
    )
    assert liaison == {"wenli", "maoshan"}
    assert town.notice_boards.get().count == 2


def test_demo_has_50_party_disclosures_of_2011_some_inner_party(demo):
    """The article's 公开党务信息50条: 党务 only; 政务 and 村务 on top."""
    published = Disclosure.objects.filter(
        status=Disclosure.Status.PUBLISHED
    ).information()
    party = published.filter(item__category__catalog__kind=Catalog.Kind.PARTY)
    assert party.count() == 50
    assert party.filter(published_at__year=2011).count() == 50
    government = published.filter(item__category__catalog__kind="government")
    assert government.count() == 9
    # 4 of them the decisions the 政府信息公开 report counts (table 二).
    assert sorted(
        government.filter(item__code__in=["ZW15", "ZW16", "ZW17", "ZW23"]).values_list(
            "item__code", flat=True
        )
    ) == ["ZW15", "ZW16", "ZW17", "ZW23"]
    # The 7 written-out 村务 notices plus the liaison points' 21 routine ones.
    assert published.filter(item__category__catalog__kind="village").count() == 28
    assert set(published.values_list("period_start__year", flat=True)) <= {2010, 2011}
    assert published.filter(published_at__year=2011).count() == published.count()
    assert 0 < party.filter(scope=Scope.INNER_PARTY).count() < 50
    assert published.filter(scope=Scope.BRANCH).count() == 3
    for disclosure in published:
        disclosure.full_clean()


def test_seed_demo_twice_changes_nothing(demo):
    before = counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert counts() == before


def test_home_headline_figures_are_the_articles(demo, client, admin_client):
    """50 党务 items and the liaison points' 5 反映 + 15 咨询 (20) in 2011, the
    same for every reader (counts of every scope)."""
    figures = admin_client.get("/").context["figures"]
    assert figures == {
        "boards": 16,
        "liaison_points": 2,
        "year": 2011,
        "party": 50,
        "government": 9,
        "village": 28,
        "liaison_reports": 5,
        "liaison_questions": 15,
        "liaison_feedback": 20,
        # 意见建议 of every kind: the 20, the 点题公开 request and the three
        # "loop" cases (建议 部分采纳, 反映 rated on a 电话回访, 举报).
        "feedback_received": 24,
    }
    response = client.get("/")
    assert response.context["figures"] == figures
    html = response.content.decode()
    assert "2011年公开党务信息（条）" in html
    assert "反映5条，咨询15条" in html
    assert "2011年回音壁收到意见建议（件）" in html


def test_party_member_account_sees_all_but_the_other_branchs_own(demo, client):
    """party_member belongs to 文理村党支部: of the 87, not 茅山村党支部's two
    党组织内部 notices (党费, 民主评议); maoshan_member not 文理村's one."""
    assert client.login(username="party_member", password="fengming-party-2011")
    member = auth.get_user(client)
    assert Disclosure.objects.visible_to(member).information().count() == 85
    wenli_own = Disclosure.objects.get(scope=Scope.BRANCH, unit__slug="wenli")
    assert client.get(f"/disclosures/{wenli_own.pk}/").status_code == 200
    for other in Disclosure.objects.filter(scope=Scope.BRANCH, unit__slug="maoshan"):
        assert client.get(f"/disclosures/{other.pk}/").status_code == 404
    client.logout()
    assert client.login(
        username="maoshan_member", password="fengming-maoshan-member-2011"
    )
    member = auth.get_user(client)
    assert Disclosure.objects.visible_to(member).information().count() == 86
    assert client.get(f"/disclosures/{wenli_own.pk}/").status_code == 404


def test_demo_party_first_notice_is_for_members_first(demo, client):
    notice = Disclosure.objects.get(public_from__isnull=False)
    assert notice.item.code == "A02"
    assert notice.public_from.date().isoformat() == "2011-02-25"
    assert notice.published_at < notice.public_from


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/catalog/",
        "/catalog/A01/",
        "/catalog/ZW01/",
        "/catalog/CW01/",
        "/boards/",
        "/disclosures/",
        "/disclosures/?kind=party&unit=wenli",
        "/healthz",
        "/county/",
        "/compliance/export.xlsx?year=2011",
        "/compliance/wenli/export.xlsx?year=2011",
    ],
)
def test_public_pages_answer_200_on_the_demo(demo, client, url):
    assert client.get(url).status_code == 200


def test_every_board_of_the_demo_answers_with_the_unified_columns(demo, client):
    columns = {}
    for unit in Unit.objects.with_boards():
        response = client.get(f"/boards/{unit.slug}/")
        assert response.status_code == 200
        columns[unit.slug] = [c["category"].pk for c in response.context["columns"]]
    village_columns = {tuple(v) for k, v in columns.items() if k != "fengming"}
    assert len(village_columns) == 1


def test_every_public_demo_disclosure_has_a_page(demo, client):
    for disclosure in Disclosure.objects.filter(scope=Scope.PUBLIC).information():
        assert client.get(f"/disclosures/{disclosure.pk}/").status_code == 200
    for disclosure in Disclosure.objects.exclude(scope=Scope.PUBLIC):
        assert client.get(f"/disclosures/{disclosure.pk}/").status_code == 404


def test_demo_compliance_shows_every_state_on_2011_10_01(demo, client):
    response = client.get("/compliance/?year=2011&as_of=2011-10-01")
    assert response.status_code == 200
    rates = {row["unit"].slug: row["total"].rate for row in response.context["rows"]}
    # The liaison points filed what could be nil, not monthly finances and
    # standing items (issue 16): ahead of the others, far from perfect.
    assert rates["wenli"] > rates["fenghuang"] > rates["paifang"]
    assert rates["paifang"] < 0.1  # behind
    overall = response.context["overall"].counts
    assert all(
        overall[state]
        for state in [
            "on_time",
            "late",
            "missing",
            "not_due",
            "nil",
            "off_board",
            "outcome_overdue",
        ]
    )


def test_demo_has_photos_and_a_pdf_a_visitor_can_open(demo, client):
    attachments = list(Attachment.objects.select_related("disclosure"))
    types = sorted(a.content_type for a in attachments)
    assert types.count("image/jpeg") >= 2
    assert "application/pdf" in types
    for attachment in attachments:
        assert attachment.disclosure.scope == Scope.PUBLIC
        response = client.get(attachment.get_absolute_url())
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        assert len(body) == attachment.size
        if attachment.is_image:
            assert attachment.thumbnail
            assert not Image.open(io.BytesIO(body)).getexif()
        else:
            assert body.startswith(b"%PDF-")
    page = client.get(attachments[0].disclosure.get_absolute_url())
    assert attachments[0].get_absolute_url() in page.text


def test_a_second_seed_adds_no_attachment(demo):
    before = sorted(Attachment.objects.values_list("disclosure_id", "title"))
    call_command("seed_demo", stdout=io.StringIO())
    assert sorted(Attachment.objects.values_list("disclosure_id", "title")) == before


def test_the_demo_has_a_county_an_inspector_and_a_check(demo, client):
    from disclosure import roles
    from disclosure.models import Inspection, Rectification

    county = Unit.objects.counties().get()
    assert county.name == "合江县"
    assert Unit.objects.get(name="凤鸣镇").parent == county
    assert client.get(f"/boards/{county.slug}/").status_code == 404
    check = Inspection.objects.get()
    assert check.unit.name == "文理村" and check.inspector.username == "inspector"
    assert check.inspector.groups.filter(name=roles.INSPECTOR).exists()
    assert check.score_timeliness is not None  # computed from the data
    assert Rectification.objects.get().completed_on is not None
    page = client.get("/county/?year=2011")
    assert page.status_code == 200 and "凤鸣镇" in page.text
    fengming = page.context["rows"][0]
    assert fengming["inspections"]["inspections"] == 1
    unit_page = client.get("/compliance/wenli/?year=2011").text
    assert "本年度督查 1 次" in unit_page and "inspector" not in unit_page

"""Who may open what: the admin for outsiders, 党内 objects for anonymous visitors.

Every registered admin model's pages are fetched as an anonymous visitor, a
party member and an editor of another unit; every URL that could show a 党内
notice is fetched anonymously and must neither show it nor say it exists.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.urls import get_resolver, resolve, reverse
from django.utils import timezone

from catalog.models import Scope
from feedback import services
from tests.factories import (
    DepartmentFactory,
    PartyMemberFactory,
    SubmissionFactory,
    UserFactory,
)

from .conftest import SECRET_TITLE

pytestmark = pytest.mark.django_db


def admin_urls(town) -> list[str]:
    urls = ["/admin/", "/admin/password_change/"]
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        urls.append(reverse("admin:{}_{}_add".format(*info)))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
            urls.append(reverse("admin:{}_{}_history".format(*info), args=[obj.pk]))
    return urls


def other_unit_urls(town) -> list[str]:
    """The back-office pages of 茅山村's objects, seen by 文理村's editor."""
    draft, submission = town.maoshan_draft.pk, town.submission.pk
    base = "/admin/disclosure/disclosure"
    return [
        f"{base}/{draft}/change/",
        f"{base}/{draft}/history/",
        f"{base}/{draft}/delete/",
        f"{base}/{draft}/transition/submit/",
        f"/admin/feedback/submission/{submission}/change/",
        f"/admin/feedback/submission/{submission}/history/",
    ]


def test_anonymous_visitor_is_sent_to_the_admin_login(client, town):
    for url in admin_urls(town):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url


def test_party_member_without_staff_status_gets_no_admin(client, town, member):
    client.force_login(member)
    for url in admin_urls(town):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url


def test_editor_of_another_unit_is_refused_other_units_objects(
    client, town, wenli_editor
):
    client.force_login(wenli_editor)
    for url in other_unit_urls(town):
        response = client.get(url)
        assert response.status_code in (302, 403, 404), url
        assert "茅山村草稿甲乙丙" not in response.text, url
        assert "茅山村来信甲乙丙" not in response.text, url
    response = client.post(
        f"/admin/disclosure/disclosure/{town.maoshan_draft.pk}/transition/submit/"
    )
    assert response.status_code in (302, 403, 404)
    town.maoshan_draft.refresh_from_db()
    assert town.maoshan_draft.status == "draft"


def test_editor_lists_show_only_own_units(client, town, wenli_editor):
    client.force_login(wenli_editor)
    for url in ("/admin/disclosure/disclosure/", "/admin/feedback/submission/"):
        response = client.get(url)
        assert response.status_code == 200
        assert "茅山村草稿甲乙丙" not in response.text
        assert "茅山村来信甲乙丙" not in response.text


def test_editor_is_refused_models_outside_the_role(client, town, wenli_editor):
    client.force_login(wenli_editor)
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        if wenli_editor.has_perm("{}.view_{}".format(*info)) or wenli_editor.has_perm(
            "{}.change_{}".format(*info)
        ):
            continue
        url = reverse("admin:{}_{}_changelist".format(*info))
        assert client.get(url).status_code == 403, url


# 党内 objects, anonymously --------------------------------------------------------

# The public site: every URL name in these namespaces is a page type the leak
# test below must fetch, or be listed in NO_DISCLOSURE_CONTENT.
PUBLIC_NAMESPACES = ["portal", "catalog", "disclosure", "feedback", "govinfo"]

# Public pages that show no disclosure content at all, so no 党内 notice either.
NO_DISCLOSURE_CONTENT = {
    "portal:healthz",  # a status line for the load balancer
    "portal:favicon",  # the icon
    "portal:robots",  # robots.txt: the sitemap's address
    "portal:elder",  # the 长辈模式 switch: a cookie and a redirect
    "portal:follow",  # the following form: units to choose, no notices
    "portal:follow_confirm",  # confirming a subscription by its token
    "portal:unfollow",  # ending a subscription by its token
    "disclosure:board_print_page_css",  # the printed board's page size, CSS
    "feedback:thanks",  # the tracking code of what the visitor just sent
    "feedback:track",  # the form asking for a tracking code
    "portal:gov_guide",  # 政府信息公开指南: the office's contact facts, the law
    "portal:affairs_guide",  # 党务、村务公开指南: the leading group, the days
    # 依申请公开: the application, its tracking and answer letter (no
    # disclosure content; no applicant data: tests/govinfo/test_privacy.py).
    "govinfo:apply",
    "govinfo:thanks",
    "govinfo:track",
    "govinfo:track_code",
    "govinfo:letter",
    "govinfo:letter_pdf",
}


def public_url_names() -> set[str]:
    """Every named URL of the public namespaces, from the URL resolver."""
    resolver = get_resolver()
    names = set()
    for namespace in PUBLIC_NAMESPACES:
        _prefix, namespace_resolver = resolver.namespace_dict[namespace]
        names |= {
            f"{namespace}:{name}"
            for name in namespace_resolver.reverse_dict
            if isinstance(name, str)
        }
    return names


@pytest.fixture
def answered_by_inner(town):
    """A 点题 request on the wall that staff answered with the 党内 notice: the
    回音壁's pages would show the notice's title and link if they leaked it."""
    staff = UserFactory(username="answerer", is_staff=True)
    department = DepartmentFactory()
    request = SubmissionFactory(
        kind="request", unit=town.wenli, title="请公开文理村党务"
    )
    services.accept(request, by=staff, department=department)
    return services.answer(
        request,
        by=staff,
        department=department,
        text="已答复。",
        fulfilled_by=town.inner,
    )


def inspection_photo(town):
    """A 督查 photo: staff only (tests/disclosure/test_inspections.py), refused
    to anyone else like a 党内 notice's attachment."""
    from django.core.files.base import ContentFile

    from disclosure.models import Inspection, InspectionPhoto

    from .conftest import jpeg

    check = Inspection.objects.create(
        unit=town.wenli, inspector=UserFactory(username="insp", is_staff=True)
    )
    photo = InspectionPhoto(inspection=check, content_type="image/jpeg")
    photo.image.save("board.jpg", ContentFile(jpeg()), save=False)
    photo.thumbnail.save("thumb.jpg", ContentFile(jpeg()), save=False)
    photo.save()
    return photo


def published_government_report(town_unit, year: int):
    from datetime import datetime

    from composition.models import GovernmentReport

    return GovernmentReport.objects.create(
        town=town_unit,
        year=year,
        published_at=datetime(year + 1, 1, 20, tzinfo=timezone.get_current_timezone()),
    )


def inner_party_pages(town, answered) -> dict[str, list[tuple[str, bool]]]:
    """URL name: the (url, must_be_refused) that would show the 党内 notice
    if that page type leaked it. Refused pages 404; others must not show it."""
    inner, attachment = town.inner, town.inner_attachment
    photo = inspection_photo(town)
    wenli, code, period = [town.wenli.slug], inner.item.code, inner.period
    sheet_month = timezone.localdate(answered.received_at).strftime("%Y-%m")
    year = period[:4]
    gov_report = published_government_report(town.wenli.parent, int(year))

    def url(name, *args, query=""):
        return reverse(name, args=args) + (f"?{query}" if query else "")

    return {
        "disclosure:detail": [(url("disclosure:detail", inner.pk), True)],
        "disclosure:attachment": [(url("disclosure:attachment", attachment.pk), True)],
        "disclosure:attachment_thumbnail": [
            (url("disclosure:attachment_thumbnail", attachment.pk), True)
        ],
        "disclosure:inspection_photo": [
            (url("disclosure:inspection_photo", photo.pk), True)
        ],
        "disclosure:inspection_photo_thumbnail": [
            (url("disclosure:inspection_photo_thumbnail", photo.pk), True)
        ],
        "portal:home": [(url("portal:home"), False)],
        "disclosure:list": [
            (url("disclosure:list"), False),
            (url("disclosure:list", query=f"item={code}"), False),
            (url("disclosure:list", query=f"period={period}"), False),
        ],
        "disclosure:boards": [(url("disclosure:boards"), False)],
        "disclosure:board": [
            (url("disclosure:board", *wenli), False),
            (url("disclosure:board", *wenli, query=f"period={period}"), False),
        ],
        "disclosure:board_print": [(url("disclosure:board_print", *wenli), False)],
        "disclosure:board_print_pdf": [
            (url("disclosure:board_print_pdf", *wenli), False)
        ],
        "disclosure:catalog_item": [(url("disclosure:catalog_item", code), False)],
        "catalog:index": [(url("catalog:index"), False)],
        "disclosure:compliance": [
            (url("disclosure:compliance"), False),
            (url("disclosure:compliance", query=f"year={year}"), False),
        ],
        "disclosure:compliance_unit": [
            (url("disclosure:compliance_unit", *wenli), False),
            (url("disclosure:compliance_unit", *wenli, query=f"year={year}"), False),
        ],
        # Compressed (xlsx): fetched here; their cells are read back for the
        # 党内 title in tests/disclosure/test_county.py.
        "disclosure:compliance_xlsx": [
            (url("disclosure:compliance_xlsx", query=f"year={year}"), False)
        ],
        "disclosure:compliance_unit_xlsx": [
            (
                url("disclosure:compliance_unit_xlsx", *wenli, query=f"year={year}"),
                False,
            )
        ],
        "portal:county": [(url("portal:county", query=f"year={year}"), False)],
        "portal:search": [
            (url("portal:search", query="q=密件"), False),
            (url("portal:search", query="q=党内密件标题"), False),
        ],
        "portal:feed_latest": [(url("portal:feed_latest"), False)],
        "portal:feed_board": [(url("portal:feed_board", *wenli), False)],
        "portal:feed_feedback": [(url("portal:feed_feedback"), False)],
        "portal:sitemap": [(url("portal:sitemap"), False)],
        "portal:stats": [
            (url("portal:stats"), False),
            (url("portal:stats", query=f"year={year}"), False),
        ],
        "portal:reports": [(url("portal:reports"), False)],
        "portal:report": [(url("portal:report", int(year)), False)],
        "portal:report_town": [
            (url("portal:report_town", town.wenli.parent.slug, int(year)), False)
        ],
        "portal:report_pdf": [
            (url("portal:report_pdf", town.wenli.parent.slug, int(year)), False)
        ],
        # The 政府信息公开 report (counts only), published for the 党内 notice's year.
        "portal:gov_report": [(url("portal:gov_report", gov_report.year), False)],
        "portal:gov_report_town": [(gov_report.get_absolute_url(), False)],
        "portal:gov_report_pdf": [
            (url("portal:gov_report_pdf", gov_report.town.slug, gov_report.year), False)
        ],
        "portal:stats_csv": [
            (url("portal:stats_csv"), False),
            (url("portal:stats_csv", query=f"year={year}"), False),
        ],
        "feedback:wall": [(url("feedback:wall"), False)],
        "feedback:detail": [(url("feedback:detail", answered.pk), False)],
        "feedback:track_code": [
            (url("feedback:track_code", answered.tracking_code), False)
        ],
        "feedback:create": [
            (url("feedback:create", query=f"disclosure={inner.pk}"), False)
        ],
        # The monthly sheet of the month the case answered by the 党内 notice
        # was received, and a member's own cases (log-in first).
        "feedback:print": [(url("feedback:print", *wenli, sheet_month), False)],
        "feedback:print_pdf": [(url("feedback:print_pdf", *wenli, sheet_month), False)],
        "feedback:print_month": [
            (url("feedback:print_month", *wenli, query=f"month={sheet_month}"), False)
        ],
        "feedback:mine": [(url("feedback:mine"), False)],
    }


def test_the_leak_test_fetches_every_public_page_type(town, answered_by_inner):
    # A new namespace of pages (an app's urls.py) is public until listed here.
    assert set(get_resolver().namespace_dict) - {"admin"} == set(PUBLIC_NAMESPACES)
    pages = inner_party_pages(town, answered_by_inner)
    public = public_url_names()
    unchecked = public - set(pages) - NO_DISCLOSURE_CONTENT
    assert not unchecked, f"add to inner_party_pages(): {sorted(unchecked)}"
    gone = (set(pages) | NO_DISCLOSURE_CONTENT) - public
    assert not gone, f"no longer public URL names: {sorted(gone)}"
    assert not set(pages) & NO_DISCLOSURE_CONTENT
    for name, urls in pages.items():
        for url, _refused in urls:
            assert resolve(urlsplit(url).path).view_name == name, url


def make_branch_only(town) -> None:
    """The 党内 notice becomes 文理村党支部's own (党组织内部公开)."""
    item = town.inner.item
    item.branch_scope_allowed = True
    item.save()
    town.inner.scope = Scope.BRANCH
    town.inner.save()
    assert town.inner.branch.full_name == "文理村党支部"


REDIRECTING = {"feedback:print_month", "feedback:mine"}


@pytest.mark.parametrize("reader", ["anonymous", "member of another branch"])
def test_inner_party_objects_are_invisible_to_anonymous_visitors(
    client, town, answered_by_inner, reader
):
    """Anonymously, a 党内 notice; as a member of 茅山村党支部, a notice of
    文理村党支部 for its members only: neither shown nor said to exist."""
    if reader != "anonymous":
        make_branch_only(town)
        client.force_login(
            PartyMemberFactory(username="maoshan", branch_of=town.maoshan)
        )
    missing = client.get("/disclosures/999999/")
    shown = set()
    pages = inner_party_pages(town, answered_by_inner)
    for name, urls in pages.items():
        for url, refused in urls:
            # The sheet's month form and a member's own cases (log-in) redirect.
            response = client.get(url, follow=name in REDIRECTING)
            assert response.status_code < 500, url
            body = without_next(response.content).decode("utf-8", "replace")
            assert SECRET_TITLE not in body, url
            # (The log-in link's ?next= and the text-size form's next field
            # repeat the requested URL: not a leak.)
            assert f'href="/disclosures/{town.inner.pk}/"' not in body, url
            assert f"<loc>http://testserver/disclosures/{town.inner.pk}/" not in body
            assert f'"/attachments/{town.inner_attachment.pk}/' not in body, url
            if refused:
                assert response.status_code == 404, url
            elif response.status_code == 200:
                shown.add(name)
    # Each page type that is not refused was seen as a page, not only as an
    # error (a filter refuses the 党内 item's code with a 400).
    refused_types = {name for name, urls in pages.items() if all(r for _, r in urls)}
    assert set(pages) - refused_types - shown == set()
    # A 党内 notice's page is indistinguishable from one that does not exist.
    response = client.get(f"/disclosures/{town.inner.pk}/")
    assert without_next(response.content) == without_next(missing.content)


def without_next(content: bytes) -> bytes:
    # (And a logged-in page's CSRF token, masked anew on every page.)
    content = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", content)
    content = re.sub(rb'name="next" value="[^"]*"', b"", content)
    return re.sub(rb"\?next=[^\"]*", b"", content)


def test_party_member_sees_the_inner_party_notice(client, town, member):
    client.force_login(member)
    assert SECRET_TITLE in client.get(f"/disclosures/{town.inner.pk}/").text
    assert client.get(f"/attachments/{town.inner_attachment.pk}/").status_code == 200


def test_only_the_branchs_members_see_its_own_notice(client, town):
    make_branch_only(town)
    wenli = PartyMemberFactory(username="wenli", branch_of=town.wenli)
    maoshan = PartyMemberFactory(username="maoshan", branch_of=town.maoshan)
    for user, status in [(wenli, 200), (maoshan, 404)]:
        client.force_login(user)
        response = client.get(f"/disclosures/{town.inner.pk}/")
        assert response.status_code == status
        attachment = client.get(f"/attachments/{town.inner_attachment.pk}/")
        assert attachment.status_code == status


def test_party_member_sees_the_inner_notice_that_answered_a_request(
    client, town, member, answered_by_inner
):
    # What the anonymous leak test looks for on the 回音壁 pages is there.
    client.force_login(member)
    for url in (
        answered_by_inner.get_absolute_url(),
        answered_by_inner.get_tracking_url(),
        "/feedback/",
    ):
        assert SECRET_TITLE in client.get(url).text, url


def test_withdrawn_inner_party_notice_is_404_not_410_for_anonymous(client, town):
    from disclosure import services
    from tests.factories import SuperuserFactory

    services.withdraw(town.inner, by=SuperuserFactory(), reason="内容有误")
    assert client.get(f"/disclosures/{town.inner.pk}/").status_code == 404


# Shared caches -----------------------------------------------------------------


def logged_in_pages(town) -> list[str]:
    wenli = town.wenli.slug
    return [
        f"/disclosures/{town.inner.pk}/",
        "/disclosures/",
        f"/disclosures/?period={town.inner.period}",
        f"/boards/{wenli}/",
        f"/boards/{wenli}/print/",
        "/boards/",
        "/",
        f"/catalog/{town.inner.item.code}/",
        "/feedback/",
        "/feedback/new/",
        "/search/?q=密件",
        "/stats/",
        "/compliance/",
        "/reports/2011/",
        "/feeds/latest/",
        "/no-such-page/",
    ]


def test_every_page_for_a_party_member_is_private(client, town, member):
    # Vary: Cookie alone lets a shared cache that ignores it keep a 党内 page.
    client.force_login(member)
    assert SECRET_TITLE in client.get(f"/disclosures/{town.inner.pk}/").text
    for url in logged_in_pages(town):
        response = client.get(url)
        assert "private" in response.get("Cache-Control", ""), url


def test_every_admin_page_for_staff_is_private(client, town, wenli_editor):
    client.force_login(wenli_editor)
    for url in [
        "/admin/",
        "/admin/disclosure/disclosure/",
        f"/admin/disclosure/disclosure/{town.public.pk}/change/",
        *logged_in_pages(town),
    ]:
        response = client.get(url)
        assert "private" in response.get("Cache-Control", ""), url


def test_what_answers_before_the_view_is_private_for_a_member_too(client, town, member):
    """The slash redirect and a refused NUL byte are made by middleware, not
    by a view: for a logged-in member they are private all the same."""
    client.force_login(member)
    for url in ("/disclosures", f"/boards/{town.wenli.slug}", "/disclosures/?q=%00"):
        response = client.get(url)
        assert response.status_code in (301, 400), url
        assert "private" in response.get("Cache-Control", ""), url
    # And still not for a visitor.
    client.logout()
    assert "private" not in client.get("/disclosures").get("Cache-Control", "")


def test_private_keeps_a_page_s_own_cache_directives(client, town, member):
    client.force_login(member)
    response = client.get(f"/attachments/{town.inner_attachment.pk}/")
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives


def test_anonymous_public_pages_are_not_marked_private(client, town):
    for url in ("/", "/disclosures/", f"/boards/{town.wenli.slug}/", "/feeds/latest/"):
        assert "private" not in client.get(url).get("Cache-Control", ""), url

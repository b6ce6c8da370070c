"""Who may open what: the admin for outsiders, 党内 objects for anonymous visitors.

Every registered admin model's pages are fetched as an anonymous visitor, a
party member and an editor of another unit; every URL that could show a 党内
notice is fetched anonymously and must neither show it nor say it exists.
"""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from .conftest import SECRET_TITLE, url_or_none

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


def inner_party_urls(town) -> list[tuple[str, bool]]:
    """(url, must_be_refused): refused pages 404; others must not show it."""
    inner, attachment = town.inner, town.inner_attachment
    wenli = town.wenli.slug
    urls = [
        (f"/disclosures/{inner.pk}/", True),
        (f"/attachments/{attachment.pk}/", True),
        (f"/attachments/{attachment.pk}/thumbnail/", True),
        ("/", False),
        ("/disclosures/", False),
        (f"/disclosures/?item={inner.item.code}", False),
        (f"/disclosures/?period={inner.period}", False),
        (f"/boards/{wenli}/", False),
        (f"/boards/{wenli}/?period={inner.period}", False),
        (f"/catalog/{inner.item.code}/", False),
        ("/catalog/", False),
        (f"/feedback/new/?disclosure={inner.pk}", False),
    ]
    optional = [
        ("disclosure:board_print", [wenli]),
        ("disclosure:board_print_pdf", [wenli]),
        ("disclosure:compliance", []),
        ("disclosure:compliance_unit", [wenli]),
        ("portal:feed_latest", []),
        ("portal:feed_board", [wenli]),
        ("portal:sitemap", []),
        ("portal:stats", []),
        ("portal:stats_csv", []),
    ]
    for name, args in optional:
        url = url_or_none(name, *args)
        if url:
            urls.append((url, False))
    search = url_or_none("portal:search")
    if search:
        urls.append((f"{search}?q=密件", False))
    return urls


def test_inner_party_objects_are_invisible_to_anonymous_visitors(client, town):
    missing = client.get("/disclosures/999999/")
    for url, refused in inner_party_urls(town):
        response = client.get(url)
        assert response.status_code < 500, url
        body = response.content.decode("utf-8", "replace")
        assert SECRET_TITLE not in body, url
        # (The log-in link's ?next= repeats the requested URL: not a leak.)
        assert f'href="/disclosures/{town.inner.pk}/"' not in body, url
        assert f"<loc>http://testserver/disclosures/{town.inner.pk}/" not in body
        assert f'"/attachments/{town.inner_attachment.pk}/' not in body, url
        if refused:
            assert response.status_code == 404, url
    # A 党内 notice's page is indistinguishable from one that does not exist.
    response = client.get(f"/disclosures/{town.inner.pk}/")
    assert without_next(response.content) == without_next(missing.content)


def without_next(content: bytes) -> bytes:
    return re.sub(rb"\?next=[^\"]*", b"", content)


def test_party_member_sees_the_inner_party_notice(client, town, member):
    client.force_login(member)
    assert SECRET_TITLE in client.get(f"/disclosures/{town.inner.pk}/").text
    assert client.get(f"/attachments/{town.inner_attachment.pk}/").status_code == 200


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

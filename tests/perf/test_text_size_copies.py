"""One cached copy of a page for the three text size steps (长辈模式).

The copy holds slots where the step shows (the class on <html>, the size
buttons' aria-pressed: core/elder.py), filled in per request by both page
caches (core/caching.py). Checked on every cached page type of the demo
town, for a visitor and a party member: what the shared copy serves at each
step is the page rendered with the cache off at that step; the ETag follows
the step; a switch of step shows at once.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from core import caching, elder
from disclosure.models import Unit
from tests.core.test_registries_on_the_demo import cached_pages
from tests.factories import PartyMemberFactory, SubmissionFactory

pytestmark = [
    pytest.mark.django_db,
    # Pages read twice, the second a hit: not across midnight (a page is kept
    # no longer than midnight; one made in a day's last second is not).
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]

STEPS = ["0", "1", "2"]
_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')
SLOTS = [elder.CLASS_SLOT, *elder.PRESSED_SLOTS.values()]


def urls() -> list[str]:
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    return [
        *cached_pages().values(),
        f"/disclosures/?unit={unit.slug}",  # the list by unit
        "/disclosures/999999999/",  # a 404 of a cached view: filled, not kept
    ]


def clients():
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    member = Client()
    member.force_login(PartyMemberFactory(username="size_member", branch_of=unit))
    return {"visitor": Client(), "member": member}


def at(client: Client, step: str) -> Client:
    if step == "0":
        client.cookies.pop("elder", None)
    else:
        client.cookies["elder"] = step
    return client


def body(response) -> bytes:
    return _CSRF.sub(b'name="csrfmiddlewaretoken" value=""', response.content)


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_the_shared_copy_at_each_step_is_the_page_rendered_at_that_step(
    demo, settings, who
):
    client = clients()[who]
    pages = urls()
    settings.PAGE_CACHE_SECONDS = 0
    rendered = {}
    for url in pages:
        for step in STEPS:
            response = at(client, step).get(url)
            assert "X-Page-Cache" not in response.headers
            rendered[url, step] = (response.status_code, body(response))
    # The pages do differ between steps (what the copy must not freeze).
    home = rendered["/", "0"][1]
    assert home != rendered["/", "1"][1] != rendered["/", "2"][1] != home

    settings.PAGE_CACHE_SECONDS = 60
    for n, url in enumerate(pages):
        # The copy is made at each step in turn, then served at all three.
        first = STEPS[n % 3]
        order = [first, *STEPS]
        for i, step in enumerate(order):
            response = at(client, step).get(url)
            status, page = rendered[url, step]
            assert response.status_code == status, (who, url, step)
            assert body(response) == page, (who, url, step)
            for slot in SLOTS:
                assert slot.encode() not in response.content, (who, url, step)
            if status == 200 and i > 0:
                assert response.headers["X-Page-Cache"] == "hit", (who, url, step)


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_one_copy_serves_every_step(demo, who):
    client = clients()[who]
    assert at(client, "2").get("/").headers["X-Page-Cache"] == "miss"
    for step, html in [("0", None), ("1", 'class="elder"'), ("2", "elder-xl")]:
        response = at(client, step).get("/")
        assert response.headers["X-Page-Cache"] == "hit"
        head = response.text.split("<head>", 1)[0]
        if html is None:
            assert "class=" not in head
        else:
            assert html in head


def etagged(demo_unit_slug: str) -> list[str]:
    return [
        f"/boards/{demo_unit_slug}/",
        "/feeds/latest/",
        "/feeds/feedback/",
        f"/feeds/boards/{demo_unit_slug}/",
    ]


def test_an_etag_of_one_step_never_gets_a_304_at_another(demo):
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    visitor = Client()
    for url in etagged(unit.slug):
        tags = {}
        for step in ["1", "0", "2", "1"]:  # a miss at 大, then hits
            tags.setdefault(step, at(visitor, step).get(url).headers["ETag"])
            assert at(visitor, step).get(url).headers["ETag"] == tags[step], url
        assert len(set(tags.values())) == 3, url
        for step, tag in tags.items():
            for other in STEPS:
                response = at(visitor, other).get(url, headers={"if-none-match": tag})
                assert response.status_code == (304 if other == step else 200), (
                    url,
                    step,
                    other,
                )
                if other != step:
                    assert response.headers["X-Page-Cache"] == "hit"


def test_the_miss_answers_with_the_etag_its_step_is_served_with(demo):
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    url = f"/boards/{unit.slug}/"
    visitor = at(Client(), "2")
    miss = visitor.get(url)
    assert miss.headers["X-Page-Cache"] == "miss"
    again = visitor.get(url, headers={"if-none-match": miss.headers["ETag"]})
    assert again.status_code == 304
    other = at(Client(), "1").get(url, headers={"if-none-match": miss.headers["ETag"]})
    assert other.status_code == 200


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_switching_the_step_shows_at_once(demo, who):
    client = clients()[who]
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    for url in ["/", f"/boards/{unit.slug}/", "/disclosures/"]:
        client.get(url)  # the copy, made at the current step
        for size, html, label in [
            ("2", ' class="elder elder-xl"', "特大"),
            ("0", "", "标准"),
            ("1", ' class="elder"', "大"),
            ("0", "", "标准"),
        ]:
            switched = client.get(f"/elder/?next={url}&size={size}")
            assert switched.status_code == 302
            response = client.get(url)
            assert response.headers["X-Page-Cache"] == "hit"
            assert f'<html lang="zh-Hans"{html}>' in response.text, (url, size)
            pressed = re.findall(
                r'aria-pressed="(true|false)">([^<]+)</button>', response.text
            )
            assert pressed == [
                ("true" if name == label else "false", name)
                for name in ("标准", "大", "特大")
            ], (url, size)


def test_fragments_hold_no_step(demo):
    """Fragments (core/fragments.py) are shared by every step: nothing in them
    may depend on it."""
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    visitor = at(Client(), "2")
    for url in urls():
        visitor.get(url)
    member = at(clients()["member"], "1")
    for url in ["/", f"/boards/{unit.slug}/", "/disclosures/"]:
        member.get(url)
    fragments = [
        value
        for key, (_expires, value, _size) in caching._local.entries.items()
        if ":fragment:" in key
    ]
    assert fragments
    for _expires, html in fragments:
        assert "elder" not in html
        assert "aria-pressed" not in html
        assert "@@fm-size" not in html


def test_no_template_reads_the_step_but_its_two_slots(demo):
    """Only the <html> class and the size buttons show the step: anything
    else a template drew from it would be frozen in the shared copy."""
    readers = {
        path.relative_to(django_settings.BASE_DIR / "templates").as_posix()
        for path in (django_settings.BASE_DIR / "templates").rglob("*.html")
        if re.search(r"elder_mode|\btext_size\b", path.read_text())
    }
    assert readers == set(), readers
    users = {
        path.name
        for path in Path(django_settings.BASE_DIR / "templates").rglob("*.html")
        if "text_size_class" in path.read_text()
        or "text_size_steps" in path.read_text()
    }
    assert users == {"html_class.html", "header.html", "letter.html"}


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_text_that_looks_like_a_slot_is_shown_as_written(demo, who):
    """The slots are marked from SECRET_KEY (core/slots.py): a resident who
    writes a slot-like text sees it published as written, not filled in."""
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    written = " ".join(
        ("@@fm-user-name@@", "@@fm-size-class@@", "@@fm-size-pressed-1@@")
        + ("@@fm-csrf-token@@",)
    )
    case = SubmissionFactory(
        unit=unit, accepted=True, title="路灯", text=f"路灯坏了 {written}"
    )
    client = at(clients()[who], "2")
    for _ in range(2):  # made, then served from the copy
        page = client.get(f"/feedback/{case.pk}/").text
        assert written in page
        assert "@@fm-" not in page.replace(written, "")
    assert all(s.startswith("@@fm-") and len(s) > 30 for s in SLOTS)

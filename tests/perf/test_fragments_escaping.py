"""What a kept fragment (core/fragments.py) carries is what Django's
templates rendered, with autoescaping on: `mark_safe` there only says so
again when the HTML comes back from the cache. A script in a title, a body
or a 回音壁 message comes out inert, when the fragment is made and when it
is served kept; a hostile text size cookie gives the standard page."""

import pytest
from django.test import Client

from tests.factories import (
    DisclosureFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_a_script_in_kept_fragments_comes_out_inert():
    unit = UnitFactory(name="文理村", slug="wenli", parent=TownFactory())
    row = DisclosureFactory(unit=unit, title=f"公开{PAYLOAD}", body=f"正文{PAYLOAD}")
    case = SubmissionFactory(
        unit=unit, accepted=True, title=f"问{PAYLOAD}", text=f"内容{PAYLOAD}"
    )
    urls = [
        "/",
        f"/boards/{unit.slug}/",
        f"/disclosures/?unit={unit.slug}",
        f"/disclosures/{row.pk}/",
        "/feedback/",
        f"/feedback/{case.pk}/",
    ]
    client = Client()
    for _ in range(2):  # the fragments made, then served kept
        for url in urls:
            html = client.get(url).text
            assert "<script>alert" not in html, url
            assert "<img src=x" not in html, url
    assert "公开&lt;script&gt;" in client.get(f"/disclosures/{row.pk}/").text
    assert "问&lt;script&gt;" in client.get("/feedback/").text


@pytest.mark.parametrize("cookie", ['"><script>alert(1)</script>', "2\x00", "9"])
def test_a_hostile_text_size_cookie_gives_the_standard_page(cookie):
    client = Client()
    client.cookies["elder"] = cookie
    html = client.get("/").text
    assert "<script>alert" not in html
    assert "<html lang" in html and 'class="elder' not in html.split(">", 2)[1]

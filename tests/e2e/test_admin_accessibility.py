"""axe-core (WCAG 2.0–2.2, A and AA) on the back-office pages village editors
and reviewers use, at an office desktop's 1366 px and a phone's 360 px."""

import re

import pytest
from django.contrib.auth import get_user_model

from catalog.models import Item
from disclosure import services
from disclosure.models import Disclosure, Unit
from disclosure.roles import staff_disclosures
from feedback.services import cases_for
from tests.core.test_admin_screens import ALLOWED as NAMES  # Excel, xlsx, WPS…

from .conftest import PHONE
from .support import axe_violations
from .test_journeys import log_in_to_admin

pytestmark = pytest.mark.e2e

OFFICE = {"width": 1366, "height": 768}
# A word with a small letter: codes (CW01) and index numbers are capitals.
WORD = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z]*[a-z][A-Za-z]*(?![A-Za-z0-9_-])")


def submitted_draft() -> Disclosure:
    """A 文理村 record waiting for review, with a workflow step to take."""
    disclosure = Disclosure.objects.create(
        unit=Unit.objects.get(slug="wenli"),
        item=Item.objects.get(code="CW01"),
        title="文理村2011年10月村级财务收支明细",
        body="收入：上级转移支付 12000 元。",
        period="2011-10",
    )
    editor = get_user_model().objects.get(username="wenli_editor")
    return services.submit(disclosure, by=editor)


def pages_of(username: str, pending: Disclosure) -> dict[str, str]:
    """The pages this person works on: the lists, a record waiting for review
    (and the page of their next step on it), a draft, a 回音壁 case."""
    user = get_user_model().objects.get(username=username)
    pages = {
        "index": "/admin/",
        "disclosures": "/admin/disclosure/disclosure/",
        "pending": f"/admin/disclosure/disclosure/{pending.pk}/change/",
        "history": f"/admin/disclosure/disclosure/{pending.pk}/history/",
    }
    if services.allowed_transitions(pending, user):
        # The list the start page's 待我审核 count opens (a filtered list).
        pages["todo"] = "/admin/disclosure/disclosure/?todo=review"
    for step in services.allowed_transitions(pending, user)[:1]:
        pages["step"] = f"/admin/disclosure/disclosure/{pending.pk}/transition/{step}/"
    if user.has_perm("disclosure.add_disclosure"):
        pages["add"] = "/admin/disclosure/disclosure/add/"
    draft = staff_disclosures(user, Disclosure.objects.filter(status="draft")).first()
    if draft:
        pages["draft"] = f"/admin/disclosure/disclosure/{draft.pk}/change/"
    case = cases_for(user).order_by("-pk").first()
    if case:
        pages["cases"] = "/admin/feedback/submission/"
        pages["case"] = f"/admin/feedback/submission/{case.pk}/change/"
    return pages


@pytest.mark.parametrize("username", ["wenli_editor", "wenli_supervisor", "reviewer"])
def test_admin_pages_have_no_wcag_violations(demo, new_page, username):
    pending = submitted_draft()
    page = new_page(OFFICE)
    log_in_to_admin(page, username)
    found = {}
    data = {username}
    for name, url in pages_of(username, pending).items():
        for viewport in (OFFICE, PHONE):
            page.set_viewport_size(viewport)
            assert page.goto(url).status == 200, url
            violations = axe_violations(page)
            if violations:
                found[f"{name} {viewport['width']}"] = violations
        # What the scripts wrote too (the two-box selector's buttons and hints).
        words = {
            word
            for word in WORD.findall(page.locator("body").inner_text())
            if word.lower() not in NAMES
        } - data
        if words:
            found[f"{name}: English"] = sorted(words)
    assert found == {}

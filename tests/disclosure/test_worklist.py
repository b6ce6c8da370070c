"""The start page per role (我的待办, disclosure/worklist.py): each count
links to a list that shows exactly that many rows, and only what the user may
act on (services.CHECKS)."""

import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from disclosure import compliance, roles, services, worklist
from disclosure.models import Disclosure
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db

Status = Disclosure.Status
COUNT = re.compile(r"(\d+) [条项件]")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def start_page_links(client) -> list[tuple[str, str]]:
    """(url, text) of every count in the start page's 我的待办 box."""
    page = client.get("/admin/")
    assert page.status_code == 200
    text = page.text
    box = text[text.index('id="worklist"') : text.index("</section>")]
    return [
        (html.unescape(url), label)
        for url, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', box)
    ]


def listed(client, url: str) -> int:
    """How many rows the linked list shows (an admin list or a unit's
    compliance page)."""
    response = client.get(url)
    assert response.status_code == 200, url
    if "cl" in response.context:
        return response.context["cl"].result_count
    return len(response.context["rows"])


def counts_agree_with_their_lists(user) -> dict[str, int]:
    client = login(user)
    found = {}
    for url, text in start_page_links(client):
        n = int(COUNT.search(text)[1])
        assert listed(client, url) == n, (text, url)
        found[COUNT.sub("", text).strip()] = n
    return found


@pytest.fixture
def world():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    users = {
        "town_admin": staff_user(username="town_admin", group=roles.TOWN_ADMIN),
        "reviewer": staff_user(username="reviewer", group=roles.REVIEWER),
        "wenli_editor": staff_user(
            username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli]
        ),
        "maoshan_editor": staff_user(
            username="maoshan_editor", group=roles.UNIT_EDITOR, units=[maoshan]
        ),
        "branch_approver": staff_user(
            username="branch_approver", group=roles.VILLAGE_APPROVER
        ),
        "jiwei": staff_user(username="jiwei", group=roles.REVIEWER),
    }
    # A village's 党务: the town's 镇党委 reviews, the village branch approves.
    town.organisations.get(name="镇党委").members.add(users["reviewer"])
    wenli.organisations.get(name="村党支部").members.add(users["branch_approver"])
    town.organisations.get(name="镇纪委").members.add(users["jiwei"])
    item = ItemFactory(code="A09")
    return {"town": town, "wenli": wenli, "maoshan": maoshan, "item": item, **users}


def record(world, unit="wenli", status=Status.DRAFT, **kwargs):
    return DisclosureFactory(
        unit=world[unit],
        item=world["item"],
        status=status,
        published_at=None,
        **kwargs,
    )


@pytest.fixture
def work(world):
    """A returned draft and records waiting for review and approval."""
    editor, reviewer = world["wenli_editor"], world["reviewer"]
    returned = record(world, title="退回的草稿")
    services.submit(returned, by=editor)
    services.return_for_changes(returned, by=reviewer, comment="请补充附件。")
    record(world, title="未提交的草稿")
    waiting = record(world, title="待审核的")
    services.submit(waiting, by=editor)
    services.submit(record(world, "maoshan"), by=world["maoshan_editor"])
    # The reviewer's own submission: not theirs to review.
    record(world, "maoshan", Status.SUBMITTED, submitted_by=reviewer)
    reviewed = record(world, title="待审批的")
    services.submit(reviewed, by=editor)
    services.review(
        reviewed, by=reviewer, secrecy_checked=True, secrecy_conclusion="同意公开。"
    )
    return world


def test_a_village_editor_sees_the_draft_returned_to_them(work):
    found = counts_agree_with_their_lists(work["wenli_editor"])
    assert found["退回修改的草稿"] == 1
    assert "待我审核" not in found  # an editor acts for no body
    assert found["逾期未办"] >= 0 and "本月到期" in found


def test_another_village_editor_sees_none_of_it(work):
    found = counts_agree_with_their_lists(work["maoshan_editor"])
    assert found["退回修改的草稿"] == 0


def test_the_reviewer_counts_only_what_they_may_review(work):
    found = counts_agree_with_their_lists(work["reviewer"])
    # 文理村's and 茅山村's submissions, not their own one.
    assert (found["待我审核"], found["待我审批"]) == (2, 0)


def test_the_village_approver_counts_what_waits_for_approval(work):
    found = counts_agree_with_their_lists(work["branch_approver"])
    assert (found["待我审核"], found["待我审批"]) == (0, 1)


def test_a_discipline_member_acting_for_no_step_counts_nothing(work):
    found = counts_agree_with_their_lists(work["jiwei"])
    assert (found["待我审核"], found["待我审批"]) == (0, 0)


def test_the_town_administrator_sees_every_units_obligations(work):
    client = login(work["town_admin"])
    links = start_page_links(client)
    texts = " ".join(text for _url, text in links)
    assert "逾期未办" in texts and "本月到期" in texts
    compliance_links = [url for url, _text in links if "/compliance/" in url]
    year = compliance.reference_date().year
    # The town and its two villages.
    assert len([u for u in compliance_links if f"year={year}&" in u]) == 6
    # In January last year's December and Q4 items fall due too
    # (worklist.years_due): the units with some, linked to that year.
    earlier = [u for u in compliance_links if f"year={year}&" not in u]
    assert all(f"year={year - 1}&" in u for u in earlier)
    assert not earlier or compliance.reference_date().month == 1
    counts_agree_with_their_lists(work["town_admin"])


def test_the_counts_follow_the_workflows_own_checks(work):
    """waiting_steps (one pass, bodies resolved together) agrees with
    services.allowed_transitions (record by record) for everyone."""
    records = list(Disclosure.objects.all())
    for who in ("town_admin", "reviewer", "branch_approver", "jiwei", "wenli_editor"):
        user = work[who]
        steps = worklist.waiting_steps(user, Disclosure.objects.all())
        for d in records:
            allowed = services.allowed_transitions(d, user)
            assert (d.pk in steps["review"]) == ("review" in allowed), (who, d)
            assert (d.pk in steps["approve"]) == ("approve" in allowed), (who, d)


def test_a_bad_todo_value_is_not_a_500(work):
    client = login(work["reviewer"])
    response = client.get("/admin/disclosure/disclosure/?todo=nonsense")
    assert response.status_code in (200, 302)


def test_the_start_page_costs_the_same_whatever_the_data(
    # Queries counted on pages read after the values kept for the day: not
    # across midnight (they are kept no longer).
    away_from_midnight,
    work,
    django_assert_max_num_queries,
):
    def cost(user) -> int:
        client = login(user)
        client.get("/admin/")  # the cached values (the data's last day) read
        with CaptureQueriesContext(connection) as queries:
            client.get("/admin/")
        return len(queries)

    DisclosureFactory(unit=work["wenli"], item=work["item"])  # published
    users = [work[w] for w in ("town_admin", "reviewer", "wenli_editor")]
    before = [cost(user) for user in users]
    for n in range(6):
        unit = UnitFactory(name=f"新村{n}", parent=work["town"])
        record(work, "wenli", title=f"又一条{n}")
        services.submit(record(work, "maoshan"), by=work["maoshan_editor"])
        DisclosureFactory(unit=unit, item=work["item"])
    assert [cost(user) for user in users] == before
    client = login(work["town_admin"])
    with django_assert_max_num_queries(40):
        client.get("/admin/")


def test_the_disclosure_list_puts_work_in_progress_first(work):
    client = login(work["town_admin"])
    published = DisclosureFactory(unit=work["wenli"], item=work["item"], title="已发布")
    rows = list(client.get("/admin/disclosure/disclosure/").context["cl"].result_list)
    assert rows[-1] == published
    assert all(r.status != Status.PUBLISHED for r in rows[:-1])


def test_the_disclosure_workflow_buttons_are_above_the_form(work):
    waiting = Disclosure.objects.get(title="待审核的")
    page = login(work["reviewer"]).get(
        f"/admin/disclosure/disclosure/{waiting.pk}/change/"
    )
    text = page.text
    button = text.index(f"/admin/disclosure/disclosure/{waiting.pk}/transition/review/")
    assert button < text.index('id="disclosure_form"')  # object tools, at the top

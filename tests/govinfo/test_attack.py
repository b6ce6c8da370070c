"""Defects found walking issue 21 as built (h21-attack): the law's articles
the workflow follows, the back office's roles, hostile input."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from disclosure.roles import UNIT_EDITOR
from govinfo import clock, letters, services
from govinfo.models import Ground, Result
from govinfo.validators import is_valid_credit_code, is_valid_id_number
from tests.factories import UnitFactory, staff_user

from .conftest import form_data, received

pytestmark = pytest.mark.django_db


# Hostile input: a Chinese message, never a 500 ---------------------------------


@pytest.mark.parametrize(
    "number", ["²10722198001011231", "51072219800101123²", "①10722198001011231"]
)
def test_an_id_number_with_a_non_ascii_digit_is_refused_not_a_500(
    client, gov_town, number
):
    assert not is_valid_id_number(number)
    response = client.post(reverse("govinfo:apply"), form_data(id_number=number))
    assert response.status_code == 200
    assert "身份证号码不正确" in response.content.decode()


def test_a_credit_code_with_a_non_ascii_digit_is_refused():
    assert not is_valid_credit_code("²1510722MA6ABCD102")


# The clock against the 条例 ---------------------------------------------------------


def test_correction_is_asked_once_only(gov_town, office):
    """Art. 30: 一次性告知 — a second 补正 after the first came back is refused."""
    info = received(gov_town, date(2026, 9, 18))
    services.record_step(info, "correction", by=office, on=date(2026, 9, 21), note="a")
    services.record_step(info, "corrected", by=office, on=date(2026, 9, 24))
    with pytest.raises(ValidationError, match="一次性"):
        services.record_step(
            info, "correction", by=office, on=date(2026, 9, 25), note="b"
        )


def test_correction_within_seven_working_days_of_receipt(gov_town, office):
    """Art. 30: 收到申请之日起7个工作日内. Received Fri 18 Sep 2026: the 7th
    working day is Tue 29 Sep; 30 Sep is the 8th."""
    info = received(gov_town, date(2026, 9, 18))
    with pytest.raises(ValidationError, match="7个工作日内"):
        services.record_step(
            info, "correction", by=office, on=date(2026, 9, 30), note="a"
        )
    services.record_step(info, "correction", by=office, on=date(2026, 9, 29), note="a")
    info.refresh_from_db()
    assert info.status == "correction"


def test_a_step_dated_before_the_last_one_is_refused(gov_town, office):
    """收到补正 dated before 告知补正 left the clock stopped for good (the
    clock takes the steps in date order)."""
    info = received(gov_town, date(2026, 9, 18))
    services.record_step(info, "correction", by=office, on=date(2026, 9, 24), note="a")
    with pytest.raises(ValidationError, match="上一个办理步骤"):
        services.record_step(info, "corrected", by=office, on=date(2026, 9, 22))
    info.refresh_from_db()
    assert info.status == "correction"
    services.record_step(info, "corrected", by=office, on=date(2026, 9, 24))
    info.refresh_from_db()
    assert info.status == "received" and info.due_on is not None


def test_no_extension_once_the_term_has_run_out(gov_town, reviewer):
    """Art. 33: the term is extended before it ends, not after it was missed."""
    info = received(gov_town, date(2026, 9, 18))
    assert info.due_on == date(2026, 10, 22)
    with pytest.raises(ValidationError, match="已过"):
        services.record_step(
            info, "extend", by=reviewer, on=date(2026, 10, 23), days=5, note="晚了"
        )
    services.record_step(
        info, "extend", by=reviewer, on=date(2026, 10, 22), days=5, note="最后一天"
    )


def test_a_late_third_party_pauses_the_clock_15_working_days_at_most():
    """Art. 32: the third party answers within 15 working days; after that the
    office decides without it, so the time not counted ends there."""
    received_on = date(2026, 3, 2)  # Monday
    consult = clock.Step(clock.CONSULT, date(2026, 3, 9))  # 5 days used
    in_time = clock.run(
        received_on, [consult, clock.Step(clock.CONSULTED, date(2026, 3, 16))]
    )
    late = clock.run(
        received_on, [consult, clock.Step(clock.CONSULTED, date(2026, 6, 1))]
    )
    # 15 working days after 9 Mar: 30 Mar; then the 15 days left.
    assert late.due_on == clock.add_workdays(date(2026, 3, 30), 15)
    assert in_time.due_on == clock.add_workdays(date(2026, 3, 16), 15)


# Who may do what ------------------------------------------------------------------


def test_a_reviewer_does_not_approve_their_own_draft(client, gov_town, reviewer):
    other = staff_user(username="reviewer2", group="审核人")
    info = received(gov_town, timezone.localdate() - timedelta(days=2))
    services.draft_answer(info, by=reviewer, result="disclosed", text="见附件。")
    info.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.approve(info, by=reviewer)
    client.force_login(reviewer)
    step = reverse("admin:govinfo_inforequest_step", args=[info.pk, "approve"])
    assert client.post(step).status_code == 403
    page = client.get(reverse("admin:govinfo_inforequest_change", args=[info.pk]))
    assert step not in page.content.decode()
    services.approve(info, by=other)
    info.refresh_from_db()
    assert info.status == "answered" and info.approved_by == other


def test_the_admin_offers_correction_once(client, gov_town, office):
    info = received(gov_town, timezone.localdate() - timedelta(days=1))
    services.record_step(info, "correction", by=office, note="请写明村名")
    services.record_step(info, "corrected", by=office)
    client.force_login(office)
    step = reverse("admin:govinfo_inforequest_step", args=[info.pk, "correction"])
    assert client.get(step).status_code == 403


def test_a_village_editor_never_sees_the_applications(client, gov_town):
    village = UnitFactory(slug="wenli-v", name="文理村")
    editor = staff_user(username="village", group=UNIT_EDITOR, units=[village])
    info = received(gov_town, date(2026, 9, 18))
    client.force_login(editor)
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:govinfo_inforequest_changelist") not in index
    assert reverse("admin:govinfo_remedy_changelist") not in index
    for name, args in [
        ("admin:govinfo_inforequest_changelist", []),
        ("admin:govinfo_inforequest_add", []),
        ("admin:govinfo_inforequest_change", [info.pk]),
        ("admin:govinfo_inforequest_history", [info.pk]),
        ("admin:govinfo_inforequest_letter", [info.pk]),
        ("admin:govinfo_inforequest_step", [info.pk, "draft"]),
        ("admin:govinfo_remedy_changelist", []),
    ]:
        response = client.get(reverse(name, args=args), follow=True)
        assert response.status_code in (200, 403, 404), name
        assert response.redirect_chain in ([], [("/admin/", 302)]), name
        assert info.code not in response.content.decode(), name
        assert "申请人甲某" not in response.content.decode(), name


def test_no_bulk_delete_and_history_within_the_rules(client, gov_town, office):
    other_town = UnitFactory(slug="other-town", name="别镇", kind="town")
    mine = received(gov_town, date(2026, 9, 18))
    theirs = received(other_town, date(2026, 9, 18))
    client.force_login(office)
    changelist = reverse("admin:govinfo_inforequest_changelist")
    page = client.get(changelist).content.decode()
    assert "delete_selected" not in page
    assert mine.code in page and theirs.code not in page
    response = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [mine.pk, theirs.pk]},
    )
    assert response.status_code in (200, 302)
    assert services.InfoRequest.objects.count() == 2
    history = reverse("admin:govinfo_inforequest_history", args=[theirs.pk])
    response = client.get(history)  # Django: "does not exist", back to the index
    assert response.status_code in (302, 403, 404)
    assert theirs.code not in client.get(history, follow=True).content.decode()


# The letter's citations ---------------------------------------------------------------


def test_the_letter_cites_the_right_articles():
    # 公开出版物: art. 39(2); art. 36(5) is "not this body's information".
    assert letters.GROUND_ARTICLES[Ground.PUBLICATION] == "第三十九条第二款"
    assert letters.GROUND_ARTICLES.get(Ground.CONFIRM, "") == ""
    assert letters.ARTICLES[Result.PARTLY].startswith("第三十七条")


# Reachable from the site --------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/guide/", "/feedback/", "/catalog/"])
def test_the_application_and_tracking_are_linked_from_every_page(client, gov_town, url):
    html = client.get(url).content.decode()
    assert 'href="/yishenqing/"' in html
    assert 'href="/yishenqing/track/"' in html


def test_the_disclosure_admin_keeps_both_its_stylesheet_and_script(
    client, gov_town, office
):
    """A merge left two `class Media` in DisclosureAdmin: the second one
    dropped the list's stylesheet."""
    from django.contrib import admin as django_admin

    from disclosure.models import Disclosure

    media = str(django_admin.site._registry[Disclosure].media)
    assert "css/admin_lists.css" in media and "js/disclosure_entry.js" in media


def _letter_post(gov_town, received_on):
    return {
        "unit": gov_town.pk,
        "channel": "letter",
        "received_on": received_on,
        "applicant_kind": "citizen",
        "name": "来信人",
        "id_number": "",
        "credit_code": "",
        "contact_person": "",
        "phone": "",
        "address": "凤鸣镇茅山村",
        "email": "",
        "description": "道路维修经费",
        "document_number": "",
        "purpose": "",
        "delivery": "paper",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
    }


def test_a_letter_received_in_the_future_is_refused(client, gov_town, office):
    """A receipt date after today ran the clock and the year's table from a
    day that has not come."""
    client.force_login(office)
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post(
        reverse("admin:govinfo_inforequest_add"), _letter_post(gov_town, tomorrow)
    )
    assert response.status_code == 200
    assert "收到申请日期不能晚于今天" in response.content.decode()
    assert not services.InfoRequest.objects.exists()


def test_a_remedy_names_an_application_of_its_own_town(gov_town):
    from govinfo.models import Remedy

    other_town = UnitFactory(slug="other-town2", name="另镇", kind="town")
    theirs = received(other_town, date(2026, 9, 18))
    remedy = Remedy(
        unit=gov_town, request=theirs, kind="review", filed_on=date(2026, 10, 9)
    )
    with pytest.raises(ValidationError, match="不是该机关受理"):
        remedy.full_clean()


def test_a_published_government_report_is_never_deleted(client, gov_town):
    from datetime import datetime

    from composition import gov_report
    from composition.models import GovernmentReport
    from tests.factories import SuperuserFactory

    report = GovernmentReport(
        town=gov_town,
        year=2025,
        published_at=datetime(2026, 1, 20, 10, tzinfo=timezone.get_current_timezone()),
    )
    gov_report.save(report)
    client.force_login(SuperuserFactory())
    delete = reverse("admin:portal_governmentreport_delete", args=[report.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:portal_governmentreport_changelist")
    client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [report.pk], "post": "yes"},
    )
    assert GovernmentReport.objects.filter(pk=report.pk).exists()


def test_no_abandonment_dated_in_the_future(gov_town, office):
    """视为放弃 dated after the time to correct, but recorded today, closed
    the case before the applicant's time had run out."""
    today = timezone.localdate()
    info = received(gov_town, today - timedelta(days=1))
    services.record_step(info, "correction", by=office, on=today, note="请写明村名")
    with pytest.raises(ValidationError, match="不能晚于今天"):
        services.abandon(info, by=office, on=today + timedelta(days=60))
    info.refresh_from_db()
    assert info.status == "correction" and info.answered_on is None


def test_the_application_is_fixed_while_its_answer_is_reviewed(
    client, gov_town, office
):
    info = received(gov_town, timezone.localdate() - timedelta(days=2))
    services.draft_answer(info, by=office, result="disclosed", text="见附件。")
    client.force_login(office)
    url = reverse("admin:govinfo_inforequest_change", args=[info.pk])
    client.post(url, {**_letter_post(gov_town, info.received_on), "name": "改名"})
    info.refresh_from_db()
    assert info.name != "改名" and info.description == "某村低保名单"


def test_a_consultation_has_its_latest_deadline_and_a_silent_third_party_tops_the_queue(
    client, gov_town, office, reviewer
):
    """While a third party is consulted the deadline is the latest possible
    (its 15 working days, then the days left): a case whose third party never
    answered came last in the queue, with no deadline, for ever."""
    state = clock.run(date(2026, 3, 2), [clock.Step(clock.CONSULT, date(2026, 3, 9))])
    assert state.stopped_by == clock.CONSULT and not state.running
    assert state.due_on == clock.add_workdays(date(2026, 3, 30), 15)

    today = timezone.localdate()
    fresh = received(gov_town, today - timedelta(days=1))
    silent = received(gov_town, date(2026, 3, 2))
    services.record_step(silent, "consult", by=office, on=date(2026, 3, 9), note="x")
    silent.refresh_from_db()
    assert silent.status == "consulting" and silent.is_overdue()
    client.force_login(office)
    body = client.get(reverse("admin:govinfo_inforequest_changelist")).text
    assert body.index(silent.code) < body.index(fresh.code)
    track = client.get(silent.get_tracking_url()).text
    assert "最迟答复日期" in track
    # No extension while the clock is paused.
    with pytest.raises(ValidationError, match="只有办理中"):
        services.record_step(silent, "extend", by=reviewer, days=5, note="x")


@pytest.mark.parametrize(
    ("step", "data"),
    [
        ("correction", {"on": "2026-13-45", "note": "x"}),
        ("correction", {"on": "0001-01-01", "note": "x"}),
        ("correction", {"on": "", "note": "a\x00b"}),
        ("correction", {"on": "today", "note": "a\u202eb"}),
        ("extend", {"days": "1e9", "note": "x"}),
        ("extend", {"days": "-1", "note": "<script>x</script>"}),
        ("draft", {"result": "nonsense", "ground": "", "answer_text": "x"}),
        ("draft", {"result": "refused", "ground": "repeated", "answer_text": "x"}),
        ("draft", {"result": "refused", "ground": "", "answer_text": "x" * 100000}),
        ("consult", {"on": "\x00", "note": ""}),
        ("abandon", {"on": "9999-12-31"}),
        ("nonexistent", {}),
    ],
)
def test_hostile_input_in_the_step_pages_is_a_message_not_a_500(
    client, gov_town, office, step, data
):
    info = received(gov_town, timezone.localdate() - timedelta(days=1))
    client.force_login(office)
    url = reverse("admin:govinfo_inforequest_step", args=[info.pk, step])
    response = client.post(url, data)
    assert response.status_code in (200, 403), response.status_code
    info.refresh_from_db()
    assert info.status == "received"


@pytest.mark.parametrize(
    "url",
    [
        "/guide/?town=%00",
        "/guide/affairs/?town=a%00b",
        "/reports/gov/2011/?town=%00",
        "/reports/gov/2011/?town=" + "x" * 3000,
        "/guide/?town=%E2%80%AE",
        "/reports/gov/99999999999999999999/",
        "/yishenqing/track/?code=%00",
    ],
)
def test_hostile_query_strings_on_the_new_pages(client, gov_town, url):
    response = client.get(url)
    assert response.status_code in (200, 302, 400, 404), url


@pytest.mark.parametrize("role", ["党员", "督查员", "村务监督委员", "村级审批人"])
def test_other_roles_never_reach_the_applications(client, gov_town, role):
    info = received(gov_town, date(2026, 9, 18))
    user = staff_user(username=f"r-{len(role)}", group=role)
    client.force_login(user)
    for url in [
        reverse("admin:govinfo_inforequest_changelist"),
        reverse("admin:govinfo_inforequest_change", args=[info.pk]),
        reverse("admin:govinfo_inforequest_letter", args=[info.pk]),
        reverse("admin:govinfo_inforequest_step", args=[info.pk, "draft"]),
        reverse("admin:govinfo_remedy_changelist"),
    ]:
        response = client.get(url, follow=True)
        assert response.status_code in (200, 403, 404), url
        assert info.code not in response.text and "申请人甲某" not in response.text

"""What the 回音壁 loop left to finish, over real URLs: every round's rating
counted, the 督办中 filter of the wall, the 督办 mailed to whom it goes to,
and the 联系领导 and 包村干部 set on the Unit admin."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from disclosure import roles
from disclosure.models import Organisation
from feedback import services
from feedback.models import Kind, Rating, Submission
from tests.factories import (
    DepartmentFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def town():
    return TownFactory(slug="fengming")


@pytest.fixture
def wenli(town):
    return UnitFactory(name="文理村", parent=town, slug="wenli")


@pytest.fixture
def clerk():
    return staff_user(username="town_admin", group=roles.TOWN_ADMIN)


@pytest.fixture
def leader(wenli):
    user = staff_user(username="leader_zhang", group=roles.REVIEWER)
    user.email = "zhang@fengming.example"
    user.save()
    wenli.contact_leader = user
    wenli.save()
    return user


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def overdue_case(unit, **fields) -> Submission:
    return SubmissionFactory(
        unit=unit,
        accepted=True,
        received_at=timezone.now() - timedelta(days=40),
        **fields,
    )


# Every round's rating counts --------------------------------------------------------


def test_the_figures_count_the_rating_of_every_round(client, town, wenli, clerk):
    department = DepartmentFactory()
    case = SubmissionFactory(unit=wenli, accepted=True, title="送水车几点到")
    services.answer(case, by=clerk, department=department, text="九点到二组。")
    # The first round's 不满意, taken on a phone call, then a 满意 online.
    services.record_follow_up(
        case,
        by=clerk,
        rating=Rating.UNSATISFIED,
        channel="phone",
        on=timezone.localdate(),
    )
    case.refresh_from_db()
    services.answer(case, by=clerk, department=department, text="改为八点。")
    services.rate(case, rating=Rating.SATISFIED)
    year = timezone.localdate().year

    wall = client.get("/feedback/")
    summary = wall.context["summary"]
    assert summary["rated"] == 2 and summary["satisfied_percent"] == 50
    counts = {r["label"]: r["count"] for r in summary["ratings"]}
    assert (counts["满意"], counts["不满意"]) == (1, 1)
    assert "共 2 条评价（重新办理的事项各轮评价都计入）" in wall.text

    stats = client.get("/stats/", {"year": year})
    assert (
        stats.context["feedback"]["rated"],
        stats.context["feedback"]["rated_by_staff"],
    ) == (2, 1)
    assert "评价 2 条（各轮评价都计入），其中电话、上门回访 1 条。" in stats.text

    report = client.get(f"/reports/fengming/{year}/")
    assert report.status_code == 200
    assert report.context["figures"].feedback["rated"] == 2
    assert (
        "参与评价2条（重新办理的事项各轮评价都计入），满意及基本满意50%。"
        in report.text
    )


# The wall's 督办中 filter ------------------------------------------------------------


def test_the_wall_filters_the_cases_under_escalation(client, wenli, leader):
    overdue_case(wenli, title="护林员补贴标准")
    SubmissionFactory(unit=wenli, accepted=True, title="按期办理中")
    services.escalate_overdue()
    page = client.get("/feedback/")
    assert page.context["summary"]["escalating"] == 1
    assert "其中 1 条督办中（超过答复期限，或提交人再次不满意）。" in page.text
    assert "只看督办中" in page.text

    filtered = client.get("/feedback/", {"escalated": "1"})
    assert filtered.status_code == 200
    assert [s.title for s in filtered.context["page"].object_list] == ["护林员补贴标准"]
    assert filtered.context["summary"]["listed"] == 1
    assert "只看督办中" not in filtered.text

    for bad in ("yes", "2", "1' OR 1=1", "督办中"):
        refused = client.get("/feedback/", {"escalated": bad})
        assert refused.status_code == 400
        assert "筛选条件有误" in refused.text
        assert "选择一个有效的选项" in refused.text


# 督办 by mail -------------------------------------------------------------------------


def test_the_leader_is_mailed_the_escalation_without_the_submitter(wenli, leader):
    case = overdue_case(
        wenli, title="护林员补贴标准", name="李村民", phone="13900000000"
    )
    call_command("escalate_overdue", stdout=io.StringIO())
    (message,) = mail.outbox
    assert message.to == ["zhang@fengming.example"]
    assert case.tracking_code in message.subject and "护林员补贴标准" in message.subject
    body = message.body
    for fact in (case.tracking_code, "护林员补贴标准", "文理村", "超过答复期限"):
        assert fact in body
    case.refresh_from_db()
    assert f"{case.due_date:%Y-%m-%d}" in body
    assert f"/admin/feedback/submission/{case.pk}/change/" in body
    for private in ("李村民", "13900000000"):
        assert private not in body and private not in message.subject
    # Once a round: the next daily run mails nothing.
    call_command("escalate_overdue", stdout=io.StringIO())
    assert len(mail.outbox) == 1


def test_a_report_about_conduct_is_mailed_to_the_discipline_committee_too(
    town, wenli, leader
):
    discipline = Organisation.objects.get(unit=town, name="镇纪委")
    member = staff_user(username="jiwei_li", group=roles.REVIEWER)
    member.email = "jiwei@fengming.example"
    member.save()
    no_mail = staff_user(username="jiwei_wu", group=roles.REVIEWER)
    discipline.members.add(member, no_mail)
    overdue_case(wenli, kind=Kind.REPORT, concerns_conduct=True, title="干部作风")
    services.escalate_overdue()
    assert sorted(m.to[0] for m in mail.outbox) == [
        "jiwei@fengming.example",
        "zhang@fengming.example",
    ]


def test_a_denunciation_is_mailed_to_the_committee_never_the_leader(
    town, wenli, leader
):
    discipline = Organisation.objects.get(unit=town, name="镇纪委")
    member = UserFactory(username="jiwei_li", is_staff=True, email="jiwei@x.example")
    discipline.members.add(member)
    overdue_case(wenli, kind=Kind.DENUNCIATION, title="举报某干部")
    services.escalate_overdue()
    assert [m.to for m in mail.outbox] == [["jiwei@x.example"]]


def test_a_second_unsatisfied_rating_mails_the_leader(wenli, leader, clerk):
    case = SubmissionFactory(unit=wenli, accepted=True, title="送水车几点到")
    resident = Client()
    for text in ("九点到二组。", "改为八点。"):
        services.answer(case, by=clerk, department=DepartmentFactory(), text=text)
        response = resident.post(case.get_tracking_url(), {"rating": "unsatisfied"})
        assert response.status_code == 302
        case.refresh_from_db()
    (message,) = mail.outbox
    assert message.to == ["zhang@fengming.example"]
    assert "提交人再次不满意" in message.body and "第3轮办理" in message.body


def test_no_address_no_mail_and_the_escalation_is_recorded(wenli, leader):
    leader.email = ""
    leader.save()
    case = overdue_case(wenli)
    services.escalate_overdue()
    assert mail.outbox == []
    case.refresh_from_db()
    assert case.is_escalated


def test_a_mail_server_down_does_not_undo_the_escalation(wenli, leader, settings):
    settings.EMAIL_BACKEND = "tests.feedback.test_loop_finish.BrokenBackend"
    case = overdue_case(wenli)
    services.escalate_overdue()
    case.refresh_from_db()
    assert case.is_escalated


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("no mail server")


# The Unit admin: 联系领导 and 包村干部 --------------------------------------------


def form_data(response) -> dict:
    """The change page's form and inlines as they stand, ready to post back."""
    data = {}

    def put(form, prefixed) -> None:
        for name in form.fields:
            value = form[name].value()
            key = prefixed(name)
            if value is None or value is False:
                continue
            if value is True:
                data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(v) for v in value]
            else:
                data[key] = str(value)

    put(response.context["adminform"].form, lambda name: name)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        put(formset.management_form, lambda name, p=formset.prefix: f"{p}-{name}")
        for sub in formset.forms:
            put(sub, sub.add_prefix)
    return data


def unit_url(unit) -> str:
    return f"/admin/disclosure/unit/{unit.pk}/change/"


def test_the_town_admin_sets_the_villages_leader_and_cadre(town, wenli, clerk):
    leader = staff_user(username="leader_zhang", group=roles.REVIEWER)
    cadre = staff_user(username="cadre_wang", group=roles.REVIEWER)
    resident = UserFactory(username="resident", is_staff=False)
    admin = login(clerk)
    page = admin.get(unit_url(wenli))
    assert page.status_code == 200
    assert "联系领导" in page.text and "包村干部" in page.text

    # A resident's account is refused, in Chinese.
    data = form_data(page)
    data.update(contact_leader=str(resident.pk), village_cadre=str(cadre.pk))
    refused = admin.post(unit_url(wenli), data)
    assert refused.status_code == 200
    assert "contact_leader" in refused.context["adminform"].form.errors
    assert "选择一个有效的选项" in refused.text
    wenli.refresh_from_db()
    assert wenli.contact_leader is None and wenli.village_cadre is None

    data.update(contact_leader=str(leader.pk))
    saved = admin.post(unit_url(wenli), data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    wenli.refresh_from_db()
    assert (wenli.contact_leader, wenli.village_cadre) == (leader, cadre)

    # The leader now gets the village's 督办, the cadre its 交办.
    case = overdue_case(wenli, title="护林员补贴标准")
    assert case in services.escalated_to(leader)
    services.assign(case, by=clerk, to_cadre=True)
    case.refresh_from_db()
    assert case.assigned_cadre == cadre


def test_a_village_editor_cannot_set_them(town, wenli, clerk):
    editor = staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    other = staff_user(username="other_staff", group=roles.REVIEWER)
    client = login(editor)
    page = client.get(unit_url(wenli))
    assert page.status_code == 200
    # Read only: no input to change them, and a post is refused.
    assert 'name="contact_leader"' not in page.text
    assert 'name="village_cadre"' not in page.text
    admin_page = login(clerk).get(unit_url(wenli))
    data = form_data(admin_page)
    data.update(contact_leader=str(other.pk), village_cadre=str(other.pk))
    assert client.post(unit_url(wenli), data).status_code == 403
    wenli.refresh_from_db()
    assert wenli.contact_leader is None and wenli.village_cadre is None


# Query counts ----------------------------------------------------------------------


def test_rounds_and_escalations_cost_no_query_per_case(town, wenli, clerk, leader):
    """The wall, its 督办中 filter, the statistics, the report and the feed:
    the same count with one reopened and escalated case as with five."""
    department = DepartmentFactory()
    year = timezone.localdate().year
    urls = [
        "/feedback/",
        "/feedback/?escalated=1",
        f"/stats/?year={year}",
        f"/reports/fengming/{year}/",
        "/feeds/feedback/",
    ]

    def add_cases(n: int) -> None:
        for _ in range(n):
            case = SubmissionFactory(unit=wenli, accepted=True)
            services.answer(case, by=clerk, department=department, text="答复")
            case = services.rate(case, rating=Rating.UNSATISFIED)
            services.answer(case, by=clerk, department=department, text="再答复")
            services.rate(case, rating=Rating.SATISFIED)
            overdue_case(wenli)
        services.escalate_overdue()

    def measure() -> dict[str, int]:
        counts = {}
        for url in urls:
            cache.clear()  # the wall's summary is kept between requests
            with CaptureQueriesContext(connection) as captured:
                assert Client().get(url).status_code == 200, url
            counts[url] = len(captured)
        return counts

    add_cases(1)
    measure()  # warm the per-process caches
    before = measure()
    add_cases(4)
    assert measure() == before

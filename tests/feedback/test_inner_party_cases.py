"""A question about 党内 matters is not public by default: raised from a 党内
disclosure's page, or by a party member about a 党内 item, it stays off the
wall (and search, feeds, sitemap) until staff, warned, decide it may be public."""

import pytest

from catalog.models import Scope
from feedback import services
from feedback.models import Kind, Submission
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SuperuserFactory,
    TownFactory,
    UnitFactory,
)
from tests.feedback.test_admin import change_data, change_url
from tests.feedback.test_views import form_data

pytestmark = pytest.mark.django_db

QUESTION = "党费收缴标准为何调整"


@pytest.fixture
def wenli():
    return UnitFactory(name="文理村", parent=TownFactory())


@pytest.fixture
def inner_item():
    return ItemFactory(scope=Scope.INNER_PARTY, name="党费收缴情况")


@pytest.fixture
def public_item():
    return ItemFactory(scope=Scope.PUBLIC, name="村级财务收支")


def public_pages(submission) -> list[str]:
    return [
        "/feedback/",
        submission.get_absolute_url(),
        "/search/?q=党费收缴",
        "/feeds/feedback/",
        "/sitemap.xml",
    ]


def assert_not_public(client, submission):
    client.logout()
    assert client.get(submission.get_absolute_url()).status_code == 404
    for url in public_pages(submission):
        page = client.get(url).text
        assert QUESTION not in page, url
        assert f'href="{submission.get_absolute_url()}"' not in page, url


def answer(submission):
    staff = SuperuserFactory()
    department = DepartmentFactory()
    services.accept(submission, by=staff, department=department)
    services.answer(submission, by=staff, department=department, text="已在支部通报。")
    submission.refresh_from_db()


def test_a_question_from_an_inner_party_disclosure_stays_off_the_wall(
    client, wenli, inner_item
):
    inner = DisclosureFactory(unit=wenli, item=inner_item)
    client.force_login(PartyMemberFactory())
    data = form_data(
        wenli, title=QUESTION, disclosure=str(inner.pk), consent_to_publish="on"
    )
    assert client.post("/feedback/new/", data).status_code == 302
    submission = Submission.objects.get()
    assert submission.concerns_inner_party
    answer(submission)
    assert submission.status == "answered"
    assert_not_public(client, submission)
    # The submitter still reads the answer with the code.
    assert "已在支部通报。" in client.get(submission.get_tracking_url()).text


def test_a_party_member_asking_about_an_inner_party_item_is_held_back(
    client, wenli, inner_item
):
    client.force_login(PartyMemberFactory())
    data = form_data(
        wenli, title=QUESTION, item=str(inner_item.pk), consent_to_publish="on"
    )
    assert client.post("/feedback/new/", data).status_code == 302
    submission = Submission.objects.get()
    assert submission.concerns_inner_party
    answer(submission)
    assert_not_public(client, submission)


def test_a_resident_asking_about_a_public_item_is_public_once_accepted(
    client, wenli, public_item
):
    data = form_data(
        wenli, title=QUESTION, item=str(public_item.pk), consent_to_publish="on"
    )
    assert client.post("/feedback/new/", data).status_code == 302
    submission = Submission.objects.get()
    assert not submission.concerns_inner_party
    answer(submission)
    assert QUESTION in client.get("/feedback/").text


def test_staff_are_warned_and_may_clear_it_for_the_wall(
    admin_client, wenli, inner_item
):
    inner = DisclosureFactory(unit=wenli, item=inner_item)
    submission = Submission(
        kind=Kind.QUESTION,
        unit=wenli,
        disclosure=inner,
        title=QUESTION,
        text="详情",
        consent_to_publish=True,
    )
    services.record_offline(submission, by=SuperuserFactory())
    assert submission.concerns_inner_party
    answer(submission)
    page = admin_client.get(change_url(submission))
    assert "这条来信涉及党内公开事项" in page.text
    assert 'name="_clear"' in page.text
    assert "答复（涉及党内事项，不在回音壁公开）" not in page.text  # answered already
    response = admin_client.post(
        change_url(submission),
        change_data(submission, _clear="1", consent_to_publish="on"),
    )
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.inner_party_cleared_at is not None
    assert submission.events.filter(kind="cleared").exists()
    admin_client.logout()
    assert QUESTION in admin_client.get("/feedback/").text
    assert admin_client.get(submission.get_absolute_url()).status_code == 200
    # Cleared once: the button and the warning are gone.
    admin_client.force_login(SuperuserFactory())
    page = admin_client.get(change_url(submission))
    assert "这条来信涉及党内公开事项" not in page.text


def test_an_offline_case_from_a_party_member_about_an_inner_item_is_held_back(
    wenli, inner_item, public_item
):
    held = Submission(
        kind=Kind.OPINION,
        channel="box",
        unit=wenli,
        item=inner_item,
        is_party_member=True,
        title=QUESTION,
        text="详情",
    )
    services.record_offline(held, by=SuperuserFactory())
    assert held.concerns_inner_party
    plain = Submission(
        kind=Kind.OPINION,
        channel="box",
        unit=wenli,
        item=public_item,
        is_party_member=True,
        title="村道",
        text="详情",
    )
    services.record_offline(plain, by=SuperuserFactory())
    assert not plain.concerns_inner_party


def test_an_edit_that_links_an_inner_party_disclosure_holds_the_case_back(
    admin_client, wenli, inner_item
):
    submission = Submission(kind=Kind.QUESTION, unit=wenli, title=QUESTION, text="x")
    services.record_offline(submission, by=SuperuserFactory())
    assert not submission.concerns_inner_party
    inner = DisclosureFactory(unit=wenli, item=inner_item)
    data = change_data(submission, disclosure=inner.pk)
    assert admin_client.post(change_url(submission), data).status_code == 302
    submission.refresh_from_db()
    assert submission.concerns_inner_party


def test_clearing_is_refused_for_a_case_that_is_not_held_back(wenli):
    submission = Submission(kind=Kind.QUESTION, unit=wenli, title="村道", text="x")
    services.record_offline(submission, by=SuperuserFactory())
    with pytest.raises(Exception, match="不涉及党内事项"):
        services.clear_for_wall(submission, by=SuperuserFactory())


# When what a case is about becomes 党内 later ------------------------------------


def answered_case(wenli, **fields) -> Submission:
    submission = Submission(
        kind=Kind.QUESTION,
        unit=wenli,
        title=QUESTION,
        text="详情",
        consent_to_publish=True,
        **fields,
    )
    services.record_offline(submission, by=SuperuserFactory())
    answer(submission)
    return submission


def test_a_party_members_case_leaves_the_wall_when_its_item_becomes_inner_party(
    client, wenli, public_item
):
    submission = answered_case(wenli, item=public_item, is_party_member=True)
    assert client.get(submission.get_absolute_url()).status_code == 200
    public_item.scope = Scope.INNER_PARTY
    public_item.save()
    submission.refresh_from_db()
    assert submission.is_held_back
    assert submission.events.filter(kind="held_back").exists()
    assert_not_public(client, submission)


def test_a_case_from_a_disclosure_leaves_the_wall_when_the_item_becomes_inner_party(
    client, wenli, public_item
):
    disclosure = DisclosureFactory(unit=wenli, item=public_item)
    submission = answered_case(wenli, disclosure=disclosure)
    assert QUESTION in client.get("/feedback/").text
    # However the item is changed: here in bulk, as a shell or loader would.
    type(public_item).objects.filter(pk=public_item.pk).update(scope=Scope.INNER_PARTY)
    assert_not_public(client, submission)


def test_a_case_leaves_the_wall_when_its_disclosure_alone_is_made_inner_party(
    client, wenli, public_item
):
    disclosure = DisclosureFactory(unit=wenli, item=public_item)
    submission = answered_case(wenli, disclosure=disclosure)
    disclosure.scope = Scope.INNER_PARTY
    disclosure.save()
    assert_not_public(client, submission)


def test_a_residents_case_about_an_item_made_inner_party_stays_on_the_wall(
    client, wenli, public_item
):
    submission = answered_case(wenli, item=public_item)
    public_item.scope = Scope.INNER_PARTY
    public_item.save()
    assert client.get(submission.get_absolute_url()).status_code == 200

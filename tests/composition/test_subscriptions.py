import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Scope
from composition import following
from composition.models import Subscription
from feedback.models import Status
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    SubscriptionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2011, 8, 10)


def at(d: date, hour=10):
    return datetime(d.year, d.month, d.day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def wenli():
    return UnitFactory(name="文理村", parent=TownFactory())


def run_digests(day: date = DAY) -> str:
    out = io.StringIO()
    call_command("send_digests", "--date", day.isoformat(), stdout=out)
    return out.getvalue()


# Double opt-in ---------------------------------------------------------------


def test_subscribing_sends_a_confirmation_and_nothing_else(client, wenli):
    response = client.post("/follow/", {"email": "Li@Example.org", "unit": "wenli"})
    assert response.status_code == 200
    assert "请查收确认邮件" in response.text
    subscription = Subscription.objects.get()
    assert subscription.email == "li@example.org" and subscription.unit == wenli
    assert not subscription.is_confirmed
    assert len(mail.outbox) == 1
    assert subscription.get_confirm_url() in mail.outbox[0].body
    DisclosureFactory(unit=wenli, published_at=timezone.now() - timedelta(hours=1))
    run_digests(timezone.localdate() + timedelta(days=1))
    assert len(mail.outbox) == 1  # no digest before confirmation


def test_confirmation_link_shows_a_button_and_post_confirms(client, wenli):
    client.post("/follow/", {"email": "li@example.org", "unit": "wenli"})
    subscription = Subscription.objects.get()
    page = client.get(subscription.get_confirm_url())
    assert page.status_code == 200 and "确认关注" in page.text
    subscription.refresh_from_db()
    assert not subscription.is_confirmed  # a mail scanner's GET confirms nothing
    client.post(subscription.get_confirm_url())
    subscription.refresh_from_db()
    assert subscription.is_confirmed


def test_unknown_or_expired_confirmation_is_404(client, wenli):
    assert client.get("/follow/confirm/nope/").status_code == 404
    old = SubscriptionFactory(unit=wenli, confirmed_at=None, last_sent_on=None)
    Subscription.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=8)
    )
    assert client.post(old.get_confirm_url()).status_code == 404


def test_repeated_requests_do_not_spam_the_address(client, wenli):
    for _ in range(3):
        client.post("/follow/", {"email": "li@example.org", "unit": "wenli"})
    assert Subscription.objects.count() == 1
    assert len(mail.outbox) == 1
    # Other targets: a daily cap per address.
    for n in range(5):
        UnitFactory(name=f"村{n}", slug=f"cun{n}")
        client.post("/follow/", {"email": "li@example.org", "unit": f"cun{n}"})
    assert len(mail.outbox) == 3


def test_requests_arriving_together_cannot_pass_the_daily_cap(
    client, wenli, monkeypatch
):
    """Requests for several boards at once (several workers): each counted
    the mails sent before any of them was recorded, so all were sent."""
    waiting = [UnitFactory(name=f"村{n}", slug=f"cun{n}").slug for n in range(6)]
    real_send = following._send_confirmation

    def send_while_others_arrive(subscription):
        while waiting:
            client.post("/follow/", {"email": "li@example.org", "unit": waiting.pop()})
        real_send(subscription)

    monkeypatch.setattr(following, "_send_confirmation", send_while_others_arrive)
    client.post("/follow/", {"email": "li@example.org", "unit": "wenli"})
    assert len(mail.outbox) == 3


def test_already_confirmed_address_gets_no_mail_and_the_page_does_not_tell(
    client, wenli
):
    SubscriptionFactory(email="li@example.org", unit=wenli)
    response = client.post("/follow/", {"email": "li@example.org", "unit": "wenli"})
    assert "请查收确认邮件" in response.text
    assert mail.outbox == []


def test_invalid_email_is_400(client):
    response = client.post("/follow/", {"email": "not-an-address"})
    assert response.status_code == 400


def test_addresses_never_appear_on_public_pages(client, wenli):
    SubscriptionFactory(email="secret-resident@example.org", unit=wenli)
    for url in ["/", "/boards/wenli/", "/follow/", "/sitemap.xml", "/feeds/latest/"]:
        assert "secret-resident" not in client.get(url).text


# Digests ---------------------------------------------------------------------


def test_digest_lists_new_public_items_of_the_followed_unit(wenli):
    maoshan = UnitFactory(name="茅山村")
    SubscriptionFactory(
        email="li@example.org", unit=wenli, last_sent_on=DAY - timedelta(1)
    )
    yesterday = DAY - timedelta(days=1)
    DisclosureFactory(unit=wenli, title="文理村抗旱公示", published_at=at(yesterday))
    DisclosureFactory(unit=maoshan, title="茅山村的公示", published_at=at(yesterday))
    DisclosureFactory(
        unit=wenli,
        item=ItemFactory(scope=Scope.INNER_PARTY),
        title="党内通报",
        published_at=at(yesterday),
    )
    DisclosureFactory(unit=wenli, title="今天的", published_at=at(DAY))
    SubmissionFactory(
        unit=wenli,
        title="水泵怎么借",
        status=Status.ANSWERED,
        answered_at=at(yesterday),
        answer_text="答",
        name="张三",
    )
    assert "digests sent: 1" in run_digests()
    body = mail.outbox[0].body
    assert "文理村抗旱公示" in body and "水泵怎么借" in body
    assert "茅山村的公示" not in body and "党内通报" not in body
    assert "今天的" not in body and "张三" not in body
    subscription = Subscription.objects.get()
    assert subscription.get_unsubscribe_url() in body
    assert (
        subscription.get_unsubscribe_url()
        in mail.outbox[0].extra_headers["List-Unsubscribe"]
    )


def test_whole_town_digest_covers_every_unit(wenli):
    SubscriptionFactory(unit=None, last_sent_on=DAY - timedelta(1))
    DisclosureFactory(
        unit=UnitFactory(name="茅山村"), published_at=at(DAY - timedelta(1))
    )
    DisclosureFactory(unit=wenli, published_at=at(DAY - timedelta(1)))
    run_digests()
    assert mail.outbox[0].body.count("/disclosures/") == 2


def test_digests_are_idempotent_per_day(wenli):
    SubscriptionFactory(unit=wenli, last_sent_on=DAY - timedelta(1))
    DisclosureFactory(unit=wenli, published_at=at(DAY - timedelta(1)))
    run_digests()
    run_digests()
    assert len(mail.outbox) == 1
    DisclosureFactory(unit=wenli, title="第二天的", published_at=at(DAY))
    run_digests(DAY + timedelta(days=1))
    assert len(mail.outbox) == 2
    assert "第二天的" in mail.outbox[1].body
    assert mail.outbox[1].body.count("/disclosures/") == 1


def test_nothing_new_sends_nothing(wenli):
    SubscriptionFactory(unit=wenli, last_sent_on=DAY - timedelta(1))
    assert "digests sent: 0" in run_digests()
    assert mail.outbox == []
    assert Subscription.objects.get().last_sent_on == DAY


def test_unconfirmed_subscriptions_are_deleted_after_a_week(wenli):
    SubscriptionFactory(unit=wenli, confirmed_at=None, last_sent_on=None)
    Subscription.objects.update(created_at=timezone.now() - timedelta(days=8))
    run_digests(timezone.localdate())
    assert not Subscription.objects.exists()


def test_bad_date_is_a_command_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("send_digests", "--date", "2011-13-01")


# Unsubscribing ---------------------------------------------------------------


def test_unsubscribe_needs_no_login_and_deletes_the_address(client, wenli):
    subscription = SubscriptionFactory(email="li@example.org", unit=wenli)
    page = client.get(subscription.get_unsubscribe_url())
    assert page.status_code == 200 and "取消关注" in page.text
    assert Subscription.objects.exists()
    done = client.post(subscription.get_unsubscribe_url())
    assert done.status_code == 200
    assert not Subscription.objects.filter(email="li@example.org").exists()


def test_one_click_unsubscribe_from_a_mail_client(wenli):
    from django.test import Client

    subscription = SubscriptionFactory(unit=wenli)
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        subscription.get_unsubscribe_url(), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert not Subscription.objects.exists()


def test_unknown_unsubscribe_token_is_404(client):
    assert client.get("/follow/unsubscribe/nope/").status_code == 404
    assert client.post("/follow/unsubscribe/nope/").status_code == 200


def test_board_page_links_to_following(client, wenli):
    assert "/follow/?unit=wenli" in client.get("/boards/wenli/").text


def test_request_subscription_is_deduplicated_per_target(wenli):
    assert following.request_subscription(email="a@example.org", unit=wenli)
    assert following.request_subscription(email="a@example.org", unit=wenli) is None
    assert following.request_subscription(email="a@example.org", unit=None)
    assert Subscription.objects.count() == 2

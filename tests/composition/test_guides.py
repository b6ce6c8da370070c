"""The 公开指南 pages: how to apply for government information (the online
form, no fees, time limits, remedies) and the 党务、村务 guide, every contact
fact from the records, none guessed."""

import pytest

from catalog.models import ScheduleRule
from composition.models import DisclosureGuide

pytestmark = pytest.mark.django_db


def test_the_government_guide(demo, client):
    response = client.get("/guide/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/yishenqing/"' in html
    assert "提供政府信息不收取费用" in html and "第四十二条" in html
    assert "20个工作日内答复" in html
    assert "60日内向合江县人民政府申请行政复议" in html
    assert "6个月内依法向人民法院提起行政诉讼" in html
    # The office is the town's 党政办 (its body) while none is entered.
    assert "凤鸣镇党政办" in html
    assert 'href="/reports/gov/fengming/2011/"' in html


def test_contact_facts_not_entered_are_said_to_be_missing(demo, client):
    html = client.get("/guide/?town=fengming").content.decode()
    assert '<span id="guide-supervision-phone">尚未公布</span>' in html
    guide = DisclosureGuide.objects.get(town__slug="fengming")
    guide.supervision_phone = "0830-0000000"
    guide.office = "凤鸣镇政务公开办公室"
    guide.save()
    for url in ("/guide/", "/guide/affairs/"):
        html = client.get(url).content.decode()
        assert '<span id="guide-supervision-phone">0830-0000000</span>' in html
        assert "凤鸣镇政务公开办公室" in html


def test_the_affairs_guide_reads_the_leading_group_and_the_days(demo, client):
    rule = ScheduleRule.objects.get(catalog__kind="village")
    rule.monthly_due_day = 7
    rule.save()
    html = client.get("/guide/affairs/").content.decode()
    assert "由镇纪委、组织、宣传、党政办等部门组成" in html
    assert "村务：每月事项于次月7日前公开" in html
    assert "党务：每月事项于次月5日前公开" in html
    assert 'href="/boards/wenli/"' in html and 'href="/boards/maoshan/"' in html
    assert "凤鸣镇纪委" in html


def test_guides_are_linked_from_home_and_footer(demo, client):
    html = client.get("/").content.decode()
    assert html.count('href="/guide/"') >= 2
    assert html.count('href="/guide/affairs/"') >= 2


@pytest.mark.parametrize(
    "url", ["/guide/?town=nowhere", "/guide/affairs/?town=" + "x" * 100]
)
def test_an_unknown_town_is_404(demo, client, url):
    assert client.get(url).status_code == 404

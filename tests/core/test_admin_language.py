"""No English and no "Django" on the back office's screens (issue 18): the
site's name in the header and title, our wording where Django's Chinese is
unclear, and the two-box selector's strings Django's catalog lacks."""

import json
import re

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


def test_the_header_and_title_name_the_portal_not_django(staff_client):
    page = staff_client.get("/admin/").text
    assert "Django" not in page
    assert "凤鸣镇公开网后台" in re.search(r"<title>(.*?)</title>", page).group(1)
    assert "最近操作" in page and "最近动作" not in page
    assert "暂无记录" in page and "无可选的" not in page


def test_the_add_user_page_speaks_chinese(staff_client):
    page = staff_client.get("/admin/auth/user/add/").text
    assert "After you" not in page
    assert "保存用户后" in page


def test_the_two_box_selector_has_every_string_in_chinese(staff_client):
    script = staff_client.get("/admin/jsi18n/").content.decode()
    catalog = json.loads(
        re.search(r"const newcatalog = (\{.*?\});", script, re.S).group(1)
    )
    for msgid, text in {
        'Choose %s by selecting them and then select the "Choose" arrow button.': (
            "选中要添加的%s，然后点击“选择”箭头。"
        ),
        "Choose all %s": "全选%s",
        "Remove all %s": "全部移除%s",
        "Choose all": "全选",  # Django's own stays
    }.items():
        assert catalog[msgid] == text


def test_the_history_list_shows_labels_and_local_times(staff_client):
    from datetime import UTC, datetime

    from tests.factories import DisclosureFactory

    disclosure = DisclosureFactory(published_at=datetime(2011, 10, 5, 1, 0, tzinfo=UTC))
    disclosure.published_at = datetime(2011, 10, 6, 2, 30, tzinfo=UTC)
    disclosure.save()
    page = staff_client.get(f"/admin/disclosure/disclosure/{disclosure.pk}/history/")
    text = page.text
    assert "已发布" in text and ">published<" not in text
    # Asia/Shanghai: 01:00 and 02:30 UTC are 09:00 and 10:30.
    assert "2011年10月5日 09:00" in text and "2011年10月6日 10:30" in text
    assert "+00:00" not in text and "None" not in text and "Changes" not in text


def test_yes_and_no_icons_are_read_out_in_chinese(staff_client):
    page = staff_client.get("/admin/auth/user/").text
    assert 'alt="是"' in page and 'alt="True"' not in page

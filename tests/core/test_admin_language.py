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

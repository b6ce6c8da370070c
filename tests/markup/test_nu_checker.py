"""The Nu HTML Checker finds no error on the pages a resident meets after a
disclosure goes through the workflow.

vnu.jar comes from the npm registry (`make vendor-vnu`, run by `make test`)
into the git-ignored .vendor/, and runs on java (.ci/run installs Debian's
default-jre-headless). Without them the test is skipped, unless CI=true.
"""

import json
import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from catalog.models import Item
from disclosure import demo_files, services, tables
from disclosure.forms import AttachmentForm, DisclosureTableForm
from disclosure.models import Attachment, Disclosure, DisclosureTable, Unit
from feedback.models import Submission
from tests.factories import review_and_approve

pytestmark = [pytest.mark.django_db, pytest.mark.vnu]

BASE_DIR = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"


def vnu_command() -> list[str]:
    java = shutil.which("java")
    jars = sorted(BASE_DIR.glob(".vendor/vnu-*/vnu.jar"))
    jar = os.environ.get("VNU_JAR") or (str(jars[-1]) if jars else "")
    missing = [
        name
        for name, found in (("java", java), ("vnu.jar (make vendor-vnu)", jar))
        if not found or not Path(found).exists()
    ]
    if missing:
        message = f"no {' and no '.join(missing)}"
        if IN_CI:
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return [java, "-jar", jar]


def publish_through_the_workflow() -> Disclosure:
    """A village editor drafts a notice with a photo and submits it; the
    reviewer approves and publishes it (times to the microsecond, as live)."""
    User = get_user_model()
    editor, reviewer = (
        User.objects.get(username=name) for name in ("wenli_editor", "reviewer")
    )
    disclosure = Disclosure.objects.create(
        unit=Unit.objects.get(slug="wenli"),
        item=Item.objects.get(code="CW01"),
        period=f"{timezone.localdate() - timedelta(days=31):%Y-%m}",
        title="文理村上月村级财务收支情况公开",
        body="经村民主理财小组审核，现将上月收支情况公开。\n\n"
        "对收支有疑问的，可向村民主理财小组反映。",
        created_by=editor,
    )
    form = AttachmentForm(
        data={"kind": Attachment.Kind.POSTING_PHOTO, "title": "张贴照片"},
        files={
            "file": SimpleUploadedFile("board.jpg", demo_files.notice_board_photo())
        },
        instance=Attachment(disclosure=disclosure, uploaded_by=editor),
    )
    assert form.is_valid(), form.errors
    form.save()
    table = DisclosureTableForm(
        data={"caption": ""},
        files={
            "file": SimpleUploadedFile(
                "明细.xlsx",
                tables.template_workbook(
                    title="文理村上月村级财务收支明细表",
                    rows=[
                        [
                            "2011-06-03",
                            "记01",
                            "收到运转经费",
                            18000,
                            None,
                            "村会计",
                            "",
                        ],
                        ["2011-06-10", "记02", "办公用品", None, 486.5, "报账员", ""],
                    ],
                ),
            )
        },
        instance=DisclosureTable(disclosure=disclosure, uploaded_by=editor),
    )
    assert table.is_valid(), table.errors
    table.save()
    services.submit(disclosure, by=editor)
    review_and_approve(disclosure, reviewer=reviewer)
    return services.publish(disclosure, by=reviewer)


def test_pages_after_a_publication_have_no_markup_errors(demo, client, tmp_path):
    command = vnu_command()
    disclosure = publish_through_the_workflow()
    answered = Submission.objects.published().answered().first()
    month = f"{timezone.localtime(answered.answered_at):%Y-%m}"
    pages = {
        "disclosure": disclosure.get_absolute_url(),
        "board": disclosure.unit.get_absolute_url(),
        "board-print": f"/boards/{disclosure.unit.slug}/print/",
        "list": "/disclosures/",
        "home": "/",
        "wall": "/feedback/",
        "wall-item": answered.get_absolute_url(),
        "wall-print": f"/feedback/print/{answered.unit.slug}/{month}/",
        "wall-print-a3": f"/feedback/print/{answered.unit.slug}/{month}/?size=a3",
        "wall-print-empty": "/feedback/print/wenli/1990-01/",
        "feedback-form": disclosure.unit.feedback_url,
        "search": "/search/?q=收支情况",
        "search-no-hits": "/search/?q=没有这样的内容",
        "compliance": "/compliance/",
        "compliance-unit": "/compliance/wenli/",
        "county": "/county/",
        "stats": "/stats/",
        "reports": "/reports/",
        "report": "/reports/fengming/2011/",
        "gov-report": "/reports/gov/fengming/2011/",
        "gov-guide": "/guide/",
        "affairs-guide": "/guide/affairs/",
        "login": "/accounts/login/",
        "apply": "/yishenqing/",
        "apply-track": "/yishenqing/track/SQ2011A002/",
        "apply-letter": "/yishenqing/track/SQ2011A002/letter/",
    }
    files = []
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        files.append(tmp_path / f"{name}.html")
        files[-1].write_bytes(response.content)
    result = subprocess.run(
        [*command, "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or result.stdout)["messages"]
    errors = [
        f"{Path(m.get('url', '')).stem}:{m.get('lastLine')}: {m['message']}"
        f" [{m.get('extract', '').strip()}]"
        for m in messages
        if m["type"] != "info"
    ]
    assert errors == [], "\n".join(errors)

"""Yearly archives: closing a year seals it; the archive ZIP and its checks."""

import csv
import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.models import Scope
from disclosure import roles, services
from disclosure.archives import is_sealed
from disclosure.models import (
    ArchiveExport,
    Attachment,
    ClosedYear,
    Disclosure,
    DisclosureEvent,
)
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ADMIN = "/admin/disclosure/"
PUBLISHED_2011 = datetime(2011, 10, 5, 1, 0, tzinfo=UTC)


@pytest.fixture
def world():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    item = ItemFactory(code="A09")
    inner_item = ItemFactory(code="B01", scope=Scope.INNER_PARTY)
    notice = DisclosureFactory(
        unit=wenli,
        item=item,
        title="文理村村道维护资金",
        published_at=PUBLISHED_2011,
        index_number="WENLI-2011-A09-001",
    )
    notice.title = "文理村村道维护资金（更正）"
    notice.save()  # a second history version
    DisclosureEvent.objects.create(
        disclosure=notice,
        action=DisclosureEvent.Action.PUBLISHED,
        from_status=Disclosure.Status.APPROVED,
        to_status=Disclosure.Status.PUBLISHED,
        acting_body="镇党委",
    )
    Attachment.objects.create(
        disclosure=notice,
        kind=Attachment.Kind.DOCUMENT,
        title="资金明细",
        file=ContentFile(PDF, name="mingxi.pdf"),
        content_type="application/pdf",
        size=len(PDF),
    )
    DisclosureFactory(
        unit=wenli, item=inner_item, title="文理村党内通报", published_at=PUBLISHED_2011
    )
    draft = DisclosureFactory(
        unit=maoshan,
        item=item,
        title="茅山村草稿",
        period="2011-11",
        status=Disclosure.Status.DRAFT,
        published_at=None,
    )
    DisclosureFactory(unit=wenli, item=item, title="二〇一二年的通知", period="2012-01")
    users = {
        "town_admin": staff_user(username="town_admin", group=roles.TOWN_ADMIN),
        "reviewer": staff_user(username="reviewer", group=roles.REVIEWER),
        "wenli_editor": staff_user(
            username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli]
        ),
        "maoshan_editor": staff_user(
            username="maoshan_editor", group=roles.UNIT_EDITOR, units=[maoshan]
        ),
        "party_member": PartyMemberFactory(),
    }
    return {
        "wenli": wenli,
        "maoshan": maoshan,
        "item": item,
        "notice": notice,
        "draft": draft,
        **users,
    }


def export(tmp_path, **options) -> tuple[Path, str]:
    out = io.StringIO()
    call_command(
        "export_archive", output=tmp_path, stdout=out, stderr=io.StringIO(), **options
    )
    text = out.getvalue()
    path = Path(text.split(" (")[0])
    return path, text


def read_csv(zf: zipfile.ZipFile) -> list[dict]:
    text = zf.read("disclosures.csv").decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


# The archive's contents -------------------------------------------------------------


def test_archive_holds_every_disclosure_of_the_year_in_all_scopes(tmp_path, world):
    path, _output = export(tmp_path, year=2011)
    assert path.parent == tmp_path
    assert re.fullmatch(r"fengming-archive-2011-\d{8}-\d{6}\.zip", path.name)
    with zipfile.ZipFile(path) as zf:
        rows = read_csv(zf)
        data = json.loads(zf.read("disclosures.json"))
        names = set(zf.namelist())
    assert sorted(row["title"] for row in rows) == [
        "文理村党内通报",
        "文理村村道维护资金（更正）",
        "茅山村草稿",
    ]
    by_title = {row["title"]: row for row in rows}
    notice = by_title["文理村村道维护资金（更正）"]
    assert notice["index_number"] == "WENLI-2011-A09-001"
    assert notice["status"] == "已发布"
    assert notice["period"] == "2011-09"
    assert notice["events"] == "1"
    assert notice["history_versions"] == "2"
    assert by_title["文理村党内通报"]["scope"] == "党内公开"
    assert by_title["茅山村草稿"]["status"] == "草稿"
    record = next(d for d in data["disclosures"] if d["id"] == world["notice"].pk)
    assert [e["action"] for e in record["events"]] == ["published"]
    assert [v["title"] for v in record["history"]] == [
        "文理村村道维护资金",
        "文理村村道维护资金（更正）",
    ]
    attachment = record["attachments"][0]
    assert attachment["path"] in names
    assert {"index.html", "disclosures.csv", "disclosures.json", "MANIFEST.sha256"} <= (
        names
    )


def test_attachment_file_is_in_the_archive_unchanged(tmp_path, world):
    path, _output = export(tmp_path, year=2011)
    attachment = world["notice"].attachments.get()
    with zipfile.ZipFile(path) as zf:
        name = f"attachments/wenli/{world['notice'].pk}/{attachment.pk}.pdf"
        assert zf.read(name) == PDF


def test_manifest_lists_every_file_with_its_sha256_and_is_recorded(tmp_path, world):
    path, output = export(tmp_path, year=2011)
    with zipfile.ZipFile(path) as zf:
        manifest = zf.read("MANIFEST.sha256")
        listed = dict(
            reversed(line.split("  ", 1)) for line in manifest.decode().splitlines()
        )
        assert set(listed) == set(zf.namelist()) - {"MANIFEST.sha256"}
        for name, digest in listed.items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == digest
    manifest_sha = hashlib.sha256(manifest).hexdigest()
    assert f"manifest SHA-256: {manifest_sha}" in output
    record = ArchiveExport.objects.get()
    assert (record.year, record.unit, record.filename) == (2011, None, path.name)
    assert record.manifest_sha256 == manifest_sha
    assert record.disclosure_count == 3


def test_one_units_archive(tmp_path, world):
    path, _output = export(tmp_path, year=2011, unit="maoshan")
    assert "-2011-maoshan-" in path.name
    with zipfile.ZipFile(path) as zf:
        assert [row["title"] for row in read_csv(zf)] == ["茅山村草稿"]
    assert ArchiveExport.objects.get().unit == world["maoshan"]


def test_output_may_name_the_file(tmp_path, world):
    target = tmp_path / "2011.zip"
    call_command("export_archive", year=2011, output=target, stdout=io.StringIO())
    assert zipfile.is_zipfile(target)


def test_unknown_unit_is_an_error(tmp_path, world):
    with pytest.raises(CommandError, match="nowhere"):
        export(tmp_path, year=2011, unit="nowhere")


def test_index_html_opens_offline_and_links_the_files(tmp_path, world):
    path, _output = export(tmp_path, year=2011)
    with zipfile.ZipFile(path) as zf:
        index = zf.read("index.html").decode()
        names = set(zf.namelist())
    assert "文理村村道维护资金（更正）" in index
    assert not re.search(r'(src|href)="(https?:)?//', index)
    links = re.findall(r'href="([^"#]+)"', index)
    assert links
    assert set(links) <= names


# Verifying ---------------------------------------------------------------------------


def rewrite(path: Path, target: Path, changes: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            out.writestr(info.filename, changes.get(info.filename, source.read(info)))


def test_verify_archive_passes_on_a_good_file(tmp_path, world):
    path, _output = export(tmp_path, year=2011)
    out = io.StringIO()
    call_command("verify_archive", str(path), stdout=out)
    assert "OK" in out.getvalue()


def test_verify_archive_fails_on_a_changed_file(tmp_path, world):
    path, _output = export(tmp_path, year=2011)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(path) as zf:
        csv_bytes = zf.read("disclosures.csv")
    rewrite(
        path, tampered, {"disclosures.csv": csv_bytes.replace("草稿".encode(), b"X")}
    )
    with pytest.raises(CommandError, match="disclosures.csv"):
        call_command("verify_archive", str(tampered), stdout=io.StringIO())


def test_verify_archive_fails_when_the_manifest_was_rewritten(tmp_path, world):
    path, _output = export(tmp_path, year=2011)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(path) as zf:
        changed = zf.read("index.html") + b"<!-- changed -->"
        manifest = zf.read("MANIFEST.sha256").decode()
    old = hashlib.sha256(zipfile.ZipFile(path).read("index.html")).hexdigest()
    manifest = manifest.replace(old, hashlib.sha256(changed).hexdigest())
    rewrite(
        path,
        tampered,
        {"index.html": changed, "MANIFEST.sha256": manifest.encode()},
    )
    with pytest.raises(CommandError, match="没有导出记录"):
        call_command("verify_archive", str(tampered), stdout=io.StringIO())


def test_verify_archive_fails_on_an_added_file(tmp_path, world):
    path, _output = export(tmp_path, year=2011)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("extra.txt", b"not listed")
    with pytest.raises(CommandError, match="extra.txt"):
        call_command("verify_archive", str(path), stdout=io.StringIO())


def test_verify_archive_against_a_printed_checksum(tmp_path, world):
    path, _output = export(tmp_path, year=2011)
    sha = ArchiveExport.objects.get().manifest_sha256
    ArchiveExport.objects.all().delete()  # another machine, without the record
    call_command("verify_archive", str(path), manifest_sha256=sha, stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command(
            "verify_archive", str(path), manifest_sha256="0" * 64, stdout=io.StringIO()
        )


def test_verify_archive_refuses_a_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="ZIP"):
        call_command("verify_archive", str(path), stdout=io.StringIO())


# Closing a year (admin) --------------------------------------------------------------


def as_user(client, world, who):
    if who != "anonymous":
        client.force_login(world[who])
    return client


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("party_member", 302),
        ("wenli_editor", 403),
        ("reviewer", 403),
        ("town_admin", 302),
    ],
)
def test_only_the_town_admin_closes_a_year(client, world, who, status):
    response = as_user(client, world, who).post(
        ADMIN + "closedyear/add/", {"year": 2011}
    )
    assert response.status_code == status
    closed = ClosedYear.objects.filter(year=2011).first()
    if who == "town_admin":
        assert closed.closed_by == world["town_admin"]
    else:
        assert closed is None


def test_closed_years_list_links_to_the_archive_download(client, world):
    ClosedYear.objects.create(year=2011, closed_by=world["town_admin"])
    client.force_login(world["town_admin"])
    page = client.get(ADMIN + "closedyear/")
    assert page.status_code == 200
    assert f'href="{ADMIN}archiveexport/download/?year=2011"' in page.text


def test_a_year_not_yet_ended_cannot_be_closed(client, world):
    client.force_login(world["town_admin"])
    year = timezone.localdate().year
    response = client.post(ADMIN + "closedyear/add/", {"year": year})
    assert response.status_code == 200
    assert not ClosedYear.objects.exists()


@pytest.mark.parametrize("year", [0, 5, 1948])
def test_a_year_out_of_range_is_refused_in_chinese(client, world, year):
    client.force_login(world["town_admin"])
    response = client.post(ADMIN + "closedyear/add/", {"year": year})
    assert response.status_code == 200
    assert "年份超出范围" in response.text
    assert not ClosedYear.objects.exists()


def test_closed_years_cannot_be_reopened_in_the_admin(client, world):
    closed = ClosedYear.objects.create(year=2011)
    client.force_login(world["town_admin"])
    client.post(f"{ADMIN}closedyear/{closed.pk}/delete/", {"post": "yes"})
    assert ClosedYear.objects.filter(year=2011).exists()


# Sealing -----------------------------------------------------------------------------


def change_form(disclosure, **changes):
    return {
        "unit": disclosure.unit_id,
        "item": disclosure.item_id,
        "title": disclosure.title,
        "body": disclosure.body,
        "period": disclosure.period,
        "scope": disclosure.scope,
        "attachments-TOTAL_FORMS": 0,
        "attachments-INITIAL_FORMS": 0,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
        **changes,
    }


def test_an_editor_cannot_edit_a_sealed_years_draft(client, world):
    draft = world["draft"]
    editor = world["maoshan_editor"]
    assert services.can_edit_content(draft, editor)
    ClosedYear.objects.create(year=2011)
    assert is_sealed(draft)
    assert not services.can_edit_content(draft, editor)
    client.force_login(editor)
    url = f"{ADMIN}disclosure/{draft.pk}/change/"
    response = client.post(url, change_form(draft, title="归档后修改"))
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.title == "茅山村草稿"


def test_other_years_stay_editable(world):
    ClosedYear.objects.create(year=2010)
    draft = world["draft"]
    assert not is_sealed(draft)
    assert services.can_edit_content(draft, world["maoshan_editor"])


def test_town_admins_change_to_a_sealed_year_is_a_public_correction(client, world):
    notice = world["notice"]
    ClosedYear.objects.create(year=2011)
    client.force_login(world["town_admin"])
    url = f"{ADMIN}disclosure/{notice.pk}/change/"
    response = client.post(url, change_form(notice, body="更正后的正文"))
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.body == "更正后的正文"
    assert notice.corrected_at is not None
    assert notice.events.filter(action=DisclosureEvent.Action.CORRECTED).exists()


# Downloading from the admin ----------------------------------------------------------

DOWNLOAD = ADMIN + "archiveexport/download/"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("party_member", 302),
        ("wenli_editor", 403),
        ("reviewer", 403),
        ("town_admin", 200),
    ],
)
def test_only_the_town_admin_downloads_an_archive(client, world, tmp_path, who, status):
    client = as_user(client, world, who)
    assert client.get(DOWNLOAD).status_code == status
    response = client.post(DOWNLOAD, {"year": 2011})
    assert response.status_code == status
    if who == "town_admin":
        assert response["Content-Type"] == "application/zip"
        record = ArchiveExport.objects.get()
        assert record.created_by == world["town_admin"]
        assert record.filename in response["Content-Disposition"]
        path = tmp_path / record.filename
        path.write_bytes(b"".join(response.streaming_content))
        with zipfile.ZipFile(path) as zf:
            assert len(read_csv(zf)) == 3
        call_command("verify_archive", str(path), stdout=io.StringIO())
    else:
        assert not ArchiveExport.objects.exists()


def test_archive_exports_are_listed_for_the_town_admin_only(client, world, tmp_path):
    export(tmp_path, year=2011)
    client.force_login(world["town_admin"])
    page = client.get(ADMIN + "archiveexport/")
    assert page.status_code == 200
    assert ArchiveExport.objects.get().manifest_sha256 in page.text
    client.force_login(world["reviewer"])
    assert client.get(ADMIN + "archiveexport/").status_code == 403


def test_a_closed_year_takes_no_new_disclosures_or_submissions(client):
    from disclosure import roles, services
    from disclosure.models import ClosedYear, Disclosure
    from tests.factories import DisclosureFactory, ItemFactory, TownFactory, UnitFactory
    from tests.factories import staff_user as make_staff

    wenli = UnitFactory(name="文理村", parent=TownFactory())
    editor = make_staff(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    item = ItemFactory()
    old_draft = DisclosureFactory(
        unit=wenli, item=item, period="2011-09", status="draft", published_at=None
    )
    ClosedYear.objects.create(year=2011)
    with pytest.raises(ValidationError):
        services.submit(old_draft, by=editor)
    client.force_login(editor)
    form = {
        "unit": wenli.pk,
        "item": item.pk,
        "title": "补录2011年内容",
        "body": "正文",
        "period": "2011-10",
        "scope": "public",
        "attachments-TOTAL_FORMS": 0,
        "attachments-INITIAL_FORMS": 0,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
    }
    response = client.post("/admin/disclosure/disclosure/add/", form)
    assert response.status_code == 200
    assert "该年度已归档" in response.text
    assert not Disclosure.objects.filter(title="补录2011年内容").exists()


def test_a_title_that_looks_like_a_formula_is_inert_in_the_csv(tmp_path, world):
    world["notice"].title = '=HYPERLINK("http://x")'
    world["notice"].save()
    path, _output = export(tmp_path, year=2011)
    with zipfile.ZipFile(path) as zf:
        titles = [row["title"] for row in read_csv(zf)]
        data = json.loads(zf.read("disclosures.json"))
    assert '\'=HYPERLINK("http://x")' in titles
    # The record itself keeps the title exactly as published.
    assert any(d["title"] == '=HYPERLINK("http://x")' for d in data["disclosures"])


def test_the_archive_records_whose_branch_and_from_when_public(tmp_path, world):
    branch_item = ItemFactory(code="B04", scope=Scope.BRANCH)
    DisclosureFactory(
        unit=world["notice"].unit,
        item=branch_item,
        title="文理村党支部三会一课",
        published_at=PUBLISHED_2011,
    )
    path, _output = export(tmp_path, year=2011)
    with zipfile.ZipFile(path) as zf:
        rows = {row["title"]: row for row in read_csv(zf)}
    assert rows["文理村党支部三会一课"]["scope"] == "党组织内部公开"
    assert rows["文理村党支部三会一课"]["branch"] == "文理村党支部"
    assert rows["文理村村道维护资金（更正）"]["branch"] == ""

"""Yearly archives (统一公开资料档案): closing a year, and the archive file.

A closed year is sealed: `is_sealed` is the rule `services.can_edit_content`
applies. `write_archive` builds one ZIP (used by `manage.py export_archive` and
the admin's download); `verify_archive` checks one. The ZIP holds every
disclosure of the year, all scopes and states (it is the internal record), with
its event trail and history, the attachment files, an index.html that opens
offline, and MANIFEST.sha256 in `sha256sum` format. The SHA-256 of the manifest
is recorded in ArchiveExport, so a copy can be shown to be unaltered.
"""

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import BinaryIO

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import periods
from core.security import spreadsheet_safe

from .models import (
    ArchiveExport,
    Attachment,
    ClosedYear,
    Disclosure,
    DisclosureTable,
    Unit,
)

MANIFEST = "MANIFEST.sha256"
CHUNK = 1024 * 1024

# Sealing ----------------------------------------------------------------------


def disclosure_year(disclosure: Disclosure) -> int | None:
    if disclosure.period_start:
        return disclosure.period_start.year
    try:
        return periods.Period.parse(disclosure.period).year
    except periods.InvalidPeriod:
        return None


def is_sealed(disclosure: Disclosure) -> bool:
    """True when the disclosure's period falls in a closed year."""
    year = disclosure_year(disclosure)
    return year is not None and ClosedYear.objects.filter(year=year).exists()


# Writing ----------------------------------------------------------------------

CSV_COLUMNS = [
    "id",
    "index_number",
    "unit",
    "unit_slug",
    "catalog",
    "category",
    "item_code",
    "item",
    "title",
    "body",
    "period",
    "period_label",
    "period_start",
    "period_end",
    "event_date",
    "scope",
    "branch",
    "public_from",
    "status",
    "is_nil_return",
    "published_at",
    "display_until",
    "posted_on",
    "taken_down_on",
    "corrected_at",
    "withdrawn_at",
    "withdrawal_reason",
    "created_at",
    "updated_at",
    "events",
    "history_versions",
    "attachments",
    "tables",
]

Progress = Callable[[Iterable, int], Iterable]


@dataclass
class _Zip:
    """A ZIP being written that remembers each member's SHA-256."""

    zf: zipfile.ZipFile
    stamp: tuple
    sums: dict[str, str] = field(default_factory=dict)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def write_bytes(self, name: str, data: bytes) -> None:
        self.zf.writestr(self._info(name), data)
        self.sums[name] = hashlib.sha256(data).hexdigest()

    def write_stream(self, name: str, source: BinaryIO) -> None:
        digest = hashlib.sha256()
        with self.zf.open(self._info(name), "w") as target:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                target.write(chunk)
        self.sums[name] = digest.hexdigest()


def archive_filename(year: int, unit: Unit | None, at: datetime) -> str:
    scope = f"-{unit.slug}" if unit else ""
    return f"fengming-archive-{year}{scope}-{timezone.localtime(at):%Y%m%d-%H%M%S}.zip"


def archive_queryset(year: int, unit: Unit | None = None):
    """Every disclosure of the year, all scopes and states: not visible_to,
    because the archive is the office's record, never a public page."""
    qs = (
        Disclosure.objects.filter(period_start__year=year)
        .select_related(
            "unit",
            "item__category__catalog",
            "created_by",
            "submitted_by",
            "branch__unit",
        )
        .prefetch_related("forms", "attachments", "tables", "events__actor")
        .order_by("unit__order", "unit_id", "period_start", "item__code", "id")
    )
    return qs.filter(unit=unit) if unit else qs


def _username(user) -> str:
    return user.get_username() if user else ""


def _attachment_name(attachment: Attachment) -> str:
    suffix = PurePosixPath(attachment.file.name).suffix.lower()
    disclosure = attachment.disclosure
    return f"attachments/{disclosure.unit.slug}/{disclosure.pk}/{attachment.pk}{suffix}"


def _table_name(table: DisclosureTable, disclosure: Disclosure) -> str:
    suffix = PurePosixPath(table.file.name).suffix.lower()
    return f"tables/{disclosure.unit.slug}/{disclosure.pk}/{table.pk}{suffix}"


def _history_by_disclosure(ids: list[int]) -> dict[int, list[dict]]:
    history_model = Disclosure.history.model
    skip = {"history_user", "history_relation"}
    names = [f for f in history_model._meta.concrete_fields if f.name not in skip]
    versions: dict[int, list[dict]] = {}
    rows = (
        history_model.objects.filter(id__in=ids)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    for row in rows:
        version = {f.attname: f.value_from_object(row) for f in names}
        version["history_user"] = _username(row.history_user)
        versions.setdefault(row.id, []).append(version)
    return versions


def _record(
    disclosure: Disclosure, history: list[dict], files: dict, tables: dict
) -> dict:
    item = disclosure.item
    return {
        "id": disclosure.pk,
        "index_number": disclosure.index_number or "",
        "unit": disclosure.unit.name,
        "unit_slug": disclosure.unit.slug,
        "catalog": item.category.catalog.get_kind_display(),
        "category": f"{item.category.code} {item.category.name}",
        "item_code": item.code,
        "item": item.name,
        "title": disclosure.title,
        "body": disclosure.body,
        "period": disclosure.period,
        "period_label": disclosure.period_label,
        "period_start": disclosure.period_start,
        "period_end": disclosure.period_end,
        "event_date": disclosure.event_date,
        "scope": disclosure.get_scope_display(),
        "scope_code": disclosure.scope,
        # 党组织内部: whose; 先党内后党外: from when the public may read it.
        "branch": disclosure.branch.full_name if disclosure.branch_id else "",
        "public_from": disclosure.public_from,
        "status": disclosure.get_status_display(),
        "status_code": disclosure.status,
        "is_nil_return": disclosure.is_nil_return,
        "forms": [form.name for form in disclosure.forms.all()],
        "published_at": disclosure.published_at,
        "display_until": disclosure.display_until,
        "posted_on": disclosure.posted_on,
        "taken_down_on": disclosure.taken_down_on,
        "corrected_at": disclosure.corrected_at,
        "withdrawn_at": disclosure.withdrawn_at,
        "withdrawal_reason": disclosure.withdrawal_reason,
        "created_at": disclosure.created_at,
        "created_by": _username(disclosure.created_by),
        "submitted_by": _username(disclosure.submitted_by),
        "updated_at": disclosure.updated_at,
        "events": [
            {
                "at": event.at,
                "action": event.action,
                "action_label": event.get_action_display(),
                "from_status": event.from_status,
                "to_status": event.to_status,
                "acting_body": event.acting_body,
                "actor": _username(event.actor),
                "comment": event.comment,
                "secrecy_reviewed": event.secrecy_reviewed,
                "secrecy_conclusion": event.secrecy_conclusion,
                "migrated": event.migrated,
            }
            for event in disclosure.events.all()
        ],
        "history": history,
        "attachments": [files[a.pk] for a in disclosure.attachments.all()],
        "tables": [tables[t.pk] for t in disclosure.tables.all()],
    }


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    # records.json keeps the text exactly; the CSV is for spreadsheets.
    return spreadsheet_safe(value)


def _csv(records: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for record in records:
        row = {
            **record,
            "events": len(record["events"]),
            "history_versions": len(record["history"]),
            "attachments": ";".join(
                a["path"] or "" for a in record["attachments"] if a["path"]
            ),
            "tables": ";".join(t["path"] for t in record["tables"] if t["path"]),
        }
        writer.writerow([_csv_value(row[name]) for name in CSV_COLUMNS])
    # With a BOM, so that a spreadsheet opens the Chinese text correctly.
    return out.getvalue().encode("utf-8-sig")


def write_archive(
    target: BinaryIO,
    *,
    year: int,
    unit: Unit | None = None,
    by: AbstractBaseUser | None = None,
    filename: str = "",
    progress: Progress | None = None,
) -> tuple[ArchiveExport, list[str]]:
    """Write the year's archive ZIP into `target` and record its manifest's
    checksum. Returns the record and warnings (e.g. a missing attachment file)."""
    now = timezone.now()
    filename = filename or archive_filename(year, unit, now)
    disclosures = list(archive_queryset(year, unit))
    history = _history_by_disclosure([d.pk for d in disclosures])
    warnings: list[str] = []
    files: dict[int, dict] = {}
    tables: dict[int, dict] = {}
    stamp = timezone.localtime(now).timetuple()[:6]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        archive = _Zip(zf, stamp)
        steps = progress(disclosures, len(disclosures)) if progress else disclosures
        for disclosure in steps:
            for attachment in disclosure.attachments.all():
                attachment.disclosure = disclosure
                entry = {
                    "id": attachment.pk,
                    "kind": attachment.get_kind_display(),
                    "title": attachment.title,
                    "content_type": attachment.content_type,
                    "size": attachment.size,
                    "path": None,
                }
                name = _attachment_name(attachment)
                try:
                    with attachment.file.open("rb") as source:
                        archive.write_stream(name, source)
                except (FileNotFoundError, ValueError):
                    warnings.append(
                        _("附件文件缺失：%(file)s（公开内容 %(id)s）")
                        % {"file": attachment.file.name, "id": disclosure.pk}
                    )
                else:
                    entry["path"] = name
                    entry["sha256"] = archive.sums[name]
                files[attachment.pk] = entry
            for table in disclosure.tables.all():
                tables[table.pk] = _archive_table(archive, table, disclosure, warnings)
        records = [
            _record(d, history.get(d.pk, []), files, tables) for d in disclosures
        ]
        archive.write_bytes("disclosures.csv", _csv(records))
        archive.write_bytes(
            "disclosures.json",
            json.dumps(
                {
                    "year": year,
                    "unit": unit.slug if unit else None,
                    "exported_at": now,
                    "disclosures": records,
                },
                cls=DjangoJSONEncoder,
                ensure_ascii=False,
                indent=1,
            ).encode(),
        )
        # The index shows each table as the public page does (not in the JSON).
        for record, disclosure in zip(records, disclosures, strict=True):
            record["tables_html"] = [
                render_to_string(
                    "disclosure/includes/disclosure_table.html", {"table": table}
                )
                for table in disclosure.tables.all()
            ]
        index = render_to_string(
            "disclosure/archive_index.html",
            {
                "year": year,
                "unit": unit,
                "records": records,
                "exported_at": now,
                "warnings": warnings,
            },
        )
        archive.write_bytes("index.html", index.encode())
        manifest = "".join(
            f"{digest}  {name}\n" for name, digest in sorted(archive.sums.items())
        ).encode()
        zf.writestr(archive._info(MANIFEST), manifest)
    record = ArchiveExport.objects.create(
        year=year,
        unit=unit,
        filename=filename,
        manifest_sha256=hashlib.sha256(manifest).hexdigest(),
        disclosure_count=len(disclosures),
        created_at=now,
        created_by=by,
    )
    return record, warnings


def _archive_table(
    archive: _Zip, table: DisclosureTable, disclosure: Disclosure, warnings: list
) -> dict:
    """A table's checked cells for the JSON, and its original file in the ZIP."""
    entry = {
        "id": table.pk,
        "caption": table.caption_text,
        "uploaded_at": table.uploaded_at,
        "data": table.data,
        "path": None,
        "versions": table.history.count(),
    }
    name = _table_name(table, disclosure)
    try:
        with table.file.open("rb") as source:
            archive.write_stream(name, source)
    except (FileNotFoundError, ValueError):
        warnings.append(
            _("表格原文件缺失：%(file)s（公开内容 %(id)s）")
            % {"file": table.file.name, "id": disclosure.pk}
        )
    else:
        entry["path"] = name
        entry["sha256"] = archive.sums[name]
    return entry


# Verifying --------------------------------------------------------------------


@dataclass
class Verification:
    manifest_sha256: str = ""
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    export: ArchiveExport | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _member_sha256(zf: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with zf.open(name) as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_archive(source, *, expected_manifest_sha256: str = "") -> Verification:
    """Recompute every checksum; compare the manifest's with the recorded one
    (or with `expected_manifest_sha256`, e.g. one printed at export)."""
    result = Verification()
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        result.problems.append(_("不是有效的 ZIP 文件：%(err)s") % {"err": exc})
        return result
    with zf:
        names = {info.filename for info in zf.infolist() if not info.is_dir()}
        if MANIFEST not in names:
            result.problems.append(_("档案中没有 %(m)s。") % {"m": MANIFEST})
            return result
        manifest = zf.read(MANIFEST)
        result.manifest_sha256 = hashlib.sha256(manifest).hexdigest()
        listed: dict[str, str] = {}
        for number, line in enumerate(manifest.decode("utf-8").splitlines(), 1):
            digest, sep, name = line.partition("  ")
            if not sep or len(digest) != 64:
                result.problems.append(_("清单第 %(n)d 行格式不正确。") % {"n": number})
                continue
            listed[name] = digest
        for name, digest in sorted(listed.items()):
            if name not in names:
                result.problems.append(_("清单中的文件缺失：%(f)s") % {"f": name})
            elif _member_sha256(zf, name) != digest:
                result.problems.append(_("校验值不符：%(f)s") % {"f": name})
            else:
                result.checked += 1
        for name in sorted(names - set(listed) - {MANIFEST}):
            result.problems.append(_("清单中没有的文件：%(f)s") % {"f": name})
    if expected_manifest_sha256:
        if expected_manifest_sha256.strip().lower() != result.manifest_sha256:
            result.problems.append(_("清单的校验值与给定的值不符。"))
    else:
        result.export = ArchiveExport.objects.filter(
            manifest_sha256=result.manifest_sha256
        ).first()
        if result.export is None:
            result.problems.append(
                _(
                    "清单的校验值 %(sha)s 没有导出记录："
                    "档案被改动过，或不是本系统生成的。"
                )
                % {"sha": result.manifest_sha256}
            )
    return result

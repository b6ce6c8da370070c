"""Read the JSON data files that ship beside an app's code (the demo town, the
demo 回音壁) and check their shape.

A file that does not hold what its loader expects stops the load with an error
naming the file, the list and the entry (its position and name), rather than a
KeyError deep inside a seeding loop.
"""

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path


class DataFileError(ValueError):
    pass


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataFileError(f"{source_name(path)}: {error}") from None
    if not isinstance(data, dict):
        raise DataFileError(f"{source_name(path)}: must hold a JSON object")
    return data


def source_name(path: Path) -> str:
    # app/data/file.json: short enough for a message, enough to find the file.
    return "/".join(path.parts[-3:])


def entries(
    data: dict,
    key: str,
    *,
    source: str,
    required: Iterable[str],
    optional: Iterable[str] = (),
    label: str = "title",
) -> list[tuple[str, dict]]:
    """data[key] as (where, entry) pairs, `where` naming the entry for later
    messages; every entry is an object with each required key and no other
    than the optional ones (a misspelt key is an error, not a silent default)."""
    rows = data.get(key)
    if not isinstance(rows, list):
        raise DataFileError(f"{source}: {key!r} must be a list")
    required, allowed = list(required), {*required, *optional}
    checked = []
    for index, row in enumerate(rows):
        name = row.get(label) if isinstance(row, dict) else None
        where = f"{source}: {key}[{index}]" + (f" {name!r}" if name else "")
        if not isinstance(row, dict):
            raise DataFileError(f"{where}: must be an object")
        if missing := [k for k in required if k not in row]:
            raise DataFileError(f"{where}: missing key {', '.join(map(repr, missing))}")
        if unknown := sorted(set(row) - allowed):
            raise DataFileError(f"{where}: unknown key {', '.join(map(repr, unknown))}")
        checked.append((where, row))
    return checked


def require(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise DataFileError(f"{where}: {message}")


def iso_date(value: object, where: str, key: str) -> date:
    """A YYYY-MM-DD string, as the files write dates."""
    try:
        return date.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataFileError(
            f"{where}: {key} must be a date as YYYY-MM-DD, not {value!r}"
        ) from None


def one_of(value: object, choices: Iterable[str], where: str, key: str) -> None:
    choices = list(choices)
    require(
        value in choices,
        where,
        f"{key} must be one of {', '.join(map(repr, choices))}, not {value!r}",
    )

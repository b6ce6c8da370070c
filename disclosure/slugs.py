"""Pinyin slugs for units: 文理村 -> wenli, 凤鸣镇 -> fengming."""

from django.utils.text import slugify
from pypinyin import lazy_pinyin, load_phrases_dict

# Readings that place names use and pypinyin's general dictionary gets wrong.
load_phrases_dict({"朝阳": [["cháo"], ["yáng"]], "都坝": [["dū"], ["bà"]]})

# Suffixes dropped from the slug, longest first; kept as a tiebreaker on clashes.
SUFFIXES = ("街道", "社区", "村", "镇", "乡", "县")

# Fixed words of URLs that take a unit's slug in the same place
# (composition/urls.py: /reports/gov/<year>/ beside /reports/<town>/<year>/):
# a unit named 共 (gong) is fine, one whose slug were "gov" would lose its
# 党务 report's address to the 政府信息公开 report.
RESERVED = frozenset({"gov", "pdf", "guide", "affairs"})


def is_reserved(slug: str) -> bool:
    return slug in RESERVED


def split_suffix(name: str) -> tuple[str, str]:
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def pinyin_slug(text: str) -> str:
    return slugify("".join(lazy_pinyin(text))) or "unit"


def candidate_slugs(name: str, parent_slug: str = ""):
    """Slugs to try in order until one is free; never a `RESERVED` word."""
    for slug in _candidates(name, parent_slug):
        if not is_reserved(slug):
            yield slug


def _candidates(name: str, parent_slug: str):
    stem, suffix = split_suffix(name.strip())
    base = pinyin_slug(stem)
    yield base
    if suffix:
        yield f"{base}-{pinyin_slug(suffix)}"
    if parent_slug:
        yield f"{parent_slug}-{base}"
    n = 2
    while True:
        yield f"{base}-{n}"
        n += 1

"""What a page or figure is with nothing kept: the comparison every test of
kept values ends with (kept == read afresh)."""

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.http import QueryDict
from django.utils import timezone

from core import caching
from disclosure import page_scopes

T = TypeVar("T")


def nothing_kept(settings, read: Callable[[], T]) -> T:
    """`read()` with the value cache off (every figure counted afresh), the
    setting put back after."""
    kept = settings.VALUE_CACHE_SECONDS
    settings.VALUE_CACHE_SECONDS = 0
    try:
        return read()
    finally:
        settings.VALUE_CACHE_SECONDS = kept


def flushed() -> None:
    """As after a deployment or a restart of Redis: no value kept."""
    cache.clear()
    caching.reset_local()
    page_scopes.forget_slugs()


def wall_counts(query: str = "") -> dict:
    """The 回音壁's counts under `query`'s filters, counted afresh."""
    from feedback import kept_counts
    from feedback.filters import SubmissionFilter

    found = SubmissionFilter(QueryDict(query), queryset=kept_counts.cases("wall"))
    assert found.is_valid(), query
    return found.qs.summary()


def recounted(selection: str) -> dict[int, dict]:
    """Every unit's counts of `selection` counted afresh, as rows keep them."""
    from feedback import kept_counts

    found = kept_counts.cases(selection).summary_parts(by_unit=True, today=False)
    return {unit: kept_counts.plain_part(part) for unit, part in found.items()}


def a_round_of(case, **fields):
    """An earlier round of the case, answered and rated 不满意 (a row saved
    alone, no service: its row event names the case's unit)."""
    from feedback.models import AnswerRound

    return AnswerRound.objects.create(
        submission=case,
        number=1,
        due_date=timezone.localdate(),
        answer_text="已答复",
        answered_at=timezone.now(),
        rating="unsatisfied",
        **fields,
    )

"""The page cache's scopes of a 回音壁 case (core.content, disclosure.page_scopes).

A case shows on its unit's board (the 回音壁 column) and on the page of the
disclosure that answered it (`fulfilled_by`), where it is now or was when
loaded; every page naming no scope (the wall, its own page, the home page)
follows any change. "wall" (any case) and "submission:<pk>" (this one) are
named too, for pages and kept figures that read only cases.
"""

from disclosure.page_scopes import unit_scopes

from .models import Submission


def submission_scopes(event) -> list[str] | None:
    row = event.instance
    cases = ["wall", *(f"submission:{pk}" for pk in event.ids)]
    if not isinstance(row, Submission):
        rows = Submission.objects.filter(pk__in=event.ids).values_list(
            "unit_id", "fulfilled_by_id"
        )
        units = [unit for unit, _ in rows]
        answered = [pk for _, pk in rows]
    else:
        loaded_unit, loaded_answer = getattr(row, "_loaded_scope", (None, None))
        units = [row.unit_id, loaded_unit]
        answered = [row.fulfilled_by_id, loaded_answer]
    disclosures = [f"disclosure:{pk}" for pk in set(answered) - {None}]
    return cases + unit_scopes(units) + disclosures

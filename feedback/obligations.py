"""点题公开 requests as compliance obligations: a request accepted (受理)
obliges its unit to disclose what was asked for, by the answer deadline the
回音壁 shows (`Submission.due_date`, set by services.set_deadlines: one rule).

Registered with the compliance engine (disclosure/compliance.py,
`register_requests`) in FeedbackConfig.ready(): disclosure, a layer below,
never imports feedback.
"""

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from catalog.models import Item
from core import compiled
from core.dates import FIRST_YEAR, LAST_YEAR
from disclosure.compliance import RequestSpec
from disclosure.models import Disclosure, published_q

from .models import PUBLISHED, Kind, Submission


def accepted_requests(unit_ids: list[int], year: int) -> list[RequestSpec]:
    """The requests of these units accepted in `year` (local time), hidden
    ones too: one query whatever their number. Their title only where the
    wall publishes it (`published()`); never the submitter's name or phone."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        # No case is received outside them (core.dates), and a year's bounds
        # in local time would overflow a date-time near year 1 or 9999.
        return []
    # The catalog's item for 点题 answers (F02) counts them; without it, the
    # item the case is about, else the one of the disclosure answering it.
    # Codes are unique: no order (the catalog's would join its categories
    # and catalogs, rows the kept requests do not follow: page_scopes.FILED).
    request_item = Item.objects.filter(
        code=settings.FEEDBACK_REQUEST_ITEM_CODE
    ).order_by()
    detail_url = url_of("feedback:detail")
    admin_url = url_of("admin:feedback_submission_change")
    # Whether the wall publishes a row, and whether its answer is out, as
    # conditions on the row and its join (not EXISTS subqueries: building
    # two subqueries cost almost half of building this query).
    # NULL (no answer joined) reads as no.

    def build(at, *keys):
        return (
            Submission.objects.filter(
                kind=Kind.REQUEST,
                unit_id__in=keys,
                accepted_at__isnull=False,
                accepted_at__year=year,
            )
            .annotate(
                counted_as=Coalesce(
                    Subquery(request_item.values("pk")[:1]),
                    "item_id",
                    "fulfilled_by__item_id",
                ),
                public=ExpressionWrapper(PUBLISHED, output_field=BooleanField()),
                disclosed=ExpressionWrapper(
                    published_q(at, via="fulfilled_by__"),
                    output_field=BooleanField(),
                ),
            )
            .order_by()
            .values_list(
                "pk",
                "unit_id",
                "counted_as",
                "accepted_at",
                "due_date",
                "fulfilled_by_id",
                "fulfilled_by__published_at",
                "fulfilled_by__status",
                "disclosed",
                "refusal_reason",
                "answered_at",
                "title",
                "public",
            )
        )

    # Its SQL kept (core.compiled), the units its parameters: a unit's rows
    # counted again built and compiled it each time, for a query of 0.4 ms.
    rows = compiled.rows(
        Submission,
        ("compliance-requests", year, settings.FEEDBACK_REQUEST_ITEM_CODE),
        build,
        keys=sorted(set(unit_ids)),
    )
    return [
        RequestSpec(
            id=pk,
            unit_id=unit_id,
            item_id=item_id,
            accepted_on=timezone.localdate(accepted_at),
            due=due,
            disclosure_id=disclosure_id,
            disclosed_on=timezone.localdate(published_at) if disclosed else None,
            refused_on=(
                timezone.localdate(answered_at)
                if refusal_reason and answered_at
                else None
            ),
            title=title if public else "",
            url=detail_url(pk) if public else "",
            admin_url=admin_url(pk),
            # Published, not out yet: the request is met then, with no save.
            answer_due=(
                published_at
                if status == Disclosure.Status.PUBLISHED and not disclosed
                else None
            ),
        )
        for (
            pk,
            unit_id,
            item_id,
            accepted_at,
            due,
            disclosure_id,
            published_at,
            status,
            disclosed,
            refusal_reason,
            answered_at,
            title,
            public,
        ) in rows
    ]


def answering_units(unit_ids: list[int]) -> list[int]:
    """The units whose disclosures answer (`fulfilled_by`) 点题 requests of
    these units, in any year: one query (compliance.answering_units)."""
    return list(
        Submission.objects.filter(
            kind=Kind.REQUEST, unit_id__in=unit_ids, fulfilled_by__isnull=False
        )
        .order_by()
        .values_list("fulfilled_by__unit_id", flat=True)
        .distinct()
    )


# A number no URL of ours holds but where the pk goes.
_PK = 918273645546372819


def url_of(name: str):
    """`reverse(name, args=[pk])` for many rows: reversed once (about 70 µs a
    call, two a row), the pk written in."""
    head, found, tail = reverse(name, args=[_PK]).partition(str(_PK))
    assert found and str(_PK) not in tail, name
    return lambda pk: f"{head}{int(pk)}{tail}"

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from catalog.models import Scope
from core import caching, compiled
from core.pagination import BadPage, paginate
from core.security import security_event
from disclosure.models import Disclosure, Reader, Unit

from . import antiabuse, kept_counts, services
from .confidential import discipline_body
from .filters import SubmissionFilter
from .forms import RatingForm, SubmissionForm, TrackForm
from .models import Submission, normalize_tracking_code
from .summary import filter_shape, wall_summary

# The thanks page's tracking code, in a signed cookie rather than the session:
# no session row to write on the busiest POST.
THANKS_COOKIE = "feedback_thanks"
THANKS_COOKIE_SALT = "feedback.thanks"
THANKS_COOKIE_MAX_AGE = 24 * 3600


# Submitting ------------------------------------------------------------------

FORM_TEMPLATE = "feedback/submission_form.html"


def submission_create(request):
    if request.method != "POST":
        form = SubmissionForm(initial=_preset(request), user=request.user)
        return render(request, FORM_TEMPLATE, {"form": form})
    form = SubmissionForm(request.POST, user=request.user)
    if not form.is_valid():
        form.prepare_retry()
        return render(request, FORM_TEMPLATE, {"form": form})
    key = antiabuse.client_key(request)
    limit = antiabuse.submissions()
    # Counted before the submission is saved, in one atomic step: concurrent
    # posts cannot all pass a check that none of them has counted yet. A
    # resent form (same one-time token) is counted once.
    slot = limit.take_once(key, form.form_token)
    if slot is None:
        security_event("rate_limited", request, form="feedback")
        form.prepare_retry()
        context = {"form": form, "rate_limited": True}
        return render(request, FORM_TEMPLATE, context, status=429)
    try:
        submission, created = services.submit(
            data=form.submission_data(),
            client_key=key,
            form_token=form.form_token,
            by=request.user,
        )
    except services.FormAlreadySent as sent:
        # Back to a form already sent, with another matter on it: kept, on a
        # fresh form (a new question; the time it was first shown stays).
        slot.give_back()
        form.add_error(
            None,
            _(
                "这张表已经提交过（查询码 %(code)s）。如果还有另一件事要反映，"
                "请回答下面新的验证问题后再提交，您填写的内容已保留。"
            )
            % {"code": sent.submission.tracking_code},
        )
        form.prepare_retry(token_spent=True)
        return render(request, FORM_TEMPLATE, {"form": form})
    except Exception:
        # Nothing was saved (the database went away): the resident's retry
        # must not find their own failed attempt counted against them.
        slot.give_back()
        raise
    if not created:
        slot.give_back()
        messages.info(request, _("这条意见已经收到，无需重复提交。"))
        return redirect(submission.get_tracking_url())
    response = redirect("feedback:thanks")
    response.set_signed_cookie(
        THANKS_COOKIE,
        submission.tracking_code,
        salt=THANKS_COOKIE_SALT,
        max_age=THANKS_COOKIE_MAX_AGE,
        path=reverse("feedback:thanks"),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _preset(request) -> dict:
    """?unit=<slug> or ?disclosure=<id> from a board or a disclosure's page."""
    initial = {}
    slug = request.GET.get("unit", "")[:60]
    unit = Unit.objects.filter(slug=slug).first() if slug else None
    if unit:
        initial["unit"] = unit.slug
    disclosure_id = request.GET.get("disclosure", "")
    if disclosure_id.isdigit():
        disclosure = (
            Disclosure.objects.visible_to(request.user)
            .select_related("unit")
            .filter(pk=disclosure_id)
            .first()
        )
        if disclosure:
            initial.update(
                disclosure=disclosure.pk,
                unit=disclosure.unit.slug,
                item=disclosure.item_id,
            )
    return initial


def submission_thanks(request):
    code = request.get_signed_cookie(
        THANKS_COOKIE, None, salt=THANKS_COOKIE_SALT, max_age=THANKS_COOKIE_MAX_AGE
    )
    if not code:
        return redirect("feedback:track")
    submission = Submission.objects.filter(tracking_code=code).first()
    if submission is None:
        return redirect("feedback:track")
    context = {"submission": submission}
    if submission.is_confidential:
        body = discipline_body(submission.unit)
        context["discipline_body"] = body.full_name if body else None
    return render(request, "feedback/submission_thanks.html", context)


# Tracking --------------------------------------------------------------------


def track(request):
    form = TrackForm(request.GET or None)
    if form.is_valid():
        return redirect("feedback:track_code", code=form.cleaned_data["code"])
    return render(request, "feedback/track_form.html", {"form": form})


def track_code(request, code):
    """The submitter's own view: status, answer and the rating form."""
    key = antiabuse.client_key(request)
    misses = antiabuse.tracking_misses()
    if misses.is_over(key):
        return _tracking_throttled(request, code, misses)
    submission = (
        Submission.objects.with_related()
        .filter(tracking_code=normalize_tracking_code(code))
        .first()
    )
    if submission is None:
        # Counted and compared in one step: guesses that passed the check above
        # together (on several workers) cannot all get an answer.
        if not misses.take(key):
            return _tracking_throttled(request, code, misses)
        security_event("tracking_code_miss", request)
        form = TrackForm(initial={"code": code[:20]})
        context = {"form": form, "not_found": True}
        return render(request, "feedback/track_form.html", context, status=404)
    rating_form = None
    if submission.can_be_rated:
        rating_form = RatingForm(request.POST or None)
        if request.method == "POST" and rating_form.is_valid():
            try:
                services.rate(
                    submission,
                    rating=rating_form.cleaned_data["rating"],
                    comment=rating_form.cleaned_data["comment"],
                )
            except ValidationError:
                # A second click, overtaken by the first one's rating.
                messages.info(request, _("这条答复已经评价过，或尚未答复。"))
            else:
                messages.success(request, _("感谢您的评价。"))
            return redirect(submission.get_tracking_url())
    elif request.method == "POST":
        messages.info(request, _("这条答复已经评价过，或尚未答复。"))
        return redirect(submission.get_tracking_url())
    context = {
        "submission": submission,
        "rating_form": rating_form,
        "fulfilled_by": _visible_disclosure(request, submission.fulfilled_by_id),
    }
    return render(request, "feedback/submission_track.html", context)


def _tracking_throttled(request, code: str, misses):
    security_event("tracking_throttled", request)
    form = TrackForm(initial={"code": code[:20]})
    minutes = max(1, misses.period // 60)
    context = {"form": form, "throttled": True, "throttle_minutes": minutes}
    return render(request, "feedback/track_form.html", context, status=429)


def _visible_disclosure(request, pk: int | None) -> Disclosure | None:
    if pk is None:
        return None
    return Disclosure.objects.visible_to(request.user).filter(pk=pk).first()


# The wall --------------------------------------------------------------------


# What a wall card's key reads (wall_tags.wall_cards, names_shown).
CARD_KEYS = (
    "id",
    "status",
    "fulfilled_by_id",
    "unit_id",
    "answering_body_id",
    "tag_id",
    "answered_by_id",
)


def _unit_alone(cleaned: dict) -> bool:
    """No filter but the unit: the wall's selection as feedback.kept_counts
    keeps it (a date range left empty is a slice of nothing)."""

    def empty(value) -> bool:
        if isinstance(value, slice):
            return value.start is None and value.stop is None
        return value in (None, "", [], ())

    return all(empty(value) for name, value in cleaned.items() if name != "unit")


def wall(request):
    # The figures count every case received (those waiting to be read too);
    # the list shows what staff have accepted or answered. A 举报 not even
    # counted: filtered down to a village and a day, the count would point at
    # who reported (the yearly statistics count it).
    f = SubmissionFilter(
        request.GET,
        queryset=kept_counts.cases("wall"),
    )
    context = {"filter": f, "page": None, "bad_page": False, "summary": None}
    if not f.is_valid():
        return render(request, "feedback/submission_list.html", context, status=400)
    # A summary over every matching row: kept per unit between requests.
    # What the selection is a function of (its kept SQL's shape).
    # A unit's 回音壁 (linked from its board) and the cases under 督办 (from
    # the wall's figures) are pages of their own, not chosen (compiled.CHOSEN).
    shape = filter_shape(
        "wall",
        f.form.cleaned_data,
        linked=compiled.linked(request.GET, "unit", "escalated"),
    )
    context["summary"] = wall_summary(
        f.qs,
        caching.selection(request),
        unit=f.form.cleaned_data.get("unit"),
        shape=shape,
        # Unfiltered, or filtered to a unit alone: each unit's counts are
        # kept in the database too (they outlive a flush of the cache).
        kept="wall" if _unit_alone(f.form.cleaned_data) else None,
    )
    try:
        page = paginate(
            request,
            # Which cases, in order, and the names their cards show: the
            # cards are kept (wall_tags), and a wide row with seven joins
            # costs more to plan than to run. Its SQL kept per filter
            # selection and page (core.compiled).
            compiled.Sliced(
                Submission,
                ("wall-page", *shape),
                lambda at: f.qs.on_wall().only(*CARD_KEYS).newest_answered_first(),
            ),
            20,
            # The summary counted the selection already (a COUNT over the
            # county's 200,000 rows costs 100 ms).
            count=lambda: context["summary"]["listed"],
        )
    except BadPage:
        context["bad_page"] = True
        return render(request, "feedback/submission_list.html", context, status=400)
    visible = _visible_answers(
        request.user, [s.fulfilled_by_id for s in page.object_list if s.fulfilled_by_id]
    )
    _shown_branch_notice(request, *visible.values())
    for submission in page.object_list:
        answer = submission.fulfilled_by_id
        submission.visible_fulfilment_id = answer if answer in visible else None
    context["page"] = page
    return render(request, "feedback/submission_list.html", context)


def _visible_answers(user, ids: list[int]) -> dict[int, str]:
    """Which of these disclosures (the answers of a page's cases) this user
    may read, and their scopes: by key, from SQL kept per audience and
    number of answers (core.compiled)."""
    if not ids:
        return {}
    reader = Reader.of(user)
    return dict(
        compiled.rows(
            Disclosure,
            ("wall-answers", reader.key),
            lambda at, *keys: (
                Disclosure.objects.visible_to(user, at)  # reader.key
                .filter(pk__in=keys)
                .order_by()
                .values_list("pk", "scope")
            ),
            keys=sorted(set(ids)),
        )
    )


def submission_detail(request, pk):
    submission = get_object_or_404(Submission.objects.on_wall().with_related(), pk=pk)
    context = {
        "submission": submission,
        "fulfilled_by": _visible_disclosure(request, submission.fulfilled_by_id),
        "disclosure": _visible_disclosure(request, submission.disclosure_id)
        if submission.consent_to_publish
        else None,
    }
    _shown_branch_notice(
        request,
        *(d.scope for d in (context["fulfilled_by"], context["disclosure"]) if d),
    )
    return render(request, "feedback/submission_detail.html", context)


def _shown_branch_notice(request, *scopes) -> None:
    """A link to a 党组织内部 notice is its branch's alone: the page is not
    kept in a copy every branch's members share (page_scopes.case_audience)."""
    if Scope.BRANCH in scopes:
        request.page_own_audience_only = True

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from core.security import security_event
from disclosure.models import Unit

from . import antiabuse, letters, services
from .forms import ApplicationForm, TrackForm
from .models import InfoRequest, normalize_code

FORM_TEMPLATE = "govinfo/inforequest_form.html"
THANKS_COOKIE = "govinfo_thanks"
THANKS_COOKIE_SALT = "govinfo.thanks"
THANKS_COOKIE_MAX_AGE = 24 * 3600


def _town() -> Unit | None:
    # One town per site today: its government receives the applications.
    return Unit.objects.towns().order_by("order", "id").first()


def apply(request):
    town = _town()
    if request.method != "POST":
        return render(request, FORM_TEMPLATE, {"form": ApplicationForm(), "town": town})
    form = ApplicationForm(request.POST)
    if town is None or not form.is_valid():
        form.prepare_retry()
        return render(request, FORM_TEMPLATE, {"form": form, "town": town})
    key = antiabuse.client_key(request)
    slot = antiabuse.applications().take_once(key, form.form_token)
    if slot is None:
        security_event("rate_limited", request, form="govinfo")
        context = {"form": form, "town": town, "rate_limited": True}
        return render(request, FORM_TEMPLATE, context, status=429)
    try:
        info, created = services.submit(
            data={**form.application_data(), "unit": town},
            form_token=form.form_token,
        )
    except services.FormAlreadySent as sent:
        slot.give_back()
        form.add_error(
            None,
            _(
                "这张表已经提交过（受理编号 %(code)s）。如需另提申请，"
                "请刷新页面后重新提交，您填写的内容已保留。"
            )
            % {"code": sent.request.code},
        )
        return render(request, FORM_TEMPLATE, {"form": form, "town": town})
    except Exception:
        slot.give_back()
        raise
    if not created:
        slot.give_back()
        messages.info(request, _("这份申请已经收到，无需重复提交。"))
        return redirect(info.get_tracking_url())
    response = redirect("govinfo:thanks")
    response.set_signed_cookie(
        THANKS_COOKIE,
        info.code,
        salt=THANKS_COOKIE_SALT,
        max_age=THANKS_COOKIE_MAX_AGE,
        path=reverse("govinfo:thanks"),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


@never_cache
def thanks(request):
    code = request.get_signed_cookie(
        THANKS_COOKIE, None, salt=THANKS_COOKIE_SALT, max_age=THANKS_COOKIE_MAX_AGE
    )
    info = InfoRequest.objects.filter(code=code).first() if code else None
    if info is None:
        return redirect("govinfo:track")
    return render(request, "govinfo/inforequest_thanks.html", {"info": info})


def track(request):
    form = TrackForm(request.GET or None)
    if form.is_valid():
        return redirect("govinfo:track_code", code=form.cleaned_data["code"])
    return render(request, "govinfo/track_form.html", {"form": form})


def _by_code(request, code):
    """The application of a code, or a response: wrong codes are counted per
    client and throttled (guessing), as the 回音壁's."""
    key = antiabuse.client_key(request)
    misses = antiabuse.tracking_misses()
    info = (
        InfoRequest.objects.select_related("unit")
        .filter(code=normalize_code(code))
        .first()
        if not misses.is_over(key)
        else None
    )
    if info is not None:
        return info, None
    if misses.is_over(key) or not misses.take(key):
        security_event("tracking_throttled", request)
        context = {
            "form": TrackForm(initial={"code": code[:20]}),
            "throttled": True,
            "throttle_minutes": max(1, misses.period // 60),
        }
        return None, render(request, "govinfo/track_form.html", context, status=429)
    security_event("tracking_code_miss", request)
    context = {"form": TrackForm(initial={"code": code[:20]}), "not_found": True}
    return None, render(request, "govinfo/track_form.html", context, status=404)


@never_cache
def track_code(request, code):
    """The applicant's view: progress, deadline and, once answered, the letter.
    No particulars of the applicant on it."""
    info, refusal = _by_code(request, code)
    if refusal:
        return refusal
    context = {
        "info": info,
        "events": info.events.exclude(kind__in=["drafted", "returned", "note"]),
    }
    return render(request, "govinfo/inforequest_track.html", context)


@never_cache
def letter(request, code):
    info, refusal = _by_code(request, code)
    if refusal:
        return refusal
    if info.status != InfoRequest.Status.ANSWERED:
        return redirect(info.get_tracking_url())
    return letters.page(request, info, full_name=False)


@never_cache
def letter_pdf(request, code):
    info, refusal = _by_code(request, code)
    if refusal:
        return refusal
    if info.status != InfoRequest.Status.ANSWERED:
        return redirect(info.get_tracking_url())
    return letters.pdf(request, info, full_name=False)

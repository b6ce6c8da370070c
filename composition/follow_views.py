"""Following by email: the form, the confirmation page and unsubscribing."""

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from disclosure.models import Unit

from . import following
from .forms import SubscriptionForm


def follow(request):
    initial = {}
    preset = Unit.objects.filter(slug=request.GET.get("unit", "")[:60]).first()
    if preset:
        initial["unit"] = preset.slug
    form = SubscriptionForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not form.is_valid():
            return render(
                request, "portal/subscription_form.html", {"form": form}, status=400
            )
        following.request_subscription(
            email=form.cleaned_data["email"], unit=form.cleaned_data["unit"]
        )
        # The same answer whether or not a mail went out: the page never tells
        # whether an address already follows something.
        return render(
            request,
            "portal/subscription_sent.html",
            {"unit": form.cleaned_data["unit"]},
        )
    return render(request, "portal/subscription_form.html", {"form": form})


def confirm(request, token):
    """GET shows a button; POST confirms (mail scanners open links, not forms)."""
    subscription = following.pending(token)
    if subscription is None:
        return render(request, "portal/subscription_invalid.html", status=404)
    if request.method == "POST":
        following.confirm(subscription)
        return render(
            request,
            "portal/subscription_confirmed.html",
            {"subscription": subscription},
        )
    return render(
        request, "portal/subscription_confirm.html", {"subscription": subscription}
    )


@csrf_exempt  # RFC 8058 one-click POSTs from mail clients carry no CSRF token
def unfollow(request, token):
    """No login: the token in the mail is the key. POST deletes the address."""
    subscription = following.find(token)
    if request.method == "POST":
        if subscription is not None:
            following.unsubscribe(subscription)
        return render(request, "portal/subscription_deleted.html")
    if subscription is None:
        return render(request, "portal/subscription_invalid.html", status=404)
    return render(
        request, "portal/subscription_delete.html", {"subscription": subscription}
    )

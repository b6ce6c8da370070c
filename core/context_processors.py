from django.conf import settings
from django.utils.translation import gettext as _


def portal(request):
    # Not "site_name": Django's log-in and log-out views put the host name
    # (RequestSite) under that key, and a view's context wins.
    return {"portal_site_name": settings.PORTAL_SITE_NAME or _("凤鸣镇公开网")}

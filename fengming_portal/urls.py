from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("composition.urls")),
    path("catalog/", include("catalog.urls")),
    path("", include("disclosure.urls")),
    path("feedback/", include("feedback.urls")),
    path("yishenqing/", include("govinfo.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]

# Chinese error pages that log what a security review needs (fengming_portal/
# security.py); 404 and 500 are the plain templates/404.html and 500.html.
handler400 = "core.security.bad_request"
handler403 = "core.security.permission_denied"

from django.contrib import admin
from django.urls import include, path

from catalog import urls as catalog_urls
from composition import views as portal_views

# A catalog item's page shows what each unit published under it, so it is a
# composition view in portal; it still lives under the catalog namespace.
catalog_patterns = [
    *catalog_urls.urlpatterns,
    path("<str:code>/", portal_views.catalog_item, name="item"),
]

urlpatterns = [
    path("", include("composition.urls")),
    path("catalog/", include((catalog_patterns, "catalog"))),
    path("", include("disclosure.urls")),
    path("feedback/", include("feedback.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]

# Chinese error pages that log what a security review needs (fengming_portal/
# security.py); 404 and 500 are the plain templates/404.html and 500.html.
handler400 = "core.security.bad_request"
handler403 = "core.security.permission_denied"

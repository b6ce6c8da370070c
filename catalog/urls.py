from django.urls import path

from . import views

# The item page (catalog/<code>/) is added in fengming_portal/urls.py.
urlpatterns = [
    path("", views.catalog_index, name="index"),
]

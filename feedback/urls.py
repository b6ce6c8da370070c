from django.urls import path

from . import sheet_views, views

app_name = "feedback"
urlpatterns = [
    path("", views.wall, name="wall"),
    path("<int:pk>/", views.submission_detail, name="detail"),
    path("new/", views.submission_create, name="create"),
    path("thanks/", views.submission_thanks, name="thanks"),
    path("track/", views.track, name="track"),
    path("track/<str:code>/", views.track_code, name="track_code"),
    path("mine/", sheet_views.mine, name="mine"),
    path("print/<slug:slug>/", sheet_views.wall_print_month, name="print_month"),
    path("print/<slug:slug>/<str:month>/", sheet_views.wall_print, name="print"),
    path(
        "print/<slug:slug>/<str:month>.pdf",
        sheet_views.wall_print_pdf,
        name="print_pdf",
    ),
]

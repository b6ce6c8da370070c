from django.urls import path

from . import views

app_name = "feedback"
urlpatterns = [
    path("", views.wall, name="wall"),
    path("<int:pk>/", views.submission_detail, name="detail"),
    path("new/", views.submission_create, name="create"),
    path("thanks/", views.submission_thanks, name="thanks"),
    path("track/", views.track, name="track"),
    path("track/<str:code>/", views.track_code, name="track_code"),
]

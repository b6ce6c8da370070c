from django.urls import path

from . import views

app_name = "govinfo"
urlpatterns = [
    path("", views.apply, name="apply"),
    path("thanks/", views.thanks, name="thanks"),
    path("track/", views.track, name="track"),
    path("track/<str:code>/", views.track_code, name="track_code"),
    path("track/<str:code>/letter/", views.letter, name="letter"),
    path("track/<str:code>/letter.pdf", views.letter_pdf, name="letter_pdf"),
]

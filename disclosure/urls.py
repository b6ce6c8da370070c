from django.urls import path

from . import views

app_name = "disclosure"
urlpatterns = [
    path("boards/", views.board_list, name="boards"),
    path("boards/<slug:slug>/", views.board, name="board"),
    path("disclosures/", views.disclosure_list, name="list"),
    path("disclosures/<int:pk>/", views.disclosure_detail, name="detail"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path(
        "attachments/<int:pk>/thumbnail/",
        views.attachment,
        {"thumbnail": True},
        name="attachment_thumbnail",
    ),
]

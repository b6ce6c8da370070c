from django.urls import path

from . import compliance_export, compliance_views, views, views_print

app_name = "disclosure"
urlpatterns = [
    path("compliance/", compliance_views.matrix, name="compliance"),
    path(
        "compliance/export.xlsx",
        compliance_export.matrix_xlsx,
        name="compliance_xlsx",
    ),
    path(
        "compliance/<slug:slug>/export.xlsx",
        compliance_export.unit_xlsx,
        name="compliance_unit_xlsx",
    ),
    path(
        "compliance/<slug:slug>/",
        compliance_views.unit_obligations,
        name="compliance_unit",
    ),
    # A catalog item with what the units published under it (catalog/ itself
    # is the catalog app's page).
    path("catalog/<str:code>/", views.catalog_item, name="catalog_item"),
    path("boards/", views.board_list, name="boards"),
    path("boards/<slug:slug>/", views.board, name="board"),
    path("boards/<slug:slug>/print/", views_print.board_print, name="board_print"),
    path(
        "boards/<slug:slug>/print.pdf",
        views_print.board_print_pdf,
        name="board_print_pdf",
    ),
    path(
        "board-print-page.css",
        views_print.board_print_page_css,
        name="board_print_page_css",
    ),
    path("disclosures/", views.disclosure_list, name="list"),
    path("disclosures/<int:pk>/", views.disclosure_detail, name="detail"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path(
        "attachments/<int:pk>/thumbnail/",
        views.attachment,
        {"thumbnail": True},
        name="attachment_thumbnail",
    ),
    # Staff only (never cached: not a registered cached view).
    path(
        "inspections/photos/<int:pk>/",
        views.inspection_photo,
        name="inspection_photo",
    ),
    path(
        "inspections/photos/<int:pk>/thumbnail/",
        views.inspection_photo,
        {"thumbnail": True},
        name="inspection_photo_thumbnail",
    ),
]

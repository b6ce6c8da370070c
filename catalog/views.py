from django.shortcuts import render

from .models import Catalog


def catalog_index(request):
    catalogs = Catalog.objects.prefetch_related(
        "categories__items__forms", "categories__items__department"
    )
    return render(request, "catalog/catalog_list.html", {"catalogs": catalogs})

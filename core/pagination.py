from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator


class BadPage(ValueError):
    """A page number that is not a number or is out of range."""


def paginate(request, object_list, per_page: int = 20, *, count=None) -> Page:
    """A page of `object_list` from `?page=`; `count`, when given, is a
    callable for the number of rows (e.g. one kept in the value cache: a
    COUNT over 200,000 rows costs more than the page itself)."""
    paginator = Paginator(object_list, per_page)
    if count is not None:
        paginator.count = count()  # Paginator.count is a cached_property
    try:
        return paginator.page(request.GET.get("page") or 1)
    except (PageNotAnInteger, EmptyPage) as exc:
        raise BadPage(str(exc)) from exc

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator


class BadPage(ValueError):
    """A page number that is not a number or is out of range."""


def paginate(request, object_list, per_page: int = 20) -> Page:
    paginator = Paginator(object_list, per_page)
    try:
        return paginator.page(request.GET.get("page") or 1)
    except (PageNotAnInteger, EmptyPage) as exc:
        raise BadPage(str(exc)) from exc

"""The answer letter (政府信息公开申请答复书): one template for every art. 36
type, citing the article and stating the applicant's remedies. Rendered as
a page and as a PDF (disclosure.views_print.render_pdf, WeasyPrint)."""

from django.http import HttpResponse
from django.template.loader import render_to_string

from disclosure.views_print import render_pdf

from .models import Ground, InfoRequest, Result

# What the letter cites, per answer type (条例 2019).
ARTICLES = {
    Result.DISCLOSED: "第三十六条第（二）项",
    Result.PARTLY: "第三十七条、第三十六条第（二）项",
    Result.REFUSED: "第三十六条第（三）项",
    Result.UNAVAILABLE: "第三十六条第（四）项",
    Result.NOT_PROCESSED: "第三十六条第（七）项",
    Result.OTHER: "第三十六条第（七）项",
}
GROUND_ARTICLES = {
    Ground.SECRET: "第十四条",
    Ground.LAW_FORBIDS: "第十四条",
    Ground.SECURITY: "第十四条",
    Ground.THIRD_PARTY: "第十五条",
    Ground.INTERNAL: "第十六条第一款",
    Ground.PROCESS: "第十六条第二款",
    Ground.ENFORCEMENT: "第十六条第二款",
    Ground.QUERY: "第三十六条第（三）项",
    Ground.NOT_HELD: "第三十六条第（四）项",
    Ground.NOT_THIS_BODY: "第三十六条第（五）项",
    Ground.NEEDS_MAKING: "第三十八条",
    Ground.STILL_UNCLEAR: "第三十条",
    Ground.PETITION: "第三十九条第一款",
    Ground.REPEATED: "第三十六条第（六）项",
    # Art. 39(2): 公开出版物 (art. 36(5) is NOT_THIS_BODY).
    Ground.PUBLICATION: "第三十九条第二款",
    Ground.MASS: "第三十五条",
    # 要求确认或重新出具: no article of the 条例 names it (a category of the
    # national form); the letter cites the 条例 without one.
    Ground.NO_CORRECTION: "第三十条",
    Ground.NO_FEE: "第四十二条",
}


def context(request: InfoRequest, *, full_name: bool) -> dict:
    """The letter's values; `full_name` only for the handling staff's copy
    (the copy reached by the code names the applicant by initial)."""
    return {
        "info": request,
        "applicant": request.name if full_name else request.masked_name,
        "article": ARTICLES.get(request.result, ""),
        "ground_article": GROUND_ARTICLES.get(request.ground, ""),
        "draft": request.status != InfoRequest.Status.ANSWERED,
    }


def page(http_request, request: InfoRequest, *, full_name: bool) -> HttpResponse:
    html = render_to_string(
        "govinfo/letter.html",
        context(request, full_name=full_name),
        request=http_request,
    )
    response = HttpResponse(html)
    response["Cache-Control"] = "private, no-store"
    return response


def pdf(http_request, request: InfoRequest, *, full_name: bool) -> HttpResponse:
    html = render_to_string(
        "govinfo/letter.html",
        {**context(request, full_name=full_name), "for_pdf": True},
        request=http_request,
    )
    body = render_pdf(html, base_url=http_request.build_absolute_uri("/"))
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{request.code}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response

"""HTML and other text compressed by the portal itself (production settings).

nginx compresses too (deploy/nginx-fengming.conf), but it skips a response
that arrives compressed, so this middleware decides for the pages wherever
the portal runs: behind that nginx, behind another proxy, or serving itself.

BREACH: a page that reflects what a visitor typed (search, a form sent back
with its errors) next to a secret lets an attacker who can watch the traffic's
sizes guess the secret byte by byte. What is on our pages: the CSRF token,
which Django masks afresh for every response, so it never repeats; the
session id travels in a cookie header, which gzip does not touch; and, for a
logged-in party member or staff member, 党内 titles or a 回音壁 case's contact
data. Django's GZipMiddleware (4.2+) adds 'Heal The Breach' padding: random
bytes in the gzip header of every response, so one response's size says too
little to guess from. We keep compression for every visitor rather than
sending logged-in pages uncompressed: the residents' phones on slow rural
networks gain the most, and the mitigation is the one Django ships for it.
"""

from django.middleware.gzip import GZipMiddleware

# What gains from gzip; images, PDFs, spreadsheets and archives are compressed
# already, and an attachment streamed through gzip would lose its length.
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/atom+xml",
    "application/rss+xml",
    "image/svg+xml",
)


class TextGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware (with its random padding), for text only."""

    def process_response(self, request, response):
        content_type = response.get("Content-Type", "").split(";")[0].strip()
        if not content_type.startswith(TEXT_TYPES):
            return response
        return super().process_response(request, response)

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

import functools
import gzip
import secrets
import struct
import zlib

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.middleware.gzip import GZipMiddleware, re_accepts_gzip

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


def compressible(response) -> bool:
    """Text not compressed yet (GZipMiddleware's own checks follow)."""
    content_type = response.get("Content-Type", "").split(";")[0].strip()
    return content_type.startswith(TEXT_TYPES) and not response.has_header(
        "Content-Encoding"
    )


class TextGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware (with its random padding), for text only. A
    cached page's hit comes compressed already (`Pieces`)."""

    def process_response(self, request, response):
        if not compressible(response):
            return response
        return super().process_response(request, response)


def accepts_gzip(request) -> bool:
    """Whether the portal compresses this request's text (production's
    MIDDLEWARE holds TextGZipMiddleware, and the client accepts gzip)."""
    return _compressing() and bool(
        re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", ""))
    )


@functools.cache
def _compressing() -> bool:
    return f"{__name__}.TextGZipMiddleware" in settings.MIDDLEWARE


@receiver(setting_changed)
def _forget(*, setting, **kwargs) -> None:
    if setting == "MIDDLEWARE":
        _compressing.cache_clear()


# A deflate stream's last block: empty, final (what zlib ends one with).
_LAST_BLOCK = b"\x03\x00"
# The gzip header (RFC 1952) as Django writes it, with a file name (FNAME)
# of random length: Django's Heal The Breach padding, filled in per response.
_HEADER = b"\x1f\x8b\x08" + bytes([gzip.FNAME]) + b"\x00\x00\x00\x00\x00\xff"


class Pieces:
    """A page copy's body compressed once but for its slots.

    A cached page is the same bytes for every request but for a few slots (the
    text size step, a member's name and CSRF token: core/caching.py), so
    deflating the whole page on every hit (Django's GZipMiddleware, half a
    millisecond for a board) redoes the same work. The runs between slots are
    deflated once, each on its own (a sync flush ends each on a byte
    boundary, and no run refers back into another), and a response is those
    runs with the slots' values between them as stored (uncompressed) blocks,
    the gzip header with Django's random padding, and the CRC of the whole.
    A CSRF token is thus never compressed beside any text of the page
    (BREACH), a stronger guard than the padding alone.

    `marks`: (start, end, name) of each slot in `body`, in order, not
    overlapping; `values` in `filled` and `gzipped`: name -> bytes.
    """

    __slots__ = ("body", "marks", "_runs")

    def __init__(self, body: bytes, marks: list[tuple[int, int, str]]):
        self.body = body
        self.marks = marks
        self._runs: list[bytes] | None = None

    def _constant(self) -> list[memoryview]:
        view, runs, at = memoryview(self.body), [], 0
        for start, end, _name in self.marks:
            runs.append(view[at:start])
            at = end
        runs.append(view[at:])
        return runs

    def filled(self, values: dict[str, bytes]) -> bytes:
        out = []
        for run, mark in zip(self._constant(), [*self.marks, None], strict=True):
            out.append(run)
            if mark is not None:
                out.append(values[mark[2]])
        return b"".join(out)

    def deflated_size(self) -> int:
        return sum(map(len, self._deflated()))

    def _deflated(self) -> list[bytes]:
        if self._runs is None:
            runs = []
            for run in self._constant():
                deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
                runs.append(deflate.compress(run) + deflate.flush(zlib.Z_SYNC_FLUSH))
            self._runs = runs
        return self._runs

    def gzipped(self, values: dict[str, bytes]) -> bytes | None:
        """The gzip member; None when it is not shorter than the text, or the
        text is too short to gain (GZipMiddleware's rules)."""
        padding = b"a" * secrets.randbelow(TextGZipMiddleware.max_random_bytes)
        out, crc, size = [_HEADER, padding, b"\x00"], 0, 0
        marks = [*self.marks, None]
        for raw, deflated, mark in zip(
            self._constant(), self._deflated(), marks, strict=True
        ):
            out.append(deflated)
            crc, size = zlib.crc32(raw, crc), size + len(raw)
            if mark is not None:
                value = values[mark[2]]
                out.extend(_stored_blocks(value))
                crc, size = zlib.crc32(value, crc), size + len(value)
        out += [_LAST_BLOCK, struct.pack("<LL", crc, size & 0xFFFFFFFF)]
        gzipped = b"".join(out)
        return gzipped if 200 <= size and len(gzipped) < size else None


def _stored_blocks(value: bytes) -> list[bytes]:
    """`value` as deflate stored blocks (RFC 1951 3.2.4), not final, on a
    byte boundary as every run ends."""
    blocks = []
    for at in range(0, len(value), 0xFFFF):
        chunk = value[at : at + 0xFFFF]
        blocks += [b"\x00", struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF), chunk]
    return blocks

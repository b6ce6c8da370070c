"""Hostile values, by family: what a scanner or a vandal sends a public site."""

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">点我</a>',
    "javascript:alert(1)",
    "<iframe src=//example.invalid></iframe>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">',
]
SQL = [
    "' OR '1'='1",
    "1; DROP TABLE disclosure_disclosure; --",
    "1 UNION SELECT password FROM auth_user--",
    "%' AND 1=1 AND '%'='",
    "1' AND pg_sleep(5)--",
]
FTS = ["党内 & !公开", '"村务" OR *', "a:* | b", "!!!", "()", "<->", "***", "NEAR(a b)"]
TRAVERSAL = [
    "../../../../etc/passwd",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "....//....//etc/passwd",
    "/etc/passwd",
    "..\\..\\windows\\win.ini",
    "%2e%2e%2f%2e%2e%2f",
]
LONG = ["长" * 5000, "9" * 400, "A" * 70000]
WRONG_TYPES = [
    "-1",
    "0",
    "1.5",
    "1e99",
    "99999999999999999999999",
    "[]",
    "{}",
    "true",
    "NaN",
    " ",
    "١٢٣",
]
# Control characters no one types: C0 (but tab and line breaks), DEL, C1, the
# bidirectional overrides and isolates, XML's non-characters, a terminal escape.
CONTROL = [
    "甲\x01乙",
    "甲\x1b[31m乙",
    "甲\x0b\x0c乙",
    "甲\x7f乙",
    "甲\x85乙",
    "甲\u202e乙",
    "甲\u2066乙",
    "甲\ufffe乙",
]
UNICODE = ["😀" * 10, "\u202e\u202d", "\ufeff", "ｓｃｒｉｐｔ", "\x1b[31m"]

# Dates and years at and past the ends of what Python, the databases and the
# time-zone conversion to UTC can hold, and what is merely absurd.
DATE_EXTREMES = [
    "0001-01-01",
    "0001-01-01 00:00:00",
    "1000-06-15",
    "1948-12-31",
    "2101-01-01",
    "9999-12-31",
    "9999-12-31 23:59:59",
    "0000-00-00",
    "10000-01-01",
    "-2011-01-01",
    "2011-02-30",
]
YEAR_EXTREMES = ["0", "-1", "1", "1948", "2101", "9999", "10000", "99999", "1e9"]

ALL = XSS + SQL + FTS + TRAVERSAL + LONG + WRONG_TYPES + UNICODE + CONTROL
# Raw bytes that are not UTF-8, as they arrive in a WSGI QUERY_STRING.
INVALID_UTF8 = ["%FF%FE", "%C3%28", "%E2%82", "%ED%A0%80", "\xff\xfe"]


def label(value: str) -> str:
    return repr(value[:30]) + (f"…{len(value)}" if len(value) > 30 else "")

"""The demo's attachments, made when the demo is seeded: two photos drawn with
Pillow (a notice board with its posted sheets, a water delivery in the
drought) and a PDF statement made by WeasyPrint. No binary file is kept in
the repository; `demo.seed_attachments` uploads them through the same form,
and so the same cleaning, as a file uploaded in the admin.

The pictures are drawings, not photographs of 凤鸣镇, and the figures of the
statement are invented for the demo.
"""

import io

from PIL import Image, ImageDraw, ImageFont

CJK_FONT = "NotoSansCJK-Regular.ttc"  # Debian's fonts-noto-cjk (Makefile)
SIZE = (1200, 900)


def _font(size: int) -> ImageFont.FreeTypeFont | None:
    """Noto Sans CJK when installed; without it the drawings carry no text."""
    try:
        return ImageFont.truetype(CJK_FONT, size)
    except OSError:
        return None


def _text(draw: ImageDraw.ImageDraw, xy, text: str, size: int, fill) -> None:
    font = _font(size)
    if font is not None:
        draw.text(xy, text, font=font, fill=fill)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def notice_board_photo() -> bytes:
    """文理村's 村务公开栏 with the drought-relief notice posted on it."""
    image = Image.new("RGB", SIZE, (214, 196, 170))
    draw = ImageDraw.Draw(image)
    for y in range(0, 700, 36):  # brick courses of the wall
        draw.line([(0, y), (SIZE[0], y)], fill=(190, 170, 146), width=3)
    draw.rectangle([0, 700, SIZE[0], SIZE[1]], fill=(150, 150, 145))  # the ground
    draw.rectangle([110, 90, 1090, 640], fill=(120, 20, 24))  # the board's frame
    draw.rectangle([140, 170, 1060, 610], fill=(238, 236, 228))
    _text(draw, (380, 104), "文理村村务公开栏", 54, (255, 236, 150))
    sheets = [
        (170, 200, "抗旱救灾物资发放情况公示"),
        (470, 200, "2011年6月村级财务收支"),
        (770, 200, "村道维护资金点题公开"),
    ]
    for x, y, title in sheets:
        draw.rectangle([x + 6, y + 6, x + 266, y + 386], fill=(200, 198, 190))
        draw.rectangle([x, y, x + 260, y + 380], fill=(255, 255, 252))
        _text(draw, (x + 14, y + 16), title, 19, (20, 20, 20))
        for line in range(12):
            length = 230 if line % 4 != 3 else 140
            ly = y + 60 + line * 24
            draw.line([(x + 14, ly), (x + 14 + length, ly)], fill=(150, 150, 150))
        draw.ellipse([x + 170, y + 300, x + 240, y + 370], outline=(200, 30, 30))
    for x in (300, 900):  # the board's legs
        draw.rectangle([x, 640, x + 24, 760], fill=(90, 90, 90))
    return _jpeg(image)


def water_delivery_photo() -> bytes:
    """茅山村's party volunteers bringing water in the 2011 drought."""
    image = Image.new("RGB", SIZE, (150, 195, 235))
    draw = ImageDraw.Draw(image)
    draw.polygon([(0, 520), (260, 300), (560, 520)], fill=(96, 140, 84))  # hills
    draw.polygon([(380, 520), (760, 260), (1200, 520)], fill=(84, 124, 74))
    draw.rectangle([0, 520, SIZE[0], SIZE[1]], fill=(196, 170, 120))  # dry fields
    draw.polygon([(520, 900), (640, 520), (700, 520), (900, 900)], fill=(170, 160, 150))
    draw.rectangle([560, 560, 880, 700], fill=(40, 110, 60))  # the truck's tank
    draw.rectangle([880, 600, 990, 700], fill=(200, 40, 40))  # its cab
    draw.rectangle([900, 615, 970, 650], fill=(190, 220, 240))
    for x in (610, 800, 930):
        draw.ellipse([x, 680, x + 56, 736], fill=(30, 30, 30))
    for n, x in enumerate(range(140, 500, 90)):  # water barrels by the road
        top = 650 + (n % 2) * 30
        draw.rectangle([x, top, x + 60, top + 90], fill=(40, 90, 170))
        draw.ellipse([x, top - 10, x + 60, top + 12], fill=(70, 120, 200))
    draw.rectangle([160, 140, 1040, 230], fill=(200, 20, 30))  # the banner
    _text(draw, (200, 158), "茅山村党员志愿服务队 抗旱送水", 52, (255, 235, 120))
    return _jpeg(image)


STATEMENT_ROWS = [
    ("6月3日", "上级转移支付资金", "12,000.00", ""),
    ("6月8日", "集体鱼塘承包收入", "3,600.00", ""),
    ("6月10日", "村干部误工补贴", "", "4,200.00"),
    ("6月15日", "办公经费（纸张、电话费）", "", "860.00"),
    ("6月22日", "村道维护（碎石、人工）", "", "5,400.00"),
]
STATEMENT_TOTALS = ("15,600.00", "10,460.00")

STATEMENT_HTML = """<!doctype html>
<html lang="zh-Hans"><head><meta charset="utf-8">
<title>文理村2011年6月村级财务收支明细表</title>
<style>
@page {{ size: A4; margin: 20mm; }}
body {{ font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", sans-serif; }}
h1 {{ font-size: 18pt; text-align: center; }}
table {{ width: 100%; border-collapse: collapse; font-size: 11pt; }}
th, td {{ border: 1px solid #333; padding: 4pt 6pt; }}
td.amount {{ text-align: right; }}
p.note {{ font-size: 10pt; color: #444; }}
</style></head><body>
<h1>文理村2011年6月村级财务收支明细表</h1>
<table>
<thead><tr><th>日期</th><th>摘要</th><th>收入（元）</th><th>支出（元）</th></tr></thead>
<tbody>{rows}</tbody>
<tfoot><tr><th colspan="2">合计</th>
<td class="amount">{income}</td><td class="amount">{spending}</td></tr></tfoot>
</table>
<p class="note">经村民主理财小组审核。村民对收支情况有疑问的，
可向村民主理财小组或镇财政所反映。</p>
<p class="note">（演示数据，金额为虚构。）</p>
</body></html>
"""


def finance_statement_pdf() -> bytes:
    """The 收支明细表 that 文理村's June statement refers to, as a PDF."""
    # Imported here: WeasyPrint loads pango when imported.
    from weasyprint import HTML

    rows = "".join(
        f'<tr><td>{day}</td><td>{what}</td><td class="amount">{income}</td>'
        f'<td class="amount">{spending}</td></tr>'
        for day, what, income, spending in STATEMENT_ROWS
    )
    income, spending = STATEMENT_TOTALS
    html = STATEMENT_HTML.format(rows=rows, income=income, spending=spending)
    return HTML(string=html).write_pdf()

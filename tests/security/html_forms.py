"""What a browser would submit from a form on a page: the form's controls with
their current values, read from the HTML (admin change forms, inlines
included), so a test can change one field and post the rest as they were."""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Control:
    name: str
    tag: str  # input, textarea, select
    type: str = ""
    classes: frozenset = frozenset()
    values: list[str] = field(default_factory=list)

    @property
    def is_text(self) -> bool:
        if self.tag == "textarea":
            return True
        return (
            self.tag == "input"
            and self.type in ("text", "email", "url", "search", "tel")
            and not self.is_date
            and "vTimeField" not in self.classes
        )

    @property
    def is_date(self) -> bool:
        return self.tag == "input" and (
            self.type == "date" or "vDateField" in self.classes
        )


class _FormParser(HTMLParser):
    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.controls: list[Control] = []
        self._open: Control | None = None  # a textarea or select being read
        self._option: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            return
        if not self.inside or "name" not in a and tag != "option":
            return
        classes = frozenset((a.get("class") or "").split())
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.controls.append(
                Control(a["name"], tag, kind, classes, [a.get("value") or default])
            )
        elif tag in ("textarea", "select"):
            self._open = Control(a["name"], tag, "", classes)
            self.controls.append(self._open)
        elif tag == "option" and self._open is not None and "selected" in a:
            self._open.values.append(a.get("value", ""))

    def handle_data(self, data):
        if self._open is not None and self._open.tag == "textarea":
            self._open.values.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        if tag in ("textarea", "select"):
            if self._open is not None and self._open.tag == "textarea":
                # A textarea's content starts after one newline Django writes.
                text = "".join(self._open.values)
                self._open.values = [text[1:] if text.startswith("\n") else text]
            self._open = None


def read_form(html: str, form_id: str) -> list[Control]:
    parser = _FormParser(form_id)
    parser.feed(html)
    return parser.controls


def as_post(controls: list[Control]) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for control in controls:
        data.setdefault(control.name, []).extend(control.values)
    return data

"""The answer's clock of an application for government information (政府信息
公开条例 2019): pure date arithmetic on a list of steps, no ORM.

- art. 31: the day of receipt depends on the channel: handed in, the day it
  is handed in; by post, the day it is signed for; online or by fax, the day
  both sides confirm it (the portal confirms an online application at once,
  so the day it is sent).
- art. 33: answer within 20 working days of receipt; extendable once, by up
  to 20 working days, with the applicant told (the reason recorded).
- art. 30: a request for 补正 stops the clock; the term is counted afresh
  from the day the corrected application is received. None within a
  reasonable time (here 15 working days) and the application is treated as
  withdrawn (视为放弃).
- art. 32/33: the time a third party is consulted (15 working days for it
  to answer) is not counted in the term.

Working days follow catalog.workdays (public holidays and 调休 make-up days).
The day of receipt is not counted (the term starts the next day).
"""

from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _

from catalog.workdays import add_workdays, workdays_between

ANSWER_WORKDAYS = 20
MAX_EXTENSION_WORKDAYS = 20
CORRECTION_WORKDAYS = 15
CONSULTATION_WORKDAYS = 15

# Step kinds (the same names as InfoRequestEvent.Kind's clock steps).
CORRECTION = "correction"  # 补正 asked
CORRECTED = "corrected"  # corrected application received
CONSULT = "consult"  # third party consulted
CONSULTED = "consulted"  # its answer came back (or its time ran out)
EXTEND = "extend"  # the term extended by `days`

CLOCK_STEPS = (CORRECTION, CORRECTED, CONSULT, CONSULTED, EXTEND)


@dataclass(frozen=True)
class Step:
    kind: str
    on: date
    days: int = 0


@dataclass(frozen=True)
class Clock:
    """Where an application's clock stands after its steps."""

    due_on: date | None  # None while stopped
    stopped_by: str = ""  # CORRECTION or CONSULT while stopped
    correction_due: date | None = None  # 补正 expected by
    consultation_due: date | None = None  # the third party answers by
    extended_days: int = 0
    extensions: int = 0
    left_at_stop: int = field(default=0, compare=False)

    @property
    def running(self) -> bool:
        return self.due_on is not None


def receipt_date(channel: str, sent_on: date, confirmed_on: date | None = None) -> date:
    """Art. 31: an online application is confirmed by the portal the day it is
    sent; any other channel counts from the day staff record as received
    (handed in, signed for, confirmed)."""
    if channel == "online" or confirmed_on is None:
        return sent_on
    return confirmed_on


def run(received_on: date, steps: list[Step]) -> Clock:
    """The clock after `steps` (in the order they happened)."""
    start = received_on
    left = ANSWER_WORKDAYS
    extended = extensions = 0
    stopped_by = ""
    correction_due = consultation_due = None
    for step in sorted(steps, key=lambda s: s.on):
        if step.kind == CORRECTION and not stopped_by:
            stopped_by = CORRECTION
            correction_due = add_workdays(step.on, CORRECTION_WORKDAYS)
        elif step.kind == CORRECTED and stopped_by == CORRECTION:
            # Counted afresh from the corrected application (art. 30); an
            # extension granted before applies to the new term too.
            stopped_by = ""
            start, left = step.on, ANSWER_WORKDAYS + extended
            correction_due = None
        elif step.kind == CONSULT and not stopped_by:
            stopped_by = CONSULT
            left -= workdays_between(start, step.on)
            consultation_due = add_workdays(step.on, CONSULTATION_WORKDAYS)
        elif step.kind == CONSULTED and stopped_by == CONSULT:
            stopped_by = ""
            start = step.on
            consultation_due = None
        elif step.kind == EXTEND:
            extended += step.days
            extensions += 1
            left += step.days
    due = None if stopped_by else add_workdays(start, max(left, 0))
    return Clock(
        due_on=due,
        stopped_by=stopped_by,
        correction_due=correction_due,
        consultation_due=consultation_due,
        extended_days=extended,
        extensions=extensions,
        left_at_stop=left if stopped_by else 0,
    )


def check_extension(clock: Clock, days: int) -> str:
    """Why an extension may not be granted ("" if it may): once, by 1–20
    working days, while the clock runs."""
    if clock.extensions:
        return _("已延期一次，不能再次延期（条例第三十三条）。")
    if not 1 <= days <= MAX_EXTENSION_WORKDAYS:
        return _("延长期限为1至20个工作日。")
    if not clock.running:
        return _("补正或征求第三方意见期间答复期限中止，不能延期。")
    return ""

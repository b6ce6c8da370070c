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
- art. 32/33: the time a third party is consulted is not counted in the
  term; it has 15 working days to answer, after which the office decides
  without it, so the pause lasts at most those 15 days (an answer recorded
  later restarts the clock from the day the 15 ran out).
- art. 30: a 补正 is asked once (一次性), within 7 working days of receipt.

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
CORRECTION_ASK_WORKDAYS = 7

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

    due_on: date | None  # None while 补正 stops it; the latest while consulting
    stopped_by: str = ""  # CORRECTION or CONSULT while stopped
    correction_due: date | None = None  # 补正 expected by
    consultation_due: date | None = None  # the third party answers by
    extended_days: int = 0
    extensions: int = 0
    left_at_stop: int = field(default=0, compare=False)

    @property
    def running(self) -> bool:
        return not self.stopped_by


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
            start = min(step.on, consultation_due)
            consultation_due = None
        elif step.kind == EXTEND:
            extended += step.days
            extensions += 1
            left += step.days
    if stopped_by == CONSULT:
        # The latest the answer may come: the third party's 15 days, then the
        # days left. An earlier answer from it brings the deadline forward;
        # meanwhile the queue has a date, and a silent third party does not
        # hide the case at the end of it.
        due = add_workdays(consultation_due, max(left, 0))
    elif stopped_by:
        due = None
    else:
        due = add_workdays(start, max(left, 0))
    return Clock(
        due_on=due,
        stopped_by=stopped_by,
        correction_due=correction_due,
        consultation_due=consultation_due,
        extended_days=extended,
        extensions=extensions,
        left_at_stop=left if stopped_by else 0,
    )


def check_extension(clock: Clock, days: int, on: date | None = None) -> str:
    """Why an extension may not be granted ("" if it may): once, by 1–20
    working days, while the clock runs and before the term has run out (a
    term already missed cannot be extended, art. 33)."""
    if clock.extensions:
        return _("已延期一次，不能再次延期（条例第三十三条）。")
    if not 1 <= days <= MAX_EXTENSION_WORKDAYS:
        return _("延长期限为1至20个工作日。")
    if not clock.running:
        return _("补正或征求第三方意见期间答复期限中止，不能延期。")
    if on is not None and on > clock.due_on:
        return _("答复期限（%(day)s）已过，不能再延期（条例第三十三条）。") % {
            "day": clock.due_on
        }
    return ""


def check_correction(received_on: date, steps: list[Step], on: date) -> str:
    """Why a 补正 may not be asked on `on` ("" if it may): art. 30 asks for
    it once (一次性告知) and within 7 working days of receipt."""
    if any(step.kind == CORRECTION for step in steps):
        return _("补正只能一次性告知，该申请已告知过补正（条例第三十条）。")
    if workdays_between(received_on, on) > CORRECTION_ASK_WORKDAYS:
        return _(
            "补正须在收到申请之日起7个工作日内告知（条例第三十条），已超过该期限。"
        )
    return ""

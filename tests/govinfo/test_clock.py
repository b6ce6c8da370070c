"""The answer's clock (govinfo/clock.py) around 2026's 中秋/国庆 (25 Sep and
1–7 Oct off; Sunday 20 Sep and Saturday 10 Oct worked, 调休) and 春节
(15–23 Feb off; Saturdays 14 and 28 Feb worked)."""

from datetime import date

from govinfo import clock
from govinfo.clock import Step

FRI = date(2026, 9, 18)  # the Friday before the 调休 Sunday


def test_twenty_working_days_across_the_national_day_and_make_up_days():
    # 20, 21–24, 28–30 Sep; 8–10, 12–16, 19–22 Oct: the 调休 days count.
    assert clock.run(FRI, []).due_on == date(2026, 10, 22)


def test_across_the_spring_festival():
    # 13, 14 (Saturday, worked), 24–28 Feb (28, a Saturday, worked), then
    # 2–6, 9–13, 16–18 Mar.
    assert clock.run(date(2026, 2, 12), []).due_on == date(2026, 3, 18)


def test_correction_stops_the_clock_and_the_term_restarts_on_receipt():
    asked = clock.run(FRI, [Step(clock.CORRECTION, date(2026, 9, 22))])
    assert asked.due_on is None
    assert asked.stopped_by == clock.CORRECTION
    # 15 working days to correct: 23, 24, 28–30 Sep, 8–10, 12–16, 19, 20 Oct.
    assert asked.correction_due == date(2026, 10, 20)
    restarted = clock.run(
        FRI,
        [
            Step(clock.CORRECTION, date(2026, 9, 22)),
            Step(clock.CORRECTED, date(2026, 9, 30)),
        ],
    )
    # Counted afresh from 30 Sep (art. 30): 8–10 (10, a Saturday, worked),
    # 12–16, 19–23, 26–30 Oct, 2–3 Nov.
    assert restarted.running
    assert restarted.due_on == date(2026, 11, 3)


def test_consultation_pauses_without_restarting():
    state = clock.run(
        FRI,
        [
            Step(clock.CONSULT, date(2026, 9, 23)),  # 20–23 Sep used: 4
            Step(clock.CONSULTED, date(2026, 10, 9)),
        ],
    )
    # 16 left from 9 Oct: 10, 12–16, 19–23, 26–30 Oct.
    assert state.due_on == date(2026, 10, 30)


def test_one_extension_of_up_to_twenty_days():
    first = clock.run(FRI, [Step(clock.EXTEND, date(2026, 10, 12), 20)])
    assert first.due_on == date(2026, 11, 19)
    assert first.extended_days == 20
    assert "再次延期" in clock.check_extension(first, 5)
    assert clock.check_extension(clock.run(FRI, []), 21)
    assert clock.check_extension(clock.run(FRI, []), 10) == ""


def test_receipt_date_by_channel():
    sent, signed = date(2026, 9, 30), date(2026, 10, 8)
    assert clock.receipt_date("online", sent) == sent
    assert clock.receipt_date("letter", sent, signed) == signed

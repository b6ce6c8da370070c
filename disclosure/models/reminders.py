from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReminderLog(models.Model):
    """One reminder mail per person per day: what makes send_reminders idempotent."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("收件人"),
    )
    day = models.DateField(_("提醒日期"))
    overdue = models.PositiveIntegerField(_("逾期事项数"), default=0)
    due_soon = models.PositiveIntegerField(_("即将到期事项数"), default=0)
    sent_at = models.DateTimeField(_("发送时间"), auto_now_add=True)

    class Meta:
        ordering = ["-day", "user"]
        verbose_name = _("提醒记录")
        verbose_name_plural = _("提醒记录")
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="one_reminder_a_day")
        ]

    def __str__(self):
        return f"{self.user} · {self.day}"

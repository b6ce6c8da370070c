from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """Commands for running the portal, not pages: backup, restore, the demo
    and scale data, the role groups. Nothing imports it."""

    name = "operations"
    verbose_name = _("运维")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GovinfoConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "govinfo"
    verbose_name = _("依申请公开")

    def ready(self):
        from core import content, roles, security
        from disclosure.roles import REVIEWER, TOWN_ADMIN, UNIT_EDITOR

        from . import models

        security.guard_model_fields(self)
        # The applicant's particulars: no public page shows these rows (the
        # tracking page is reached by the applicant's code and never cached).
        content.private(models.InfoRequest, models.InfoRequestEvent, models.Remedy)
        roles.grant(TOWN_ADMIN, "govinfo.*")
        # Town office staff handle (draft answers, clock steps); a reviewer
        # approves the answer (govinfo/services.py checks who may do which).
        handling = (
            "govinfo.view_inforequest",
            "govinfo.add_inforequest",
            "govinfo.change_inforequest",
            "govinfo.view_inforequestevent",
            "govinfo.view_remedy",
        )
        roles.grant(UNIT_EDITOR, *handling)
        roles.grant(REVIEWER, *handling, "govinfo.approve_inforequest")

"""Admin classes of libraries, adjusted where they fail in this project."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.utils import timezone


class AccessAttemptsAdmin(AccessAttemptAdmin):
    ordering = ["-attempt_time"]  # the model has none; a paginated list needs one

    @admin.action(
        description=AccessAttemptAdmin.cleanup_expired_attempts.short_description
    )
    def cleanup_expired_attempts(self, request, queryset):
        # django-axes takes "now" from the log-in attempt it expects the request
        # to be; an admin request is none, and the action failed with a 500.
        request.axes_attempt_time = timezone.now()
        return super().cleanup_expired_attempts(request, queryset)


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, AccessAttemptsAdmin)

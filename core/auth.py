"""Django's ModelBackend, with the session's user read from kept SQL.

Every logged-in request that misses the page cache loads its user by key
(AuthenticationMiddleware, `ModelBackend.get_user`), and Django built and
compiled that query each time: about 0.7 ms of a party member's miss. Here
its SQL is kept (core.compiled, the key a parameter); the row is read on
every request as before, and Django's checks of it (is_active, the session's
password hash) run as they did.
"""

from django.contrib.auth import backends, get_user_model
from django.core.exceptions import ValidationError

from core import compiled

# Sessions logged in before this backend name Django's; the session store
# reads them as ours (core.sessions), so no one is logged out by the change.
LEGACY_PATH = "django.contrib.auth.backends.ModelBackend"
PATH = "core.auth.ModelBackend"


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        found = compiled.rows(
            model,
            ("session-user",),
            lambda at, key: model._default_manager.filter(pk=key),
            keys=(pk,),
        )
        user = found[0] if found else None
        return user if user is not None and self.user_can_authenticate(user) else None

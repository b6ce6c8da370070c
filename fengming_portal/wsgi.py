import os

from django.core.wsgi import get_wsgi_application

from core.runtime import tune_gc

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fengming_portal.settings")

application = get_wsgi_application()
# The app is loaded: the garbage collector leaves it alone (core/runtime.py).
tune_gc()

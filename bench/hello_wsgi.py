"""`gunicorn -c deploy/gunicorn.conf.py bench.hello_wsgi`: the hello-world app."""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.hello_settings"
application = get_wsgi_application()

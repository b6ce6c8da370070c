from django.http import HttpResponse
from django.urls import path


def hello(request):
    return HttpResponse("hello, world\n", content_type="text/plain")


urlpatterns = [path("", hello), path("healthz", hello)]

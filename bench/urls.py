"""The site's URLs plus `/bench/floor/`: a bare view that only authenticates
the API token, the least a create request can cost (the benchmark's floor)."""

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from generations.api.tokens import api_token_authenticate
from zimage_site.urls import urlpatterns as site_urlpatterns


@csrf_exempt
def floor(request):
    header = request.headers.get("Authorization", "").split()
    token = api_token_authenticate(header[1]) if len(header) == 2 else None
    if token is None:
        return HttpResponse(status=401)
    return JsonResponse({"user": token.user_id}, status=202)


urlpatterns = [path("bench/floor/", floor), *site_urlpatterns]

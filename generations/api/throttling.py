from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class UserThrottle(SimpleRateThrottle):
    """Requests per user (per address when anonymous) at API_THROTTLE_RATE,
    e.g. "120/min"; empty turns it off. Read at request time, not import time."""

    scope = "user"

    def get_rate(self):
        return settings.API_THROTTLE_RATE or None

    def get_cache_key(self, request, view):
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

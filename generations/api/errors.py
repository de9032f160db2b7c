"""Every API error in one shape: `{"error": {"code", "message", "fields"}}`.

Domain exceptions from the services map to HTTP statuses here, so views stay
thin: they call a service and let its exception travel.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from generations.billing.ledger import InsufficientCredits
from generations.lifecycle import services
from generations.lifecycle.idempotency import IdempotencyConflict
from generations.providers import InvalidRequest


class ApiError(exceptions.APIException):
    def __init__(self, status_code: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message, code)
        self.status_code, self.code, self.fields = status_code, code, fields or {}


DOMAIN = {
    InsufficientCredits: (status.HTTP_402_PAYMENT_REQUIRED, "insufficient_credits"),
    services.LimitExceeded: (status.HTTP_429_TOO_MANY_REQUESTS, "concurrency_limit"),
    IdempotencyConflict: (status.HTTP_422_UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
    services.GenerationInFlight: (status.HTTP_409_CONFLICT, "generation_in_flight"),
}


def translate(exc: Exception) -> Exception:
    """A domain (or Django) exception as an APIException; anything else unchanged."""
    if isinstance(exc, Http404):
        return exceptions.NotFound(str(exc) or None)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, InvalidRequest):
        return ApiError(400, "invalid_request", exc.message, {exc.field: [exc.message]})
    for kind, (status_code, code) in DOMAIN.items():
        if isinstance(exc, kind):
            return ApiError(status_code, code, str(exc))
    return exc


def exception_handler(exc, context):
    exc = translate(exc)
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = {"error": error_body(exc)}
    return response


def error_body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, ApiError):
        return {"code": exc.code, "message": str(exc.detail), "fields": exc.fields}
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return {
            "code": "invalid",
            "message": _("Some fields are invalid; see `fields`."),
            "fields": {name: _messages(value) for name, value in detail.items()},
        }
    codes = exc.get_codes()
    return {
        "code": codes if isinstance(codes, str) else exc.default_code,
        "message": str(exc.detail),
        "fields": {},
    }


def _messages(value) -> list[str]:
    """Nested errors (a list item, a nested object) flattened to plain strings."""
    if isinstance(value, dict):
        return [f"{key}: {msg}" for key, inner in value.items() for msg in _messages(inner)]
    if isinstance(value, list):
        return [msg for item in value for msg in _messages(item)]
    return [str(value)]


def not_found(request, exception):
    """Unknown URLs under the APIs answer in their shape; the site's pages stay HTML."""
    if request.path.startswith("/api/"):
        body = {"code": "not_found", "message": _("No such endpoint."), "fields": {}}
        return JsonResponse({"error": body}, status=404)
    if request.path.startswith("/v1/"):
        return JsonResponse(
            {
                "error": {
                    "message": _("Unknown endpoint %(path)s.") % {"path": request.path},
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "unknown_url",
                }
            },
            status=404,
        )
    return page_not_found(request, exception)

"""Why a generation failed, in the reader's language.

A failed generation keeps the English message written when it failed, often
with the provider's own words in it; the API shows that. Pages in another
language show a translated sentence for the known codes instead (the
English message stays in the tooltip), and the message itself for a code
not listed here."""

from django.utils import translation
from django.utils.translation import gettext_lazy as _

MODERATION = _("The prompt or the image failed the provider's content moderation.")
BAD_KEY = _("The provider rejected the API key; an admin must fix it.")
NO_BALANCE = _("The provider account has no balance left; an admin must top it up.")
RATE_LIMITED = _("The provider is rate limiting requests.")
NOT_ALLOWED = _("The provider account may not use this model.")
TIMEOUT = _("The provider did not answer in time.")
PROVIDER_ERROR = _("The provider had an internal error.")

TEXTS = {
    # The site's own codes.
    "Timeout": TIMEOUT,
    "ConnectionError": _("The provider could not be reached."),
    "BadResponse": _("The provider sent an answer the site could not read."),
    "InternalError": _("An internal error stopped this image."),
    "WorkerLost": _("The worker handling this image stopped."),
    "ImageExpired": _("The provider's image link expired before the image could be copied."),
    "ImageDownloadFailed": _("Downloading the image from the provider failed."),
    "ImageTooLarge": _("The provider's image was larger than the site accepts."),
    "NotAnImage": _("The provider sent something that is not an image."),
    "WrongImageSize": _("The provider's image does not have the size that was asked for."),
    "ImageURLBlocked": _("The provider's image link points to an address the site may not fetch."),
    "StorageUnavailable": _("The image could not be saved to storage."),
    "InvalidRequest": _("The provider cannot make an image with these settings."),
    "GenerationFailed": _("The provider could not make this image."),
    "WorkerUnavailable": _("No GPU worker is reachable right now."),
    "DemoFailure": _("The demo renderer was asked to fail."),
    "ProviderBusy": _("Waiting for a free slot at the provider."),
    # HTTP statuses without a code of the provider's own (providers/base.py).
    "HTTP400": _("The provider rejected the request (size, seed or prompt)."),
    "HTTP401": BAD_KEY,
    "HTTP402": NO_BALANCE,
    "HTTP403": NOT_ALLOWED,
    "HTTP404": _("The provider has no such endpoint or model; an admin must check its base URL."),
    "HTTP408": TIMEOUT,
    "HTTP429": RATE_LIMITED,
    # The providers' documented codes (DashScope, OpenAI-compatible).
    "InvalidParameter": _("The provider rejected the request (size, seed or prompt)."),
    "DataInspectionFailed": MODERATION,
    "content_policy_violation": MODERATION,
    "moderation_blocked": MODERATION,
    "InvalidApiKey": BAD_KEY,
    "invalid_api_key": BAD_KEY,
    "Arrearage": NO_BALANCE,
    "insufficient_quota": NO_BALANCE,
    "AccessDenied": NOT_ALLOWED,
    "RequestTimeOut": TIMEOUT,
    "Throttling": RATE_LIMITED,
    # Sub-codes whose meaning differs from their family's (the family is the fallback).
    "Throttling.AllocationQuota": _("The provider account's quota is used up; an admin must raise it."),
    "InternalError.Algo": PROVIDER_ERROR,  # the provider's, not the site's InternalError
    "IPInfringementSuspect": _("The provider suspects the prompt infringes someone's intellectual property."),
    "BadRequest.TooLarge": _("The request was too large for the provider."),
}


def error_text(code: str, message: str) -> str:
    """`message` for English readers; otherwise the translated sentence for
    `code` (any HTTP 5xx is the provider's internal error), or `message`."""
    if (translation.get_language() or "en").split("-")[0] == "en":
        return message
    text = TEXTS.get(code) or TEXTS.get(code.split(".")[0])
    if text is None and code.startswith("HTTP5"):
        text = PROVIDER_ERROR
    return str(text) if text is not None else message

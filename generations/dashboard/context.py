from django.utils.functional import SimpleLazyObject

from generations.billing import ledger


def balance(request):
    """The header's balance, on every page; lazy, so a page that never shows
    it (an image, a public link) costs no query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"balance": SimpleLazyObject(lambda: ledger.balance(user=user))}

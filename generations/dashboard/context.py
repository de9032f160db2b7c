from django.utils.functional import SimpleLazyObject

from generations.billing import credit_requests, spendable


def balance(request):
    """The header's balance, on every page: what the user can spend, their own
    credits and their team's pool (`spendable`). Lazy, so a page that never
    shows it (an image, a public link) costs no query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"balance": SimpleLazyObject(lambda: spendable.spendable_for(user))}


def credit_notices(request):
    """Answers to the user's credit requests not yet shown to them, each told
    once in the page's notices (`credit_requests.notices_take`). Lazy: only a
    full page, which shows the notices, asks."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"credit_notices": SimpleLazyObject(lambda: credit_requests.notices_take(user))}

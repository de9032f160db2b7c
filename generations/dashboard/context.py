from django.utils.functional import SimpleLazyObject

from generations.billing import spendable


def balance(request):
    """The header's balance, on every page: what the user can spend, their own
    credits and their team's pool (`spendable`). Lazy, so a page that never
    shows it (an image, a public link) costs no query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"balance": SimpleLazyObject(lambda: spendable.spendable_for(user))}

"""What the commands that create images share: whose credits pay, and a
refusal (bad input, too few credits, a limit) as the command's error, so it
exits non-zero with the site's own sentence and nothing written."""

from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from generations.billing.ledger import InsufficientCredits
from generations.billing.quotas import LimitExceeded
from generations.providers import InvalidRequest


def command_user(username):
    """The named user, or the first admin."""
    users = get_user_model().objects
    found = users.filter(username=username) if username else users.filter(is_superuser=True).order_by("pk")
    user = found.first()
    if not user:
        raise CommandError(
            f"No user {username!r}." if username else "No admin yet: run `make run` once or pass --user."
        )
    return user


@contextmanager
def refusals_as_errors():
    """Around a create: its refusals as CommandError."""
    try:
        yield
    except InvalidRequest as exc:
        raise CommandError(f"{exc.field}: {exc.message}") from exc
    except (InsufficientCredits, LimitExceeded) as exc:
        raise CommandError(str(exc)) from exc
    except ValidationError as exc:  # parse_size
        raise CommandError(" ".join(exc.messages)) from exc

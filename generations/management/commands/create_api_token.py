from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from generations.api import tokens


class Command(BaseCommand):
    help = "Create a named API token for USERNAME and print it (only a hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What the token is for")
        parser.add_argument(
            "--expires-days", type=int, default=None, help="Days until it stops working (default: never)"
        )

    def handle(self, *args, username, name, expires_days, **opts):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user '{username}'.")
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1.")
        token, raw = tokens.api_token_create(user=user, name=name, expires_days=expires_days)
        self.stderr.write(
            f"token '{token.name}' for {username} ({token.prefix}...); shown once, keep it somewhere safe:"
        )
        self.stdout.write(raw)

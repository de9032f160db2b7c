import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from generations.billing import ledger


class Command(BaseCommand):
    help = (
        "Create the first admin (ADMIN_USERNAME, default 'admin') with ADMIN_PASSWORD or a "
        "printed one-time password, and grant it starting credits. Does nothing if it exists."
    )

    def handle(self, *args, **opts):
        username = os.environ.get("ADMIN_USERNAME", "admin")
        users = get_user_model().objects
        if users.filter(username=username).exists():
            self.stdout.write(f"admin '{username}' exists")
            return
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        # The account and its STARTING_CREDITS come with the user (ledger.account_open).
        user = users.create_superuser(username=username, email="", password=password)
        balance = ledger.account_for(user).balance
        self.stdout.write(self.style.SUCCESS(f"created admin '{username}' with {balance} credits"))
        if not os.environ.get("ADMIN_PASSWORD"):
            # Printed once, to the terminal only; it is not stored anywhere else.
            self.stdout.write(
                self.style.WARNING(f"one-time password: {password}  (change it after signing in)")
            )

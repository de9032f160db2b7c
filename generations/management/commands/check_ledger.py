from django.core.management.base import BaseCommand, CommandError

from generations.billing.ledger import ledger_problems
from generations.runtime import metrics


class Command(BaseCommand):
    help = "Verify the credit ledger: balances, holds and settlements."

    def handle(self, *args, **opts):
        problems = ledger_problems()
        metrics.ledger_checked(len(problems))  # zimage_ledger_problems, for the alert rule
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} ledger problem(s)")
        self.stdout.write(self.style.SUCCESS("ledger OK"))

from django.conf import settings
from django.db import migrations


def open_missing_accounts(apps, schema_editor):
    """Every user gets the credit account that new users now get on creation,
    so staff can grant them credits before their first visit. Empty: the
    ledger is the only writer of credit entries, and a balance with no entry
    would break the rule that the balance is the ledger sum; an older user had
    no starting credits and gets none here (staff grant them if they wish)."""
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    CreditAccount = apps.get_model("generations", "CreditAccount")
    missing = User.objects.filter(credit_account__isnull=True).values_list("pk", flat=True)
    CreditAccount.objects.bulk_create(
        [CreditAccount(user_id=pk) for pk in missing.iterator()], batch_size=1000
    )


class Migration(migrations.Migration):

    dependencies = [
        ("generations", "0007_batches"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(open_missing_accounts, migrations.RunPython.noop),
    ]

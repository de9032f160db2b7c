from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0003_drop_indexes_covered_by_composites"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="creditaccount",
            options={"permissions": [("grant_credits", "Can grant or deduct credits and set allowances")]},
        ),
    ]

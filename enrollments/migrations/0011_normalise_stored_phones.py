"""Customers' phones stored before the one phone rule (opsadmin.phones) in its form."""

from django.db import migrations

from opsadmin.phones import phones_normalise_stored


def normalise(apps, schema_editor):
    phones_normalise_stored(apps.get_model("enrollments", "Customer"), "phone")


class Migration(migrations.Migration):
    dependencies = [
        ("enrollments", "0010_plan_description"),
    ]

    # Reversing keeps the normalised form: what was typed before is not needed.
    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]

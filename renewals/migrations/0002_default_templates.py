"""Default contract expiration notice templates (PUCT §25.475(e)) and the schedule row."""

from django.db import migrations

EMAIL_BODY = """<p>Dear [CUSTOMER_NAME],</p>
<p>Your electricity contract for [SERVICE_ADDRESS] (ESIID [ESIID]) on plan [PLAN_NAME]
([PLAN_CODE]) expires on <strong><u>[CONTRACT_END_DATE]</u></strong>.</p>
<p>If you do nothing, your service continues on our default renewal plan [RENEWAL_PLAN_NAME]
([RENEWAL_PLAN_CODE]); its Electricity Facts Label is enclosed with the final notice.
No early termination fee applies if you switch in the last 14 days of your contract.</p>
<p>For comparison, the price to compare of [UTILITY_NAME] is [UTILITY_PRICE_TO_COMPARE].</p>
<p>Billing account number: [BILLING_ACCOUNT_NUMBER]</p>
"""


def create(apps, schema_editor):
    NoticeTemplate = apps.get_model("notices", "NoticeTemplate")
    RenewalSetup = apps.get_model("renewals", "RenewalSetup")
    subject = "Contract Expiration Notice. See Enclosed."
    email, _ = NoticeTemplate.objects.get_or_create(
        code="renewal-email",
        defaults={
            "name": "Contract expiration notice (email)",
            "kind": "email",
            "record_kind": "enrollment",
            "subject": subject,
            "body": EMAIL_BODY,
        },
    )
    letter, _ = NoticeTemplate.objects.get_or_create(
        code="renewal-letter",
        defaults={
            "name": "Contract expiration notice (letter)",
            "kind": "letter",
            "record_kind": "enrollment",
            "subject": subject,
            "body": f"<p><strong>{subject}</strong></p>\n" + EMAIL_BODY,
        },
    )
    RenewalSetup.objects.update_or_create(
        pk=1, defaults={"email_template": email, "letter_template": letter}
    )


class Migration(migrations.Migration):
    dependencies = [("renewals", "0001_notices_setup_exports")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]

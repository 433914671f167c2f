from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from billing import outbox  # noqa: F401  declares the billing outbox (staff screen)
        from opsadmin.roles import grant

        grant("Ops", ["billing.view_billingrequest", "billing.change_billingrequest"])

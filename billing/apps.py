from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from opsadmin.roles import grant

        grant("Ops", ["billing.view_billingrequest", "billing.change_billingrequest"])

from __future__ import annotations

from django.apps import AppConfig


class AuthorizationsConfig(AppConfig):
    name = "authorizations"
    verbose_name = "Usage data authorization and plan pricing on own usage"

    def ready(self) -> None:
        from authorizations.own_usage import own_usage_for_products
        from enrollments.products_extras import register_own_usage_pricer
        from opsadmin.roles import grant

        register_own_usage_pricer(own_usage_for_products)

        perms = [
            "authorizations.view_usageauthorization",
            "authorizations.add_usageauthorization",
            "authorizations.change_usageauthorization",
        ]
        grant("Agent", perms)
        grant("Ops", perms)

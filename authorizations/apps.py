from __future__ import annotations

from django.apps import AppConfig


class AuthorizationsConfig(AppConfig):
    name = "authorizations"
    verbose_name = "Usage data authorization and plan pricing on own usage"

    def ready(self) -> None:
        from opsadmin.roles import grant

        perms = [
            "authorizations.view_usageauthorization",
            "authorizations.add_usageauthorization",
            "authorizations.change_usageauthorization",
        ]
        grant("Agent", perms)
        grant("Ops", perms)

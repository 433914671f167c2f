from __future__ import annotations

from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"

    def ready(self) -> None:
        from opsadmin import events
        from opsadmin.roles import grant
        from usage.subscriptions import SUBSCRIPTIONS

        events.register(SUBSCRIPTIONS)
        grant("Ops", ["usage.view_usagesyncstate", "usage.change_usagesyncstate"])
        grant("Agent", ["usage.view_usagesyncstate"])

from __future__ import annotations

from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"

    def ready(self) -> None:
        from enrollments import hooks
        from opsadmin.roles import grant
        from usage.tasks import on_enrollment_accepted

        hooks.on_accepted(on_enrollment_accepted)
        grant("Ops", ["usage.view_usagesyncstate", "usage.change_usagesyncstate"])
        grant("Agent", ["usage.view_usagesyncstate"])

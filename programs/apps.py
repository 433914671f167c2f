from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "programs"

    def ready(self) -> None:
        from opsadmin.roles import grant
        from programs import outbox  # noqa: F401  declares the DERMS outbox (staff screen)

        agent = [
            "programs.view_program",
            "programs.view_programenrollment",
            "programs.add_programenrollment",
            "programs.change_programenrollment",
            "programs.view_device",
            "programs.change_device",
            "programs.add_unavailability",
            "programs.change_devicereservation",
            "programs.view_workorder",
            "programs.add_workorder",
        ]
        grant("Agent", agent)
        config = [
            f"programs.{action}_{model}"
            for model in (
                "programtype",
                "program",
                "controllableassettype",
                "headendsystem",
                "entitygroup",
                "devicespecification",
                "rateclass",
                "premiserateclass",
            )
            for action in ("view", "add", "change")
        ]
        grant(
            "Ops",
            [
                *agent,
                *config,
                "programs.change_workorder",
                "programs.view_syncrequest",
                "programs.change_syncrequest",
            ],
        )

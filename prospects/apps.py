from django.apps import AppConfig


class ProspectsConfig(AppConfig):
    name = "prospects"

    def ready(self) -> None:
        from opsadmin.roles import grant
        from prospects import replacement_values  # noqa: F401  registers with notices

        grant(
            "Ops",
            [
                f"prospects.{action}_{model}"
                for model in (
                    "prospect",
                    "prospectcontact",
                    "prospectserviceaddress",
                    "prospectnote",
                    "broker",
                )
                for action in ("view", "add", "change", "delete")
            ],
        )

from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "notices"

    def ready(self) -> None:
        from opsadmin.roles import grant

        grant(
            "Ops",
            [
                "notices.view_noticetemplate",
                "notices.add_noticetemplate",
                "notices.change_noticetemplate",
                "notices.view_letter",
                "notices.change_letter",
            ],
        )

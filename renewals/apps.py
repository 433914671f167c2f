from django.apps import AppConfig


class RenewalsConfig(AppConfig):
    name = "renewals"

    def ready(self) -> None:
        from notices.services import on_letter_mailed
        from opsadmin.roles import grant
        from renewals.services import LETTER_SUBJECT, renewal_letter_mailed

        on_letter_mailed(LETTER_SUBJECT, renewal_letter_mailed)
        grant(
            "Ops",
            [
                "renewals.view_renewalnotice",
                "renewals.export_renewalnotice",
                "renewals.view_renewalexport",
                "renewals.add_renewalexport",
                "renewals.view_renewalsetup",
                "renewals.change_renewalsetup",
            ],
        )

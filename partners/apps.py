from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "Sales partners: Sales Importer and Enrollment API"

    def ready(self) -> None:
        from opsadmin.roles import grant

        # Ops runs the Sales Importer and manages partners and their API keys.
        grant(
            "Ops",
            [
                "partners.add_importbatch",
                "partners.view_importbatch",
                "partners.view_partner",
                "partners.add_partner",
                "partners.add_partnerapikey",
                "partners.view_partnerapikey",
                "partners.change_partnerapikey",
            ],
        )

from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "Sales partners: Sales Importer and Enrollment API"

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OpsAdminConfig(AppConfig):
    name = "opsadmin"
    verbose_name = "OpsAdmin core"

    def ready(self) -> None:
        from opsadmin import roles, security  # noqa: F401 - security registers deploy checks

        # Not domain flow: keeps the staff groups' permissions in step with the code.
        post_migrate.connect(roles.sync_group_permissions, dispatch_uid="opsadmin.sync_roles")

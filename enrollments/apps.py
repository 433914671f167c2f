from django.apps import AppConfig


class EnrollmentsConfig(AppConfig):
    name = "enrollments"

    def ready(self) -> None:
        from enrollments import replacement_values  # noqa: F401  registers with notices
        from enrollments.subscriptions import SUBSCRIPTIONS
        from opsadmin import events
        from opsadmin.roles import grant

        events.register(SUBSCRIPTIONS)

        grant(
            "Agent",
            [
                "enrollments.add_enrollment",
                "enrollments.view_enrollment",
                "enrollments.view_customer",
                "enrollments.add_customer",
                "enrollments.view_plan",
                # catalogue (read): Agent views, Ops manages
                "enrollments.view_tducharge",
                "enrollments.view_promocode",
                "enrollments.view_referralsource",
                "enrollments.view_consentmethod",
            ],
        )
        grant(
            "Ops",
            [
                "enrollments.add_enrollment",
                "enrollments.view_enrollment",
                "enrollments.change_enrollment",
                "enrollments.view_customer",
                "enrollments.view_plan",
                "enrollments.change_plan",
                "enrollments.add_plan",
                *(
                    f"enrollments.{verb}_{model}"
                    for verb in ("view", "add", "change")
                    for model in ("tducharge", "promocode", "referralsource", "consentmethod")
                ),
            ],
        )

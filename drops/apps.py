from django.apps import AppConfig


class DropsConfig(AppConfig):
    name = "drops"

    def ready(self) -> None:
        from billing.registry import REQUEST_ACKNOWLEDGED, REQUEST_COMPLETED, register_handler
        from drops.selectors import customer_may_drop
        from drops.services import on_billing_request_acknowledged, on_billing_request_completed
        from opsadmin.context_processors import PORTAL_OFFERS
        from opsadmin.roles import grant

        # My Account's Manage menu offers Cancel / Move Out where drops' rule says so.
        PORTAL_OFFERS.register("drop", customer_may_drop)

        # Billing tells us when ESG acknowledged a drop / move-out (billing may not import us).
        register_handler(REQUEST_ACKNOWLEDGED, on_billing_request_acknowledged)
        # ... and when the drop took effect (the enrollment's service ends then).
        register_handler(REQUEST_COMPLETED, on_billing_request_completed)

        # Retention staff work in Ops: the queue, releasing / cancelling held drops, the
        # drop codes and the per-utility hold windows.
        grant(
            "Ops",
            [
                "drops.view_droprequest",
                "drops.release_droprequest",
                "drops.cancel_droprequest",
                "drops.view_dropcode",
                "drops.add_dropcode",
                "drops.change_dropcode",
                "drops.view_dropsettings",
                "drops.add_dropsettings",
                "drops.change_dropsettings",
            ],
        )

from django.apps import AppConfig


class DropsConfig(AppConfig):
    name = "drops"

    def ready(self) -> None:
        from drops.selectors import customer_may_drop
        from drops.subscriptions import SUBSCRIPTIONS
        from opsadmin import events
        from opsadmin.context_processors import PORTAL_OFFERS
        from opsadmin.roles import grant

        # My Account's Manage menu offers Cancel / Move Out where drops' rule says so.
        PORTAL_OFFERS.register("drop", customer_may_drop)

        # Billing's answers about drops / move-outs (billing may not import us).
        events.register(SUBSCRIPTIONS)

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

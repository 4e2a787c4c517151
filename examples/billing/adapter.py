"""The billing service as the fault harness sees it: a ``consume`` service with one endpoint.

The scenario declares stream ``ORDERS`` (subject ``orders.placed``) and the durable pull
consumer ``BILLING`` in its ``topology``; the harness's driver publishes each order into
the stream and collects the billed events on ``billing.billed``.
``nats-harness run scenarios --sut adapter:make`` runs the real :class:`BillingService`;
``adapter:make_broken`` runs it with one realistic defect (it acks each order as soon as
it is fetched, before billing it).
"""

from __future__ import annotations

import json

from billing import BillingConfig, BillingService

from nats_fault_harness.services import Endpoint, Service

ORDERS = Endpoint(
    "orders.placed",
    output="billing.billed",
    name="billing",
    consumer="BILLING",
    stream="ORDERS",
)


class BillingAdapter(Service):
    """Starts and stops a real :class:`BillingService` through the harness's links."""

    name = "billing"
    capabilities = frozenset({"consume"})

    def __init__(self, *, ack_on_fetch: bool = False) -> None:
        self.ack_on_fetch = ack_on_fetch
        self.service: BillingService | None = None

    async def start(self, env, report):
        self.report = report
        config = BillingConfig(
            servers=env.servers,  # the faulted links, never the server itself
            stream=ORDERS.stream,
            durable=ORDERS.consumer,
            billed_subject=ORDERS.output,
            ack_on_fetch=self.ack_on_fetch,
            callbacks=self.connection_callbacks(report),
            on_event=report,  # billed, billing_failed, fetch_error, ack_failed, already_billed
        )
        self.service = BillingService(config)
        await self.service.start()
        return self.single_connection()

    async def stop(self):
        if self.service is not None:
            await self.service.stop()
            s = self.service
            # what the service itself counted, for the report's timeline
            self.report(
                "handled",
                {
                    "count": s.received,
                    "billed": len(s.billed),
                    "repeated": s.repeated,
                    "failed": s.failed,
                    "fetch_errors": s.fetch_errors,
                },
            )

    def endpoints(self):
        return [ORDERS]

    def make_input(self, endpoint, msg_id):
        return json.dumps({"id": msg_id, "customer": "c-7", "sku": "apple", "qty": 3}).encode()


def make():
    """The billing service as it ships."""
    return BillingAdapter()


def make_broken():
    """The billing service that acks each order on fetch, before billing it."""
    return BillingAdapter(ack_on_fetch=True)

"""Hidden workload: a wholesaler with a large catalogue, few business customers and
long orders; revenue per category and month plus per-customer summaries."""

from __future__ import annotations

import random
from typing import Any

from salesreport import customer_summaries, order_lines, revenue_by, top_customers

PRODUCTS: list[dict[str, Any]] = []
CUSTOMERS: list[dict[str, Any]] = []
ORDERS: list[dict[str, Any]] = []

_FAMILIES = ["fasteners", "adhesives", "abrasives", "fittings", "valves", "hoses",
             "bearings", "seals", "cables", "connectors", "fuses", "relays", "gloves",
             "masks", "signage", "shelving"]


def setup() -> None:
    global PRODUCTS, CUSTOMERS, ORDERS
    rng = random.Random(8080)
    PRODUCTS = [
        {"sku": f"W{i:06d}", "name": f"{family} #{i}", "category": family,
         "price_cents": rng.randrange(25, 9000)}
        for i, family in ((i, rng.choice(_FAMILIES)) for i in range(2200))
    ]
    PRODUCTS += [dict(p, price_cents=0) for p in rng.sample(PRODUCTS, 50)]  # stale duplicates
    CUSTOMERS = [
        {"id": f"B2B-{i:04d}", "name": f"Workshop {i}", "region": rng.choice(["north", "south",
                                                                               "east", "west"]),
         "tier": rng.choice(["standard", "silver", "gold"])}
        for i in range(90)
    ]
    orders = []
    for i in range(340):
        customer = rng.choice(CUSTOMERS)
        items = [{"sku": rng.choice(PRODUCTS)["sku"], "qty": rng.randrange(1, 200)}
                 for _ in range(rng.randrange(3, 14))]
        orders.append({"id": f"PO-{i:05d}", "customer_id": customer["id"],
                       "date": f"2023-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                       "items": items, "status": rng.choice(["paid", "paid", "shipped"])})
    ORDERS = orders


def workload() -> dict[str, Any]:
    lines = order_lines(ORDERS, PRODUCTS, CUSTOMERS)
    summaries = customer_summaries(lines, CUSTOMERS)
    return {
        "by_category": revenue_by(lines, "category"),
        "by_month": revenue_by(lines, "month"),
        "summaries": summaries,
        "top": top_customers(summaries, 5),
        "units": sum(line.quantity for line in lines),
    }

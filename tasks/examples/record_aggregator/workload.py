"""Visible workload: the monthly report for a mid-sized shop (one quarter of orders)."""

from __future__ import annotations

import random
from typing import Any

from salesreport import build_report

PRODUCTS: list[dict[str, Any]] = []
CUSTOMERS: list[dict[str, Any]] = []
ORDERS: list[dict[str, Any]] = []

_CATEGORIES = ["garden", "kitchen", "books", "toys", "outdoor", "office", "audio", "bath",
               "lighting", "pets", "tools", "sports"]
_REGIONS = ["EMEA", "AMER", "APAC", "LATAM", "NORDICS"]
_TIERS = ["standard", "standard", "standard", "silver", "gold", "platinum"]


def setup() -> None:
    global PRODUCTS, CUSTOMERS, ORDERS
    rng = random.Random(314)
    PRODUCTS = [
        {"sku": f"{cat[:2].upper()}-{i:05d}", "name": f"{cat} item {i}", "category": cat,
         "price_cents": rng.randrange(199, 25000)}
        for i, cat in ((i, rng.choice(_CATEGORIES)) for i in range(400))
    ]
    CUSTOMERS = [
        {"id": f"C-{i:05d}", "name": f"Customer {i}", "region": rng.choice(_REGIONS),
         "tier": rng.choice(_TIERS)}
        for i in range(300)
    ]
    popular = PRODUCTS[:: 7]
    orders = []
    for i in range(1500):
        customer = CUSTOMERS[min(int(rng.paretovariate(1.2)) - 1, len(CUSTOMERS) - 1)
                             if rng.random() < 0.3 else rng.randrange(len(CUSTOMERS))]
        items = [{"sku": rng.choice(popular if rng.random() < 0.4 else PRODUCTS)["sku"],
                  "qty": rng.randrange(1, 5)} for _ in range(rng.randrange(1, 6))]
        order: dict[str, Any] = {
            "id": f"O-{i:06d}", "customer_id": customer["id"],
            "date": f"2024-{rng.randrange(1, 4):02d}-{rng.randrange(1, 29):02d}", "items": items,
        }
        if rng.random() < 0.05:
            order["status"] = "cancelled"
        if rng.random() < 0.1:
            order["ship_region"] = rng.choice(_REGIONS)
        orders.append(order)
    ORDERS = orders


def workload() -> dict[str, Any]:
    return build_report(ORDERS, PRODUCTS, CUSTOMERS, top=20)

"""Pricing order lines and rolling them up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salesreport.catalog import Record, find_customer, find_product, unit_price_cents


@dataclass(frozen=True)
class OrderLine:
    """One priced line of an order."""

    order_id: str
    date: str  # ISO date, YYYY-MM-DD
    customer_id: str
    region: str
    sku: str
    category: str
    quantity: int
    revenue_cents: int

    @property
    def month(self) -> str:
        return self.date[:7]


def order_lines(
    orders: list[Record], products: list[Record], customers: list[Record]
) -> list[OrderLine]:
    """Price every line of every order.

    The region is the order's ``ship_region`` if set, else the customer's region.
    Cancelled orders are skipped. Raises :class:`UnknownProductError` or
    :class:`UnknownCustomerError` for dangling references.
    """
    lines = []
    for order in orders:
        if order.get("status") == "cancelled":
            continue
        for item in order["items"]:
            customer = find_customer(customers, order["customer_id"])
            product = find_product(products, item["sku"])
            lines.append(
                OrderLine(
                    order_id=order["id"],
                    date=order["date"],
                    customer_id=customer["id"],
                    region=order.get("ship_region") or customer["region"],
                    sku=product["sku"],
                    category=product["category"],
                    quantity=item["qty"],
                    revenue_cents=item["qty"] * unit_price_cents(product, customer),
                )
            )
    return lines


def revenue_by(lines: list[OrderLine], field: str) -> dict[str, int]:
    """Total revenue per value of ``field`` (``"region"``, ``"category"``, ``"month"``...),
    largest first; ties in key order."""
    totals: dict[str, int] = {}
    for line in lines:
        key = getattr(line, field)
        totals[key] = totals.get(key, 0) + line.revenue_cents
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))


def customer_summaries(lines: list[OrderLine], customers: list[Record]) -> list[dict[str, Any]]:
    """One summary per customer that bought something, in customer-list order."""
    summaries = []
    for customer in customers:
        mine = [line for line in lines if line.customer_id == customer["id"]]
        if not mine:
            continue
        dates = [line.date for line in mine]
        categories = [line.category for line in mine]
        summaries.append(
            {
                "customer_id": customer["id"],
                "name": customer["name"],
                "orders": len({line.order_id for line in mine}),
                "revenue_cents": sum(line.revenue_cents for line in mine),
                "first_order": sorted(dates)[0],
                "last_order": sorted(dates)[-1],
                # Most frequent category; ties go to the alphabetically first one.
                "favourite_category": max(sorted(set(categories)), key=categories.count),
            }
        )
    return summaries


def top_customers(summaries: list[dict[str, Any]], n: int = 10) -> list[tuple[str, int]]:
    """The ``n`` customers with the highest revenue, as ``(customer_id, revenue_cents)``."""
    ranked = sorted(summaries, key=lambda s: s["revenue_cents"], reverse=True)
    return [(s["customer_id"], s["revenue_cents"]) for s in ranked[:n]]

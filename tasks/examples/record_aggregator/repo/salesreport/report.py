"""The full monthly report."""

from __future__ import annotations

from typing import Any

from salesreport.aggregate import customer_summaries, order_lines, revenue_by, top_customers
from salesreport.catalog import Record


def build_report(
    orders: list[Record], products: list[Record], customers: list[Record], *, top: int = 10
) -> dict[str, Any]:
    """Everything the monthly report shows, as plain data."""
    lines = order_lines(orders, products, customers)
    summaries = customer_summaries(lines, customers)
    return {
        "lines": len(lines),
        "revenue_cents": sum(line.revenue_cents for line in lines),
        "by_region": revenue_by(lines, "region"),
        "by_category": revenue_by(lines, "category"),
        "by_month": revenue_by(lines, "month"),
        "top_customers": top_customers(summaries, top),
        "customers": summaries,
    }

"""Monthly sales reports from order, product and customer exports."""

from salesreport.aggregate import (
    OrderLine,
    customer_summaries,
    order_lines,
    revenue_by,
    top_customers,
)
from salesreport.catalog import (
    UnknownCustomerError,
    UnknownProductError,
    find_customer,
    find_product,
    unit_price_cents,
)
from salesreport.report import build_report

__all__ = [
    "OrderLine",
    "UnknownCustomerError",
    "UnknownProductError",
    "build_report",
    "customer_summaries",
    "find_customer",
    "find_product",
    "order_lines",
    "revenue_by",
    "top_customers",
    "unit_price_cents",
]

__version__ = "0.9.2"

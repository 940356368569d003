"""Lookups in the product catalogue and the customer list.

Both are lists of dicts as exported by the shop::

    {"sku": "GD-0042", "name": "Hose reel", "category": "garden", "price_cents": 3499}
    {"id": "C-00017", "name": "Ada Lovelace", "region": "EMEA", "tier": "gold"}

If an export lists the same key twice, the first entry wins.
"""

from __future__ import annotations

from typing import Any

Record = dict[str, Any]

TIER_DISCOUNT_PCT = {"standard": 0, "silver": 5, "gold": 10, "platinum": 15}


class UnknownProductError(KeyError):
    """An order refers to a SKU that is not in the catalogue."""


class UnknownCustomerError(KeyError):
    """An order refers to a customer that is not in the customer list."""


def find_product(products: list[Record], sku: str) -> Record:
    """The catalogue entry for ``sku``."""
    product = next((p for p in products if p["sku"] == sku), None)
    if product is None:
        raise UnknownProductError(sku)
    return product


def find_customer(customers: list[Record], customer_id: str) -> Record:
    """The customer with id ``customer_id``."""
    customer = next((c for c in customers if c["id"] == customer_id), None)
    if customer is None:
        raise UnknownCustomerError(customer_id)
    return customer


def unit_price_cents(product: Record, customer: Record) -> int:
    """The product's price for this customer, after the tier discount (rounded down)."""
    discount = TIER_DISCOUNT_PCT.get(customer.get("tier", "standard"), 0)
    return product["price_cents"] * (100 - discount) // 100

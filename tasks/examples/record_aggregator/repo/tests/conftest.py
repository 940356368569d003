from typing import Any

import pytest


@pytest.fixture
def products() -> list[dict[str, Any]]:
    return [
        {"sku": "GD-1", "name": "Hose reel", "category": "garden", "price_cents": 3499},
        {"sku": "KT-7", "name": "Kettle", "category": "kitchen", "price_cents": 2999},
        {"sku": "KT-9", "name": "Toaster", "category": "kitchen", "price_cents": 4550},
        {"sku": "BK-3", "name": "Novel", "category": "books", "price_cents": 1299},
        {"sku": "GD-1", "name": "Duplicate row", "category": "garden", "price_cents": 1},
    ]


@pytest.fixture
def customers() -> list[dict[str, Any]]:
    return [
        {"id": "C-1", "name": "Ada", "region": "EMEA", "tier": "gold"},
        {"id": "C-2", "name": "Grace", "region": "AMER", "tier": "standard"},
        {"id": "C-3", "name": "Linus", "region": "EMEA"},
        {"id": "C-4", "name": "Idle", "region": "APAC", "tier": "platinum"},
    ]


@pytest.fixture
def orders() -> list[dict[str, Any]]:
    return [
        {"id": "O-1", "customer_id": "C-1", "date": "2024-03-02",
         "items": [{"sku": "GD-1", "qty": 1}, {"sku": "KT-7", "qty": 2}]},
        {"id": "O-2", "customer_id": "C-2", "date": "2024-03-05",
         "items": [{"sku": "BK-3", "qty": 3}]},
        {"id": "O-3", "customer_id": "C-1", "date": "2024-02-28", "ship_region": "AMER",
         "items": [{"sku": "KT-9", "qty": 1}]},
        {"id": "O-4", "customer_id": "C-3", "date": "2024-03-09", "status": "cancelled",
         "items": [{"sku": "KT-9", "qty": 5}]},
        {"id": "O-5", "customer_id": "C-3", "date": "2024-03-11",
         "items": [{"sku": "BK-3", "qty": 1}, {"sku": "GD-1", "qty": 1}]},
    ]

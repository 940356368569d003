import pytest

from salesreport import (
    OrderLine,
    UnknownCustomerError,
    UnknownProductError,
    build_report,
    customer_summaries,
    order_lines,
    revenue_by,
    top_customers,
)


def test_order_lines(orders, products, customers) -> None:
    lines = order_lines(orders, products, customers)
    assert lines[:2] == [
        OrderLine("O-1", "2024-03-02", "C-1", "EMEA", "GD-1", "garden", 1, 3149),
        OrderLine("O-1", "2024-03-02", "C-1", "EMEA", "KT-7", "kitchen", 2, 5398),
    ]
    assert [line.order_id for line in lines] == ["O-1", "O-1", "O-2", "O-3", "O-5", "O-5"]
    assert lines[3].region == "AMER"  # ship_region overrides the customer's region
    assert lines[3].month == "2024-02"


def test_order_lines_unknown_references(orders, products, customers) -> None:
    bad_sku = [*orders, {"id": "O-9", "customer_id": "C-1", "date": "2024-03-30",
                         "items": [{"sku": "ZZ-0", "qty": 1}]}]
    with pytest.raises(UnknownProductError, match="ZZ-0"):
        order_lines(bad_sku, products, customers)
    bad_customer = [{"id": "O-9", "customer_id": "C-77", "date": "2024-03-30",
                     "items": [{"sku": "ZZ-0", "qty": 1}]}]
    with pytest.raises(UnknownCustomerError, match="C-77"):
        order_lines(bad_customer, products, customers)


def test_order_without_items_contributes_nothing(products, customers) -> None:
    empty = [{"id": "O-0", "customer_id": "C-404", "date": "2024-01-01", "items": []}]
    assert order_lines(empty, products, customers) == []


def test_revenue_by(orders, products, customers) -> None:
    lines = order_lines(orders, products, customers)
    assert revenue_by(lines, "region") == {"EMEA": 3149 + 5398 + 1299 + 3499, "AMER": 3897 + 4095}
    assert list(revenue_by(lines, "category")) == ["kitchen", "garden", "books"]
    assert revenue_by(lines, "month") == {"2024-03": 17242, "2024-02": 4095}


def test_customer_summaries(orders, products, customers) -> None:
    summaries = customer_summaries(order_lines(orders, products, customers), customers)
    assert summaries == [
        {"customer_id": "C-1", "name": "Ada", "orders": 2, "revenue_cents": 12642,
         "first_order": "2024-02-28", "last_order": "2024-03-02",
         "favourite_category": "kitchen"},
        {"customer_id": "C-2", "name": "Grace", "orders": 1, "revenue_cents": 3897,
         "first_order": "2024-03-05", "last_order": "2024-03-05",
         "favourite_category": "books"},
        {"customer_id": "C-3", "name": "Linus", "orders": 1, "revenue_cents": 4798,
         "first_order": "2024-03-11", "last_order": "2024-03-11",
         "favourite_category": "books"},
    ]


def test_top_customers_keeps_ties_in_order() -> None:
    summaries = [{"customer_id": c, "revenue_cents": r}
                 for c, r in [("a", 5), ("b", 9), ("c", 5), ("d", 1)]]
    assert top_customers(summaries, 3) == [("b", 9), ("a", 5), ("c", 5)]
    assert top_customers([], 3) == []


def test_build_report(orders, products, customers) -> None:
    report = build_report(orders, products, customers, top=2)
    assert report["lines"] == 6
    assert report["revenue_cents"] == 17242 + 4095
    assert report["top_customers"] == [("C-1", 12642), ("C-3", 4798)]
    assert [s["customer_id"] for s in report["customers"]] == ["C-1", "C-2", "C-3"]


def test_favourite_category_tie_goes_to_alphabetical_first(products, customers) -> None:
    orders = [
        {"id": "O-1", "customer_id": "C-2", "date": "2024-01-03",
         "items": [{"sku": "KT-7", "qty": 1}, {"sku": "GD-1", "qty": 1}]},
        {"id": "O-2", "customer_id": "C-2", "date": "2024-01-01",
         "items": [{"sku": "BK-3", "qty": 9}, {"sku": "KT-9", "qty": 1}, {"sku": "GD-1", "qty": 2}]},
    ]
    (summary,) = customer_summaries(order_lines(orders, products, customers), customers)
    assert summary["favourite_category"] == "garden"  # garden and kitchen both appear twice
    assert (summary["first_order"], summary["last_order"]) == ("2024-01-01", "2024-01-03")
    assert summary["orders"] == 2


def test_duplicate_customer_rows_use_the_first(products, customers) -> None:
    customers = [*customers, {"id": "C-2", "name": "Grace (old)", "region": "APAC",
                              "tier": "platinum"}]
    orders = [{"id": "O-1", "customer_id": "C-2", "date": "2024-01-03",
               "items": [{"sku": "KT-7", "qty": 1}]}]
    (line,) = order_lines(orders, products, customers)
    assert (line.region, line.revenue_cents) == ("AMER", 2999)

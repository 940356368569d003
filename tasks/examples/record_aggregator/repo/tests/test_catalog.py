import pytest

from salesreport import (
    UnknownCustomerError,
    UnknownProductError,
    find_customer,
    find_product,
    unit_price_cents,
)


def test_find_product_first_entry_wins(products) -> None:
    assert find_product(products, "KT-7")["name"] == "Kettle"
    assert find_product(products, "GD-1")["name"] == "Hose reel"


def test_find_product_unknown(products) -> None:
    with pytest.raises(UnknownProductError) as info:
        find_product(products, "NOPE")
    assert info.value.args == ("NOPE",)


def test_find_customer(customers) -> None:
    assert find_customer(customers, "C-3")["name"] == "Linus"
    with pytest.raises(UnknownCustomerError):
        find_customer(customers, "C-99")


def test_unit_price_applies_tier_discount(products, customers) -> None:
    kettle = products[1]
    assert unit_price_cents(kettle, customers[0]) == 2699  # gold: 10% off, rounded down
    assert unit_price_cents(kettle, customers[1]) == 2999
    assert unit_price_cents(kettle, customers[2]) == 2999  # no tier means standard
    assert unit_price_cents(kettle, customers[3]) == 2549
    assert unit_price_cents(kettle, {"tier": "mystery"}) == 2999

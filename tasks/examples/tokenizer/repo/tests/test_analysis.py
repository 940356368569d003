from stencil import referenced_variables, tag_counts

TEMPLATE = """\
{% extends "base.html" %}
Hello {{ user.name | title }}!
{% set greeting = "hi" %}{{ greeting }}
{% for item in cart.items %}
  - {{ item.qty }} x {{ item.title }} at {{ price(item, currency) | round(2) }}
{% endfor %}
{# {{ not_a_variable }} #}
{% if coupon is not none and user.vip %}{{ coupon.code }}{% endif %}
"""


def test_referenced_variables() -> None:
    assert referenced_variables(TEMPLATE) == ["user", "cart", "price", "currency", "coupon"]


def test_referenced_variables_without_tags() -> None:
    assert referenced_variables("nothing to see") == []


def test_tag_counts() -> None:
    assert tag_counts(TEMPLATE) == {
        "extends": 1,
        "output": 6,
        "set": 1,
        "for": 1,
        "endfor": 1,
        "if": 1,
        "endif": 1,
    }

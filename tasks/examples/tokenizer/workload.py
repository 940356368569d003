"""Visible workload: tokenize a batch of HTML e-mail templates and list their variables."""

from __future__ import annotations

import hashlib
import random

from stencil import referenced_variables, tokenize

TEMPLATES: list[str] = []

_WORDS = ("your order has been shipped and should arrive within the next few business days "
          "thank you for shopping with us please find the details of your purchase below "
          "if you have any questions reply to this message or contact our support team").split()
_OBJECTS = ["order", "customer", "shipment", "invoice", "store", "campaign"]
_FIELDS = ["id", "name", "email", "total", "created_at", "status", "city", "url", "items"]
_FILTERS = ["title", "upper", "escape", "truncate(40)", "default('n/a')", "round(2)",
            "format_date('%d %b %Y')", "money(currency)"]


def _prose(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _expr(rng: random.Random) -> str:
    expr = f"{rng.choice(_OBJECTS)}.{rng.choice(_FIELDS)}"
    if rng.random() < 0.5:
        expr += f" | {rng.choice(_FILTERS)}"
    return expr


def _section(rng: random.Random, depth: int = 0) -> str:
    kind = rng.randrange(6 if depth < 2 else 3)
    if kind == 0:
        return f"<p>{_prose(rng, rng.randrange(20, 80))}</p>\n"
    if kind == 1:
        return f'<p class="lead">{_prose(rng, 5)} {{{{ {_expr(rng)} }}}} {_prose(rng, 6)}.</p>\n'
    if kind == 2:
        return f"<h2>{{{{ {_expr(rng)} }}}}</h2>\n{{# section {rng.randrange(100)} #}}\n"
    if kind == 3:
        body = "".join(_section(rng, depth + 1) for _ in range(rng.randrange(1, 4)))
        return (f"{{% for line in {rng.choice(_OBJECTS)}.items %}}\n<tr><td>{{{{ line.sku }}}}</td>"
                f"<td>{{{{ line.qty * line.unit_price | money(currency) }}}}</td></tr>\n"
                f"{body}{{% endfor %}}\n")
    if kind == 4:
        body = "".join(_section(rng, depth + 1) for _ in range(rng.randrange(1, 3)))
        cond = f"{_expr(rng).split(' |')[0]} >= {rng.randrange(1000)} and not preview"
        return f"{{% if {cond} %}}\n{body}{{% else %}}\n<p>{_prose(rng, 7)}</p>\n{{% endif %}}\n"
    return (f'{{% set label = "{rng.choice(_WORDS)}-{rng.randrange(99)}" %}}'
            f"<a href=\"{{{{ store.url }}}}/track?id={{{{ order.id }}}}&amp;l={{{{ label }}}}\">"
            f"{_prose(rng, 4)}</a>\n")


def _template(rng: random.Random) -> str:
    body = "".join(_section(rng) for _ in range(rng.randrange(15, 35)))
    return (f"<html><head><title>{{{{ campaign.subject | escape }}}}</title></head>\n<body>\n"
            f"{body}<footer>{_prose(rng, 12)}</footer>\n</body></html>\n")


def setup() -> None:
    global TEMPLATES
    rng = random.Random(7)
    TEMPLATES = [_template(rng) for _ in range(14)]


def workload() -> list[object]:
    results: list[object] = []
    for source in TEMPLATES:
        tokens = tokenize(source)
        digest = hashlib.sha256(
            "\x00".join(f"{t.kind}:{t.line}:{t.col}:{t.value}" for t in tokens).encode()
        ).hexdigest()
        results.append([len(tokens), digest, referenced_variables(source)])
    return results

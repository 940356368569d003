"""Hidden workload: a catalogue of short notification snippets (SMS / push / subject lines).

Thousands of one- or two-line templates, each tokenized and summarised with
:func:`stencil.tag_counts`.
"""

from __future__ import annotations

import random

from stencil import tag_counts, tokenize

SNIPPETS: list[str] = []

_GREETINGS = ["Hi", "Hello", "Hey", "Dear", "Good news"]
_FIELDS = ["first_name", "order.id", "order.total", "parcel.eta", "store.name", "points",
           "coupon.code", "ticket.number", "booking.date", "plan.renews_at"]
_FILTERS = ["", " | upper", " | money('EUR')", " | date('%d/%m')", " | default('')",
            " | truncate(20, true)"]
_PHRASES = ["your order is on its way", "we received your payment",
            "your subscription renews soon", "a new message is waiting for you",
            "your table is booked", "thanks for your feedback",
            "the item you wanted is back in stock", "your password was changed"]


def _snippet(rng: random.Random) -> str:
    parts = [f"{rng.choice(_GREETINGS)} {{{{ first_name | title }}}}, {rng.choice(_PHRASES)}."]
    for _ in range(rng.randrange(1, 4)):
        field = rng.choice(_FIELDS)
        phrase = rng.choice(_PHRASES).capitalize()
        parts.append(f" {phrase}: {{{{ {field}{rng.choice(_FILTERS)} }}}}.")
    if rng.random() < 0.4:
        parts.append(f"{{% if points > {rng.randrange(50, 5000)} %}} "
                     "You have {{ points }} points!{% endif %}")
    if rng.random() < 0.2:
        parts.append(f"\n{{# ticket {rng.randrange(10**4)} #}}Reply STOP to opt out")
    return "".join(parts)


def setup() -> None:
    global SNIPPETS
    rng = random.Random(99)
    SNIPPETS = [_snippet(rng) for _ in range(500)]


def workload() -> dict[str, object]:
    total: dict[str, int] = {}
    lengths = []
    last_tokens = []
    for source in SNIPPETS:
        tokens = tokenize(source)
        lengths.append(len(tokens))
        last_tokens.append(list(tokens[-1]))
        for key, count in tag_counts(source).items():
            total[key] = total.get(key, 0) + count
    return {"tags": total, "lengths": lengths, "last_tokens": last_tokens}

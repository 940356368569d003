"""The run-time helper of ``incremental-window-aggregate`` (``window_aggregate.py``).

``HELPER_SOURCE`` is the function (named ``HELPER``) the rule adds once, at module level, to
a module it rewrites; it runs in the optimized program, not here, so it is plain Python that
needs only builtins and ``collections.deque``. Its contract (when it yields a value, when
``None``, the float bound) is stated in the rule's docstring. Kept in a module of its own
because it is program text, not rewriting logic.
"""

from __future__ import annotations

HELPER = "_perfagent_window"
HELPER_SOURCE = f'''def {HELPER}(kind, bounds, indices):
    """zip(indices, values): with xs, a, b = bounds() (called at the first index, errors
    ignored), each value is kind(xs[i + a : i + b]) for kind "sum", "max" or "min", or None
    where the caller must compute it. Added by perfagent (incremental-window-aggregate): a
    sum is a running total re-added every 2 * width windows, a float one used only where it
    provably agrees with a fresh sum to 1e-11; max/min follow a deque of the positions that
    can still be the extreme (ties keep the earliest, as max() and min() do)."""

    def values(kind, bounds, indices):
        from collections import deque

        try:
            xs, a, b = bounds()
        except Exception:  # the caller's own expression will raise it where it did
            xs = a = b = None
        width = b - a if type(a) is int and type(b) is int else 0
        if width < 2 or type(xs) not in (list, tuple) or type(indices) is not range:
            width = 0
        elif indices.step != 1:
            width = 0
        start, stop = (indices.start, indices.stop) if width else (0, 0)
        first = min(max(start, -a), stop) if width else 0  # earlier windows start below 0
        last = max(min(stop, len(xs) - b + 1), first) if width else 0  # later: past the end
        for _ in range(start, first) if width else indices:
            yield None
        i = first
        while kind == "sum" and i < last:
            end = min(i + 2 * width, last)
            span = xs[i + a : end - 1 + b]
            kinds = set(map(type, span))
            limit = -1 if kinds == {{int}} else None  # ints are exact
            if kinds == {{float}}:
                mass = sum(map(abs, span))
                if mass - mass == 0:  # neither NaN nor infinity
                    limit = (4 * width + 4) * 2.3e-16 * mass * 1e11
            if limit is None:
                for _ in range(i, end):
                    yield None
            else:
                total = sum(span[:width])
                yield total
                for new, old in zip(span[width:], span):
                    total += new - old
                    yield total if total > limit or total < -limit else None
            i = end
        span = xs[first + a : last - 1 + b] if kind != "sum" and first < last else []
        kinds = set(map(type, span))
        usable = kinds <= {{int, float}}
        if usable and float in kinds:
            try:
                total = sum(span)
                usable = total == total  # no NaN: the order is total
            except OverflowError:  # an int too large for a float
                usable = False
        if not usable:
            span = []
            for _ in range(first, last):
                yield None
        keep, largest = deque(), kind == "max"
        for j, x in enumerate(span):
            if largest:
                while keep and span[keep[-1]] < x:
                    keep.pop()
            else:
                while keep and span[keep[-1]] > x:
                    keep.pop()
            keep.append(j)
            if j >= width - 1:
                if keep[0] <= j - width:
                    keep.popleft()
                yield span[keep[0]]
        for _ in range(last, stop):
            yield None

    return zip(indices, values(kind, bounds, indices))
'''

"""Derived facts of one network computed once however many rules ask for them.

A network is immutable (frozen models and tuples all the way down), so what is derived from it and
a day stays true for that very object. `per_network` keeps the last few results of a function
keyed by the network object's identity and the other arguments; an entry holds the network
itself, so the identity cannot be reused by another object while the entry lives. Memory stays
bounded: only the most recent networks are kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from models.network import Network

P = ParamSpec("P")
R = TypeVar("R")

KEPT = 4  # networks a portfolio check, a page or a report evaluates one after the other


def per_network(function: Callable[Concatenate[Network, P], R]) -> Callable[Concatenate[Network, P], R]:
    """Compute `function(network, *args)` once per network object and arguments (all hashable)."""
    entries: OrderedDict[tuple[Hashable, ...], tuple[Network, R]] = OrderedDict()
    lock = threading.Lock()

    @wraps(function)
    def memoised(network: Network, *args: P.args, **kwargs: P.kwargs) -> R:
        key = (id(network), *args, *sorted(kwargs.items()))
        with lock:
            found = entries.get(key)
            if found is not None and found[0] is network:
                entries.move_to_end(key)
                return found[1]
        result = function(network, *args, **kwargs)
        with lock:
            entries[key] = (network, result)
            while len(entries) > KEPT:
                entries.popitem(last=False)
        return result

    return memoised



"""Host names for the tests, answered without DNS (CITY311_OUTBOUND_RESOLVER, set in conftest).

    with fakedns.names({"hooks.example.test": ["127.0.0.1"]}):
        ...

A name not listed does not resolve, as a name DNS does not know: no test asks the network.
`asked` counts the questions, so a test can tell that a request resolved its host once.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

HOSTS: dict[str, list[str] | Callable[[], list[str]]] = {"localhost": ["127.0.0.1"]}
asked: Counter[str] = Counter()


def resolve(host: str, port: int) -> list[str]:
    asked[host.lower()] += 1
    answer = HOSTS.get(host.lower())
    if answer is None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return answer() if callable(answer) else list(answer)


@contextmanager
def names(answers: dict[str, list[str] | Callable[[], list[str]]]) -> Iterator[None]:
    """These names answer these addresses (or what the callable returns, asked anew each time)."""
    before = dict(HOSTS)
    HOSTS.update(answers)
    asked.clear()
    try:
        yield
    finally:
        HOSTS.clear()
        HOSTS.update(before)

"""Looking at a process tree through /proc: who a process's children are, who is still alive."""

from __future__ import annotations

import os
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _parents() -> dict[int, int]:
    """Each living process's parent, in one pass over /proc."""
    parents = {}
    for other in all_pids():
        fields = _stat(other)
        if fields is not None and fields[0] != "Z":
            parents[other] = int(fields[1])
    return parents


def children(pid: int) -> list[int]:
    return [child for child, parent in _parents().items() if parent == pid]


def descendants(pid: int) -> list[int]:
    parents = _parents()
    found: list[int] = []
    level = [pid]
    while level:
        level = [child for child, parent in parents.items() if parent in level]
        found += level
    return found


def in_group(pgid: int) -> list[int]:
    """Living processes of process group `pgid`."""
    found = []
    for other in all_pids():
        fields = _stat(other)
        if fields is not None and fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(other)
    return found


def child_running(pid: int, words: str) -> int | None:
    """The child of `pid` whose command line contains `words`."""
    for child in children(pid):
        if words in command_line(child):
            return child
    return None

"""Processes seen through Linux's /proc, for the tests that check that a CLI leaves no process behind."""

from __future__ import annotations

from pathlib import Path


def _stats():
    """(pid, fields after the command name) of every process: state, ppid, pgid, ..."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            yield int(stat.parent.name), stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended while we looked
            continue


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (zombies included: a child not yet reaped is still there)."""
    return [p for p, fields in _stats() if int(fields[1]) == pid]


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of the process group `pgid`."""
    return [p for p, fields in _stats() if int(fields[2]) == pgid and fields[0] != "Z"]

"""Who the audit log says did what a command changed: the operating-system account
that ran it, as ``cli:<name>``, with every role (the CLI is run by whoever runs the
server, who can reach the database anyway)."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

from app.access.models import Role
from app.access.policy import Actor, Via
from app.context import RequestContext, bound


def cli_actor() -> Actor:
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        name = "unknown"
    return Actor(user_id=None, label=f"cli:{name}", roles=frozenset(Role), via=Via.CLI)


@contextmanager
def as_cli() -> Iterator[None]:
    with bound(RequestContext(actor=cli_actor())):
        yield

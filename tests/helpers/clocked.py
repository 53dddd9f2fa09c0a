"""The command line with the clock moved, for the browser tests' live server:
``python -m tests.helpers.clocked SECONDS ARGS...`` runs ``audit-tools ARGS...`` with
the clock SECONDS ahead (time-machine), the same offset as the tests' own clock
(``--clock-ahead``, ``--clock-at`` in tests/conftest.py), so both read one time.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta


def main() -> None:
    offset = timedelta(seconds=float(sys.argv[1]))
    sys.argv = ["audit-tools", *sys.argv[2:]]
    if offset:
        import time_machine

        time_machine.travel(datetime.now(UTC) + offset, tick=True).start()
    from audit_tools.cli import main as cli

    cli()


if __name__ == "__main__":
    main()

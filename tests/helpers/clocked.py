"""The command line with the clock moved, for the tests' live servers:
``python -m tests.helpers.clocked SECONDS ARGS...`` runs ``audit-tools ARGS...`` with
the clock SECONDS ahead (time-machine), the same offset as the tests' own clock
(``--clock-ahead``, ``--clock-at`` in tests/conftest.py), so both read one time.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta

# The offset, for the processes the command starts in new interpreters (below).
OFFSET_VARIABLE = "AUDIT_TEST_CLOCK_SECONDS"


def _travel(seconds: float) -> None:
    if seconds:
        import time_machine

        time_machine.travel(datetime.now(UTC) + timedelta(seconds=seconds), tick=True).start()
        # time-machine's ticking clock starts from its first reading, not from start():
        # read it now, or this process (a live server starting up) runs seconds behind
        # the tests' clock.
        datetime.now(UTC)


def main() -> None:
    os.environ[OFFSET_VARIABLE] = sys.argv[1]
    offset = float(sys.argv[1])
    sys.argv = ["audit-tools", *sys.argv[2:]]
    _travel(offset)
    from audit_tools.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
elif __name__ == "__mp_main__":
    # ``serve --workers N`` starts each worker in a new interpreter (multiprocessing's
    # spawn), which runs this module again under this name rather than main(): without
    # this its workers would read the real clock while the tests read the moved one.
    _travel(float(os.environ.get(OFFSET_VARIABLE, "0")))

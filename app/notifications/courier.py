"""The courier's rounds: first whatever the day makes news (learning actions newly
overdue or escalated, app/notifications/escalation.py; accounts unused long enough to be
disabled, or told so, app/access/leavers.py) is queued, and the programme's audits due
are made (app/programme/schedule.py), then everything queued and due is sent
(app/notifications/service.py ``send_due``).

Each web process runs a courier in a thread when a channel is set; ``audit-tools
notifications send`` runs one round, for cron."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.access import leavers
from app.config import Settings
from app.notifications import escalation
from app.notifications.service import Round, Sender, send_due
from app.programme import schedule

log = logging.getLogger(__name__)


@dataclass
class Done:
    told: list[int] = field(default_factory=list)  # actions whose lateness was told
    sent: Round = field(default_factory=Round)
    planned: list[schedule.Planned] = field(default_factory=list)  # the programme's audits


def run_round(
    factory: Callable[[], AbstractContextManager[Session]],
    *,
    settings: Settings,
    sender: tuple[str, Sender] | None = None,
    now: datetime | None = None,
) -> Done:
    """Queue what today makes news, then send what is due (``sender``: the settings'
    channel unless given)."""
    today = clock.today() if now is None else now.astimezone(clock.LONDON).date()
    told = escalation.tell_due(
        factory, today=today, executive_after_days=settings.escalate_to_executive_after_days
    )
    # Judged on the service's own clock, which recorded the uses it counts from (``now``
    # only says what sending is due).
    leavers.check_inactivity(factory, today=clock.today(), settings=settings)
    sent = send_due(factory, settings=settings, sender=sender, now=now)
    # The programme's planned audits last: whatever goes wrong making one, the e-mails
    # of the round have gone.
    return Done(told, sent, schedule.create_due(factory, today=today))


class Courier:
    """Runs a round every ``every`` seconds, in a thread of a web process."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, every: float):
        self.factory, self.settings, self.every = factory, settings, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="notifications", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                run_round(self.factory, settings=self.settings)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:  # never let the loop die: the next round tries again
                log.exception("the notification courier failed")
            self._stop.wait(timeout=self.every)

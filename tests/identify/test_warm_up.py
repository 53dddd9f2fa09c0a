"""The identification check's analyzer is built in the background when the app starts,
and then frozen out of the garbage collector's sight with everything else built at
start-up: left in view, its 60,000 objects were rescanned on every full collection."""

from __future__ import annotations

import gc
import threading
import time

from fastapi.testclient import TestClient

from app.config import Settings
from app.identify.detect import _analyzer
from app.main import create_app


def test_the_analyzer_is_built_at_start_up_and_then_frozen(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/app.db", environment="test"))
    with TestClient(app):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(
            t.name == "identify-warm-up" for t in threading.enumerate()
        ):
            time.sleep(0.05)
        analyzer = _analyzer()
        assert gc.get_freeze_count() > 0
        assert not any(found is analyzer for found in gc.get_objects())

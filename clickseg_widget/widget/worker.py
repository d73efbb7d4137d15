"""One background thread that runs the newest model job, dropping superseded ones.

The kernel's main thread must stay free to receive clicks and draw markers
while the model runs.  Clicks that arrive during a prediction are coalesced:
only the latest click state is predicted next, because an intermediate mask
would be replaced at once anyway.
"""
from __future__ import annotations

import threading
import traceback
from typing import Callable

Job = Callable[[], None]


class LatestJobWorker:
    def __init__(self, on_error: Callable[[BaseException], None], name: str = "clickseg-predict") -> None:
        self._on_error = on_error
        self._condition = threading.Condition()
        self._pending: Job | None = None
        self._running = False
        self._closed = False
        self.dropped = 0  # jobs superseded before they ran (how much coalescing happened)
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue ``job``, replacing any job still waiting; its exceptions go to ``on_error``."""
        with self._condition:
            if self._closed:
                raise RuntimeError("the prediction worker is closed")
            if self._pending is not None:
                self.dropped += 1
            self._pending = job
            self._condition.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running; False if ``timeout`` passed first."""
        with self._condition:
            return self._condition.wait_for(lambda: self._pending is None and not self._running, timeout)

    @property
    def busy(self) -> bool:
        with self._condition:
            return self._pending is not None or self._running

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._pending = None
            self._condition.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._pending is not None or self._closed)
                if self._closed:
                    return
                job, self._pending, self._running = self._pending, None, True
            assert job is not None  # the wait above returns only with a job or when closed
            try:
                job()
            except Exception as err:  # the worker must outlive a failing model call
                try:
                    self._on_error(err)
                except Exception:  # ... and a failing error handler: later jobs must still run
                    traceback.print_exc()
            finally:
                with self._condition:
                    self._running = False
                    self._condition.notify_all()

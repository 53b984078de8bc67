"""The sign-in emails' own worker: the sign-in page hands over the address and answers at once; a
thread of its own looks the address up, puts the link's email in the store's outbox and delivers
it. So the answer, and the connection it came on, are the same for any address: no lookup, no
write and no SMTP conversation happens in the request, nor after it on the same connection (as a
request's background task would)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("hackefors.portal")

# Requests waiting for the worker; past this (the rate limit keeps it far away) one is dropped and
# logged, as an unknown address is: the page never says.
CAPACITY = 1_000


class SignInMail:
    """Addresses handed over by the sign-in page, and the thread that sends their links with
    `send(email)` (one at a time, in order; its failures are logged)."""

    def __init__(self, send: Callable[[str], None], capacity: int = CAPACITY) -> None:
        self._send = send
        self._waiting: queue.Queue[str | None] = queue.Queue(maxsize=capacity)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, email: str) -> None:
        """Hand over a request; never waits."""
        self._start()
        try:
            self._waiting.put_nowait(email)
        except queue.Full:
            log.warning("sign-in request dropped: %d requests are waiting already", self._waiting.maxsize)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="sign-in-mail", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            email = self._waiting.get()
            try:
                if email is None:
                    return
                self._send(email)
            except Exception:  # the page has answered long ago; the operator reads the log
                log.exception("could not send a sign-in link")
            finally:
                self._waiting.task_done()

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every request handed over so far is dealt with; False when `timeout` passed."""
        done = threading.Event()

        def wait() -> None:
            self._waiting.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Deal with what is waiting (within `timeout`), then end the thread."""
        with self._lock:
            thread = self._thread
        if thread is None or not thread.is_alive():
            return
        try:
            self._waiting.put(None, timeout=timeout)
        except queue.Full:
            return
        thread.join(timeout)

"""Checks for many contexts at once, over one register and one set of models (the web service).

Each request of a service names its own channel, date, purpose and event, and
its own calling tool; a ``Checks`` is wired for one context. The pool keeps a
few of them, each with a guard of its own over the same loaded models, so the
models are loaded once per process and a context's consents and events are read
once, not per request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from minorguard.application.checks import Checks, open_checks, open_register_for_checks
from minorguard.pipeline import CheckContext, Guard

__all__ = ["ChecksPool"]


class ChecksPool:
    """``checks(context, tool)``: a wired ``Checks``, shared by threads; ``close()`` at the end."""

    def __init__(
        self, policy: str | Path | Any = None, models: str | None = None, db: str | None = None, *,
        actor: str | None = None, lang: str = "en", max_contexts: int = 32, register: Any = None, guard: Guard | None = None,
    ) -> None:
        self.guard = guard or Guard(policy=policy, pack=models)  # the models, loaded once, before any request
        self.register = register if register is not None else open_register_for_checks(db, None, actor)
        self.lang = lang
        self.max_contexts = max_contexts
        self._open: OrderedDict[tuple, Checks] = OrderedDict()
        self._lock = threading.Lock()

    def checks(self, context: CheckContext, tool: str) -> Checks:
        """Checks for ``context`` that name ``tool`` in every audit entry; raises what ``open_checks`` raises."""
        key = (tool, context.channel, context.when, context.event_id, context.purpose)
        with self._lock:
            found = self._open.get(key)
            if found is not None:
                self._open.move_to_end(key)
                return found
        guard = Guard(policy=self.guard.policy, pack=self.guard.pack)  # its own collaborators, the same models
        made = open_checks(context=context, tool=tool, lang=self.lang, guard=guard, register=self.register)
        with self._lock:
            self._open[key] = made
            while len(self._open) > self.max_contexts:
                self._open.popitem(last=False)  # the register is shared: nothing to close
        return made

    def close(self) -> None:
        with self._lock:
            self._open.clear()
        if self.register is not None:
            self.register.close()
            self.register = None

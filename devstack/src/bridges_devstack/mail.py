"""A local SMTP sink for `bridges up`: every message is kept as an .eml file and announced."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class MailSink:
    folder: Path
    port: int
    _controller: Controller | None = field(default=None, repr=False)
    _counter: Any = field(default_factory=itertools.count, repr=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self._counter):04d}.eml"
        (self.folder / name).write_bytes(envelope.content)
        print(f"mail to {', '.join(envelope.rcpt_tos)}: {message['Subject']} ({name})", flush=True)
        return "250 OK"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

#!/app/.venv/bin/python
"""Stand-in for the Mailpit image where no registry can be reached (the compose test): the
same interface docker-compose.yml uses. `/mailpit` accepts SMTP on port 1025 and prints each
message's envelope as a line; `/mailpit readyz` exits 0 once that port answers."""

import asyncio
import socket
import sys

from aiosmtpd.controller import Controller

PORT = 1025


class Printer:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        print(f"mail from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)}", flush=True)
        return "250 OK"


async def serve() -> None:
    controller = Controller(Printer(), hostname="0.0.0.0", port=PORT)
    controller.start()
    print(f"SMTP sink on port {PORT}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    if sys.argv[1:] == ["readyz"]:
        with socket.create_connection(("127.0.0.1", PORT), timeout=2):
            sys.exit(0)
    asyncio.run(serve())

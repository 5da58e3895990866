"""A small real SMTP server on 127.0.0.1 for the email tests: EHLO/HELO, optional AUTH PLAIN, MAIL, RCPT,
DATA, RSET, NOOP, QUIT. It records every accepted message (envelope, login and the parsed mail)."""

from __future__ import annotations

import base64
import contextlib
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes
    login: tuple[str, str] | None = None

    @property
    def mail(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    def html(self) -> str:
        return self.mail.get_body(("html",)).get_content()


@dataclass
class MockSMTP:
    host: str
    port: int
    # AUTH PLAIN is offered only when credentials are set; a wrong login is refused with 535.
    credentials: tuple[str, str] | None = None
    messages: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        state = self.server.state
        login: tuple[str, str] | None = None
        sender, recipients = "", []
        self.reply("220 mock ESMTP ready")
        while line := self.rfile.readline(4096):
            verb, _, arg = line.decode("utf-8", "replace").rstrip("\r\n").partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.reply("250-mock greets you")
                self.reply("250-AUTH PLAIN" if state.credentials else "250-8BITMIME")
                self.reply("250 SMTPUTF8")
            elif verb == "HELO":
                self.reply("250 mock")
            elif verb == "AUTH" and state.credentials:
                login = self._auth(arg)
            elif verb == "MAIL":
                if state.credentials and login is None:
                    self.reply("530 authentication required")
                    continue
                sender, recipients = _address(arg), []
                self.reply("250 ok")
            elif verb == "RCPT":
                recipients.append(_address(arg))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                state.messages.append(Received(sender, recipients, self._data(), login))
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")

    def _auth(self, arg: str) -> tuple[str, str] | None:
        mechanism, _, initial = arg.partition(" ")
        if mechanism.upper() != "PLAIN":
            self.reply("504 only PLAIN")
            return None
        if not initial:
            self.reply("334 ")
            initial = self.rfile.readline().decode().strip()
        _, user, password = base64.b64decode(initial).decode().split("\0")
        self.server.state.logins.append((user, password))
        if (user, password) != self.server.state.credentials:
            self.reply("535 authentication failed")
            return None
        self.reply("235 authenticated")
        return user, password

    def _data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


def _address(arg: str) -> str:
    return arg.partition(":")[2].split()[0].strip("<>") if ":" in arg else ""


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: MockSMTP


@contextlib.contextmanager
def serve(credentials: tuple[str, str] | None = None) -> Iterator[MockSMTP]:
    """Run the server on a free port of 127.0.0.1 while the block runs."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = MockSMTP("127.0.0.1", server.server_address[1], credentials)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.state
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()

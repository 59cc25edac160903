"""A small IMAP4rev1 server over a real localhost socket, for driving the poller through stdlib imaplib.

It implements the commands the poller uses (CAPABILITY, LOGIN, SELECT/EXAMINE, UID SEARCH, UID FETCH,
NOOP, LOGOUT) with RFC 3501 framing: tagged and untagged responses and literals for message bodies.
"""

from __future__ import annotations

import re
import shlex
import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class FakeMailStore:
    username: str = "service@shop.example"
    password: str = "s3cret pass"
    folder: str = "INBOX"
    uidvalidity: int = 1001
    messages: list[tuple[int, bytes]] = field(default_factory=list)  # (uid, raw message), in order
    commands: list[str] = field(default_factory=list)
    fetch_delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, raw: bytes) -> int:
        with self.lock:
            uid = (self.messages[-1][0] if self.messages else 0) + 1
            self.messages.append((uid, raw))
            return uid


def _uid_set(spec: str, highest: int) -> set[int] | tuple[int, int]:
    wanted: set[int] = set()
    for part in spec.split(","):
        if ":" in part:
            lo, hi = part.split(":")
            lo_n = highest if lo == "*" else int(lo)
            hi_n = highest if hi == "*" else int(hi)
            wanted.update(range(min(lo_n, hi_n), max(lo_n, hi_n) + 1))
        else:
            wanted.add(highest if part == "*" else int(part))
    return wanted


class _Handler(socketserver.StreamRequestHandler):
    store: FakeMailStore

    def send(self, line: str | bytes) -> None:
        self.wfile.write((line.encode() if isinstance(line, str) else line) + b"\r\n")

    def handle(self) -> None:
        store = self.server.store  # type: ignore[attr-defined]
        selected = False
        self.send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] test IMAP server ready")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            store.commands.append(re.sub(r"(LOGIN \S+) .*", r"\1 ***", line))
            try:
                tag, command, *rest = line.split(" ", 2)
            except ValueError:
                self.send("* BAD no tag")
                continue
            args = rest[0] if rest else ""
            command = command.upper()
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
                self.send(f"{tag} OK CAPABILITY completed")
            elif command == "NOOP":
                self.send(f"{tag} OK NOOP completed")
            elif command == "LOGOUT":
                self.send("* BYE logging out")
                self.send(f"{tag} OK LOGOUT completed")
                return
            elif command == "LOGIN":
                user, password = shlex.split(args)
                if (user, password) == (store.username, store.password):
                    self.send(f"{tag} OK LOGIN completed")
                else:
                    self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")
            elif command in {"SELECT", "EXAMINE"}:
                folder = shlex.split(args)[0]
                if folder != store.folder:
                    self.send(f"{tag} NO [NONEXISTENT] No such mailbox")
                    continue
                selected = True
                with store.lock:
                    count = len(store.messages)
                    uidnext = (store.messages[-1][0] if store.messages else 0) + 1
                self.send(f"* {count} EXISTS")
                self.send("* 0 RECENT")
                self.send(f"* OK [UIDVALIDITY {store.uidvalidity}] UIDs valid")
                self.send(f"* OK [UIDNEXT {uidnext}] Predicted next UID")
                self.send("* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)")
                self.send(f"{tag} OK [READ-ONLY] {command} completed")
            elif command == "UID" and selected:
                self._uid(tag, args, store)
            else:
                self.send(f"{tag} BAD unknown or unexpected command")

    def _uid(self, tag: str, args: str, store: FakeMailStore) -> None:
        sub, _, rest = args.partition(" ")
        with store.lock:
            messages = list(store.messages)
        highest = messages[-1][0] if messages else 0
        if sub.upper() == "SEARCH":
            match = re.search(r"UID (\S+)", rest, re.IGNORECASE)
            wanted = _uid_set(match.group(1), highest) if match else {u for u, _ in messages}
            uids = [str(u) for u, _ in messages if u in wanted]
            self.send("* SEARCH" + ("" if not uids else " " + " ".join(uids)))
            self.send(f"{tag} OK SEARCH completed")
        elif sub.upper() == "FETCH":
            spec, _, _items = rest.partition(" ")
            wanted = _uid_set(spec, highest)
            if store.fetch_delay_s:
                threading.Event().wait(store.fetch_delay_s)
            for seq, (uid, raw) in enumerate(messages, start=1):
                if uid in wanted:
                    self.wfile.write(f"* {seq} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
            self.send(f"{tag} OK FETCH completed")
        else:
            self.send(f"{tag} BAD unsupported UID command")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ImapTestServer:
    def __init__(self, store: FakeMailStore):
        self.store = store
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.store = store  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ImapTestServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

"""An SMTP server for benchmarks under pushback, run as its own process.

Usage: python bench/faultserver.py PORT REPORT [--fault none|tempfail]

``tempfail`` answers ``451 4.7.1 Try again later`` to the first RCPT TO of every
address (greylisting, or a relay throttling per recipient) and accepts the next;
``none`` accepts everything. It counts the copies it accepts per recipient and,
on SIGTERM, writes ``{"accepted": N, "recipients": N, "duplicates": N,
"refused": N}`` to the REPORT file. It runs aiosmtpd in its own process, so
its CPU time is not the engine's.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, fault: str) -> None:
        self.fault = fault
        self.seen: set[str] = set()
        self.refused = 0
        self.copies: Counter[str] = Counter()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.fault == "tempfail" and address not in self.seen:
            self.seen.add(address)
            self.refused += 1
            return "451 4.7.1 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for address in envelope.rcpt_tos:
            self.copies[address] += 1
        return "250 2.0.0 OK"

    def report(self) -> dict[str, int]:
        return {
            "accepted": sum(self.copies.values()),
            "recipients": len(self.copies),
            "duplicates": sum(n - 1 for n in self.copies.values() if n > 1),
            "refused": self.refused,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("report", type=Path)
    parser.add_argument("--fault", choices=("none", "tempfail"), default="none")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    handler = Handler(args.fault)
    controller = Controller(handler, hostname="127.0.0.1", port=args.port)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    controller.start()
    print("listening", flush=True)
    stopped.wait()
    controller.stop()
    args.report.write_text(json.dumps(handler.report()), encoding="utf-8")


if __name__ == "__main__":
    main()

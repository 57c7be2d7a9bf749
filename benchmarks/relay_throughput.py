"""Messages per second through the Postfix relay, beside straight to the stand-in.

Runs the same harness as tests/test_postfix_relay.py: a private Postfix rendered
by mailcore/postfix.py on loopback, relaying to an aiosmtpd SES stand-in that
requires STARTTLS and AUTH. Needs root and Postfix (see .ci/run)::

    sudo .venv/bin/python benchmarks/relay_throughput.py --messages 1000

Each run sends the messages over ``--connections`` parallel SMTP sessions, once
straight to the stand-in (STARTTLS and AUTH, as an application talking to SES
would) and once to the relay (plain SMTP from an allowed network, as the relay's
clients do). A run is timed from the first message submitted to the last one
arrived at the stand-in. Targets: at least 150 messages/s through the relay,
and at least 0.7x the direct rate.

Both paths are measured the same way, because the senders share the machine
with what they measure: the messages are rendered to bytes before any clock
starts (serialising them cost the senders about as much CPU as the stand-in),
the sender processes are started before the first run rather than inside it,
and ``--rounds`` alternates direct and relay runs, one relay serving them all,
and reports the median of each, so that load from elsewhere on the machine
falls on both.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import smtplib
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.relay_harness import (  # noqa: E402
    LOOPBACK,
    SECRET,
    PostfixRelay,
    SesStandIn,
    TestCa,
    postfix_missing,
)

TARGET_RATE = 150
TARGET_RATIO = 0.7


def message(number: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "app@example.com"
    mail["To"] = f"user{number}@example.net"
    mail["Subject"] = f"benchmark {number}"
    mail.set_content("x" * 2000 + "\n")
    return mail


# Rendered in the parent before the sender processes fork, so that they inherit
# them: (envelope sender, recipients, content) of message n at index n.
_RENDERED: list[tuple[str, list[str], bytes]] = []


def render_messages(count: int) -> None:
    _RENDERED[:] = [
        (mail["From"], [mail["To"]], mail.as_bytes(policy=SMTP))
        for mail in map(message, range(count))
    ]


def send_batch(port: int, ca_file: str | None, numbers: range) -> None:
    """One SMTP session sending ``numbers``; with ``ca_file``, STARTTLS and AUTH."""
    with smtplib.SMTP(LOOPBACK, port) as client:
        if ca_file:
            client.starttls(context=ssl.create_default_context(cafile=ca_file))
            client.login(SECRET["username"], SECRET["password"])
        for number in numbers:
            client.sendmail(*_RENDERED[number])


def send_batches(
    pool: ProcessPoolExecutor, count: int, port: int, ca_file: str | None = None
) -> None:
    # Senders run in their own processes, so that they do not compete with
    # the stand-in (a Python thread of this process) for the interpreter.
    size = -(-count // pool._max_workers)
    futures = [
        pool.submit(send_batch, port, ca_file, range(i, min(i + size, count)))
        for i in range(0, count, size)
    ]
    for future in futures:
        future.result()


def timed(
    standin: SesStandIn, count: int, send: Callable[[], None]
) -> tuple[float, float]:
    """Messages/s from the first submission to the last arrival, and of submitting."""
    already = len(standin.messages)
    start = time.perf_counter()
    send()
    submitted = time.perf_counter() - start
    standin.wait_for(already + count, timeout=600)
    return count / (time.perf_counter() - start), count / submitted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    # aiosmtpd logs a deprecation note per authenticated session.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    reason = postfix_missing()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)  # noqa: T201
        return 2

    with tempfile.TemporaryDirectory() as folder:
        Path(folder).chmod(0o755)
        ca = TestCa(Path(folder))
        count = arguments.messages
        render_messages(count)
        pool = ProcessPoolExecutor(
            max_workers=arguments.connections,
            mp_context=multiprocessing.get_context("fork"),
        )
        # With "fork" the pool starts all its processes at the first task: let
        # that be now, not inside the first timed run.
        pool.submit(os.getpid).result()
        standin = SesStandIn(ca).start()
        directs: list[float] = []
        throughs: list[float] = []
        accepteds: list[float] = []
        try:
            with PostfixRelay(ca, upstream_port=standin.port) as relay:
                for _ in range(arguments.rounds):
                    direct, _ = timed(
                        standin,
                        count,
                        lambda: send_batches(
                            pool, count, standin.port, str(ca.ca_file)
                        ),
                    )
                    through, accepted = timed(
                        standin, count, lambda: send_batches(pool, count, relay.port)
                    )
                    directs.append(direct)
                    throughs.append(through)
                    accepteds.append(accepted)
        finally:
            standin.stop()
            pool.shutdown()

    direct = statistics.median(directs)
    through = statistics.median(throughs)
    accepted = statistics.median(accepteds)
    ratio = through / direct

    def each(rates: list[float]) -> str:
        return ", ".join(f"{rate:.0f}" for rate in rates)

    print(  # noqa: T201
        f"{arguments.messages} messages, {arguments.connections} connections, "
        f"median of {arguments.rounds} rounds\n"
        f"direct to the stand-in : {direct:8.1f} messages/s ({each(directs)})\n"
        f"through the relay      : {through:8.1f} messages/s "
        f"({ratio:.2f}x direct) ({each(throughs)})\n"
        f"accepted by the relay  : {accepted:8.1f} messages/s ({each(accepteds)})\n"
        f"targets                : >= {TARGET_RATE} messages/s and "
        f">= {TARGET_RATIO}x direct: "
        + ("met" if through >= TARGET_RATE and ratio >= TARGET_RATIO else "NOT met")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

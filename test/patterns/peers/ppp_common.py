"""What the RFC 6 (Paranoid Pirate) Python peers share: the two command bytes
and the way they are told to stop."""
import signal
import sys
import threading

READY = b"\x01"
HEARTBEAT = b"\x02"


def stop_event() -> threading.Event:
    """An event set on SIGTERM or when the test closes our stdin, whichever comes first."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    return stop

"""Shared bits of the MDP test peers: constants from 7/MDP and 18/MDP, and process plumbing."""
import json
import os
import signal
import sys

C01, W01, C02, W02 = b"MDPC01", b"MDPW01", b"MDPC02", b"MDPW02"

# 7/MDP worker commands
W01_READY, W01_REQUEST, W01_REPLY, W01_HEARTBEAT, W01_DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"
# 18/MDP worker commands
W02_READY, W02_REQUEST, W02_PARTIAL, W02_FINAL, W02_HEARTBEAT, W02_DISCONNECT = (
    b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06")
# 18/MDP client commands
C02_REQUEST, C02_PARTIAL, C02_FINAL = b"\x01", b"\x02", b"\x03"


def say(*words):
    """One line on stdout, flushed at once: the tests wait for these."""
    print(" ".join(str(w) for w in words), flush=True)


def dump(frames):
    return json.dumps([f.decode("latin1") for f in frames], separators=(",", ":"))


def exit_on_sigterm():
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))


def stdin_closed():
    """Called when stdin is readable; True once the test closed it."""
    return os.read(sys.stdin.fileno(), 4096) == b""

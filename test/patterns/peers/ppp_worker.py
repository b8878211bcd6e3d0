"""RFC 6 (Paranoid Pirate) worker on pyzmq, an independent peer for interop tests.

Usage: ppp_worker.py ENDPOINT [--interval MS] [--liveness N] [--identity ID] [--tag TAG]

Connects a DEALER to ENDPOINT, sends READY (one frame, byte 0x01) and prints
"READY <identity>". Each request "envelope.. '' body.." is answered with
"envelope.. '' TAG body..", so tests can tell which worker replied. Sends
HEARTBEAT (one frame, byte 0x02) every interval; after LIVENESS silent
intervals it reconnects on a fresh socket after a doubling delay. Exits on
SIGTERM or when stdin closes.
"""
import argparse
import os
import time

import zmq

from ppp_common import HEARTBEAT, READY, stop_event


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("--interval", type=int, default=1000)
    parser.add_argument("--liveness", type=int, default=3)
    parser.add_argument("--identity", default="py-%04X" % (os.getpid() & 0xFFFF))
    parser.add_argument("--tag", default="python")
    parser.add_argument("--reconnect", type=int, default=1000)
    parser.add_argument("--reconnect-max", type=int, default=32000)
    args = parser.parse_args()

    stop = stop_event()

    context = zmq.Context()
    identity = args.identity.encode()
    tag = args.tag.encode()

    def open_socket() -> zmq.Socket:
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, identity)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(args.endpoint)
        sock.send(READY)
        return sock

    sock = open_socket()
    print("READY %s" % args.identity, flush=True)
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    liveness = args.liveness
    delay = args.reconnect
    heartbeat_at = time.monotonic() + args.interval / 1000.0

    while not stop.is_set():
        events = dict(poller.poll(args.interval))
        if events.get(sock) == zmq.POLLIN:
            frames = sock.recv_multipart()
            liveness = args.liveness
            delay = args.reconnect
            if frames == [HEARTBEAT]:
                pass
            elif len(frames) == 1:
                print("INVALID %r" % frames, flush=True)
            else:
                at = frames.index(b"") + 1 if b"" in frames else 0
                sock.send_multipart(frames[:at] + [tag] + frames[at:])
        else:
            liveness -= 1
            if liveness == 0:
                print("LOST %d" % delay, flush=True)
                time.sleep(delay / 1000.0)
                delay = min(delay * 2, args.reconnect_max)
                poller.unregister(sock)
                sock.close()
                sock = open_socket()
                poller.register(sock, zmq.POLLIN)
                liveness = args.liveness
        if time.monotonic() > heartbeat_at:
            heartbeat_at = time.monotonic() + args.interval / 1000.0
            sock.send(HEARTBEAT)

    sock.close()
    context.term()


if __name__ == "__main__":
    main()

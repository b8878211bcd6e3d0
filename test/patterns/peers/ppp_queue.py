"""RFC 6 (Paranoid Pirate) queue on pyzmq, an independent peer for interop tests.

Usage: ppp_queue.py FRONTEND BACKEND [--interval MS] [--liveness N]

Binds a ROUTER for clients on FRONTEND and one for workers on BACKEND (both
may use "tcp://127.0.0.1:*") and prints "READY <frontend> <backend>" with the
resolved endpoints. Any message from a worker makes it the most recently
ready; one-frame messages must be READY (0x01) or HEARTBEAT (0x02), longer
ones are replies for the frontend. Requests go to the least recently used
worker. HEARTBEAT goes to every idle worker each interval; a worker silent
for LIVENESS intervals is dropped ("EXPIRED <hex id>" is printed). Exits on
SIGTERM or when stdin closes.
"""
import argparse
import collections
import time

import zmq

from ppp_common import HEARTBEAT, READY, stop_event


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("frontend")
    parser.add_argument("backend")
    parser.add_argument("--interval", type=int, default=1000)
    parser.add_argument("--liveness", type=int, default=3)
    args = parser.parse_args()

    stop = stop_event()

    context = zmq.Context()
    frontend = context.socket(zmq.ROUTER)
    backend = context.socket(zmq.ROUTER)
    for sock in (frontend, backend):
        sock.setsockopt(zmq.LINGER, 0)
    frontend.bind(args.frontend)
    backend.bind(args.backend)
    print(
        "READY %s %s"
        % (frontend.getsockopt_string(zmq.LAST_ENDPOINT), backend.getsockopt_string(zmq.LAST_ENDPOINT)),
        flush=True,
    )

    interval = args.interval / 1000.0
    workers: "collections.OrderedDict[bytes, float]" = collections.OrderedDict()
    heartbeat_at = time.monotonic() + interval
    poll_workers = zmq.Poller()
    poll_workers.register(backend, zmq.POLLIN)
    poll_both = zmq.Poller()
    poll_both.register(frontend, zmq.POLLIN)
    poll_both.register(backend, zmq.POLLIN)

    while not stop.is_set():
        poller = poll_both if workers else poll_workers
        events = dict(poller.poll(args.interval))
        if events.get(backend) == zmq.POLLIN:
            frames = backend.recv_multipart()
            identity, rest = frames[0], frames[1:]
            workers.pop(identity, None)
            workers[identity] = time.monotonic() + interval * args.liveness
            if len(rest) == 1:
                if rest[0] not in (READY, HEARTBEAT):
                    print("INVALID %s %r" % (identity.hex(), rest), flush=True)
            else:
                frontend.send_multipart(rest)
        if events.get(frontend) == zmq.POLLIN and workers:
            frames = frontend.recv_multipart()
            identity, _ = workers.popitem(last=False)
            backend.send_multipart([identity] + frames)
        if time.monotonic() >= heartbeat_at:
            for identity in workers:
                backend.send_multipart([identity, HEARTBEAT])
            heartbeat_at = time.monotonic() + interval
        now = time.monotonic()
        for identity in [i for i, expiry in workers.items() if expiry < now]:
            del workers[identity]
            print("EXPIRED %s" % identity.hex(), flush=True)

    frontend.close()
    backend.close()
    context.term()


if __name__ == "__main__":
    main()

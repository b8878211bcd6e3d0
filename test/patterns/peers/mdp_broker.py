"""A Majordomo broker for 7/MDP (0.1) with 8/MMI's mmi.service, on pyzmq.

usage: mdp_broker.py [--heartbeat MS]

Binds a ROUTER to tcp://127.0.0.1:* and prints "READY <endpoint>". One
socket for clients and workers, told apart by the header frame. Exits on
SIGTERM or when stdin closes.
"""
import sys
import time
from collections import deque

import zmq

from mdp_common import *

LIVENESS = 3


def main():
    exit_on_sigterm()
    args = sys.argv[1:]
    heartbeat = int(args[args.index("--heartbeat") + 1]) if "--heartbeat" in args else 2500
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.linger = 0
    sock.bind("tcp://127.0.0.1:*")
    say("READY", sock.getsockopt_string(zmq.LAST_ENDPOINT))

    workers = {}  # identity -> {"service", "expiry"}
    waiting = {}  # service -> deque of idle worker identities
    requests = {}  # service -> deque of (client, body)

    def to_worker(identity, command, *rest):
        sock.send_multipart([identity, b"", W01, command] + list(rest))

    def dispatch(service):
        idle, queue = waiting.setdefault(service, deque()), requests.setdefault(service, deque())
        while idle and queue:
            identity = idle.popleft()
            client, body = queue.popleft()
            to_worker(identity, W01_REQUEST, client, b"", *body)

    def delete(identity, notify):
        worker = workers.pop(identity, None)
        if worker and identity in waiting.get(worker["service"], ()):
            waiting[worker["service"]].remove(identity)
        if notify:
            to_worker(identity, W01_DISCONNECT)

    next_beat = time.monotonic() + heartbeat / 1000
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(sys.stdin.fileno(), zmq.POLLIN)
    while True:
        events = dict(poller.poll(heartbeat))
        if sys.stdin.fileno() in events and stdin_closed():
            break
        if sock in events:
            identity, empty, header, *rest = sock.recv_multipart()
            assert empty == b""
            if header == C01:
                service, body = rest[0], rest[1:]
                if service.startswith(b"mmi."):
                    if service == b"mmi.service":
                        answer = b"200" if any(w["service"] == body[0] for w in workers.values()) else b"404"
                    else:
                        answer = b"501"
                    sock.send_multipart([identity, b"", C01, service, answer])
                else:
                    requests.setdefault(service, deque()).append((identity, body))
                    dispatch(service)
            elif header == W01:
                command, args = rest[0], rest[1:]
                known = identity in workers
                if known:
                    workers[identity]["expiry"] = time.monotonic() + heartbeat * LIVENESS / 1000
                if command == W01_READY and not known and not args[0].startswith(b"mmi."):
                    workers[identity] = {"service": args[0], "expiry": time.monotonic() + heartbeat * LIVENESS / 1000}
                    waiting.setdefault(args[0], deque()).append(identity)
                    dispatch(args[0])
                elif command == W01_REPLY and known:
                    client, _, body = args[0], args[1], args[2:]
                    service = workers[identity]["service"]
                    sock.send_multipart([client, b"", C01, service] + body)
                    waiting[service].append(identity)
                    dispatch(service)
                elif command == W01_HEARTBEAT and known:
                    pass
                elif command == W01_DISCONNECT:
                    delete(identity, False)
                else:
                    delete(identity, True)
        now = time.monotonic()
        if now >= next_beat:
            for identity, worker in list(workers.items()):
                if now >= worker["expiry"]:
                    delete(identity, False)
                elif identity in waiting.get(worker["service"], ()):
                    to_worker(identity, W01_HEARTBEAT)
            next_beat = now + heartbeat / 1000
    sock.close(0)
    ctx.term()


if __name__ == "__main__":
    main()

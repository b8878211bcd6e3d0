"""A Majordomo broker for 7/MDP (0.1) and 18/MDP (0.2), with 8/MMI's mmi.service, on pyzmq.

usage: mdp_broker.py [--heartbeat MS]

Binds a ROUTER to tcp://127.0.0.1:* and prints "READY <endpoint>". One
socket for clients and workers of both versions, told apart by the header
frame; a reply goes out in the version (and framing) its client used, so a
0.1 client may be served by a 0.2 worker and the other way round (a 0.1
client gets only the FINAL of a 0.2 worker's PARTIALs). Exits on SIGTERM or
when stdin closes.
"""
import sys
import time
from collections import deque

import zmq

from mdp_common import *

LIVENESS = 3

# Per worker header: the command bytes of its version. 0.1 has no PARTIAL.
WORKER = {
    W01: dict(ready=W01_READY, request=W01_REQUEST, partial=None, final=W01_REPLY,
              heartbeat=W01_HEARTBEAT, disconnect=W01_DISCONNECT),
    W02: dict(ready=W02_READY, request=W02_REQUEST, partial=W02_PARTIAL, final=W02_FINAL,
              heartbeat=W02_HEARTBEAT, disconnect=W02_DISCONNECT),
}


def main():
    exit_on_sigterm()
    args = sys.argv[1:]
    heartbeat = int(args[args.index("--heartbeat") + 1]) if "--heartbeat" in args else 2500
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.linger = 0
    sock.bind("tcp://127.0.0.1:*")
    say("READY", sock.getsockopt_string(zmq.LAST_ENDPOINT))

    workers = {}  # identity -> {"service", "expiry", "header", "head"}
    clients = {}  # identity -> (header, head): how to frame replies to it
    waiting = {}  # service -> deque of idle worker identities
    requests = {}  # service -> deque of (client, body)

    def to_worker(identity, command, *rest):
        worker = workers[identity]
        sock.send_multipart([identity] + worker["head"] + [worker["header"], command] + list(rest))

    def to_client(identity, final, service, body):
        header, head = clients.get(identity, (C02, []))
        if header == C01:
            if final:
                sock.send_multipart([identity] + head + [C01, service] + body)
        else:
            sock.send_multipart([identity] + head + [C02, C02_FINAL if final else C02_PARTIAL, service] + body)

    def dispatch(service):
        idle, queue = waiting.setdefault(service, deque()), requests.setdefault(service, deque())
        while idle and queue:
            identity = idle.popleft()
            client, body = queue.popleft()
            to_worker(identity, WORKER[workers[identity]["header"]]["request"], client, b"", *body)

    def delete(identity, notify):
        if notify and identity in workers:
            to_worker(identity, WORKER[workers[identity]["header"]]["disconnect"])
        worker = workers.pop(identity, None)
        if worker and identity in waiting.get(worker["service"], ()):
            waiting[worker["service"]].remove(identity)

    def refuse(identity, header, head):
        sock.send_multipart([identity] + head + [header, WORKER[header]["disconnect"]])

    next_beat = time.monotonic() + heartbeat / 1000
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(sys.stdin.fileno(), zmq.POLLIN)
    while True:
        events = dict(poller.poll(heartbeat))
        if sys.stdin.fileno() in events and stdin_closed():
            break
        if sock in events:
            identity, *rest = sock.recv_multipart()
            # 7/MDP messages start with an empty frame, 18/MDP messages do not.
            head = [b""] if rest and rest[0] == b"" else []
            header, rest = rest[len(head)], rest[len(head) + 1:]
            if header in (C01, C02):
                if header == C02:
                    assert rest[0] == C02_REQUEST, rest
                    rest = rest[1:]
                clients[identity] = (header, head)
                service, body = rest[0], rest[1:]
                if service.startswith(b"mmi."):
                    if service == b"mmi.service":
                        answer = b"200" if any(w["service"] == body[0] for w in workers.values()) else b"404"
                    else:
                        answer = b"501"
                    to_client(identity, True, service, [answer])
                else:
                    requests.setdefault(service, deque()).append((identity, body))
                    dispatch(service)
            elif header in WORKER:
                codes, (command, *args) = WORKER[header], rest
                known = identity in workers and workers[identity]["header"] == header
                if known:
                    workers[identity]["expiry"] = time.monotonic() + heartbeat * LIVENESS / 1000
                if command == codes["ready"] and identity not in workers and not args[0].startswith(b"mmi."):
                    workers[identity] = {"service": args[0], "header": header, "head": head,
                                         "expiry": time.monotonic() + heartbeat * LIVENESS / 1000}
                    waiting.setdefault(args[0], deque()).append(identity)
                    dispatch(args[0])
                elif command in (codes["partial"], codes["final"]) and known:
                    client, body, service = args[0], args[2:], workers[identity]["service"]
                    final = command == codes["final"]
                    to_client(client, final, service, body)
                    if final:
                        waiting[service].append(identity)
                        dispatch(service)
                elif command == codes["heartbeat"] and known:
                    pass
                elif command == codes["disconnect"]:
                    delete(identity, False)
                elif known:
                    delete(identity, True)
                else:
                    refuse(identity, header, head)
        now = time.monotonic()
        if now >= next_beat:
            for identity, worker in list(workers.items()):
                if now >= worker["expiry"]:
                    delete(identity, False)
                elif identity in waiting.get(worker["service"], ()):
                    to_worker(identity, WORKER[worker["header"]]["heartbeat"])
            next_beat = now + heartbeat / 1000
    sock.close(0)
    ctx.term()


if __name__ == "__main__":
    main()

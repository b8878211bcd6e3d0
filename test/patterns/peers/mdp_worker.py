"""A Majordomo worker (7/MDP or 18/MDP) on pyzmq.

usage: mdp_worker.py ENDPOINT VERSION(0.1|0.2) SERVICE [--heartbeat MS] [--parts N] [--hang]

Echoes each request body. With --parts N (0.2 only) it first sends N PARTIAL
replies "<first body frame>-<i>". With --hang it never answers, and stops
heartbeating, once it has a request (a frozen worker; the test kills it).
Prints READY after each READY it sends, and REQUEST <json body> per request.
Exits on SIGTERM or when stdin closes.
"""
import sys
import time

import zmq

from mdp_common import *

LIVENESS = 3


def main():
    exit_on_sigterm()
    endpoint, version, service = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    args = sys.argv[4:]
    heartbeat = int(args[args.index("--heartbeat") + 1]) if "--heartbeat" in args else 2500
    parts = int(args[args.index("--parts") + 1]) if "--parts" in args else 0
    hang = "--hang" in args
    v1 = version == "0.1"
    head = [b"", W01] if v1 else [W02]
    ready, request, heartbeat_cmd, disconnect = (
        (W01_READY, W01_REQUEST, W01_HEARTBEAT, W01_DISCONNECT) if v1 else
        (W02_READY, W02_REQUEST, W02_HEARTBEAT, W02_DISCONNECT))
    final = W01_REPLY if v1 else W02_FINAL

    ctx = zmq.Context()
    sock = None

    def connect():
        nonlocal sock
        if sock is not None:
            sock.close(0)
        sock = ctx.socket(zmq.DEALER)
        sock.linger = 0
        sock.connect(endpoint)
        sock.send_multipart(head + [ready, service])
        say("READY")
        return sock

    connect()
    liveness = LIVENESS
    next_beat = time.monotonic() + heartbeat / 1000
    while True:
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(sys.stdin.fileno(), zmq.POLLIN)
        events = dict(poller.poll(heartbeat))
        if sys.stdin.fileno() in events and stdin_closed():
            break
        if sock in events:
            frames = sock.recv_multipart()
            liveness = LIVENESS
            if v1:
                assert frames[0] == b"", frames
                frames = frames[1:]
            assert frames[0] == head[-1], frames
            command = frames[1]
            if command == request:
                client, empty, body = frames[2], frames[3], frames[4:]
                assert empty == b""
                say("REQUEST", dump(body))
                if hang:
                    time.sleep(3600)
                if not v1:
                    for i in range(parts):
                        sock.send_multipart(head + [W02_PARTIAL, client, b"", body[0] + b"-%d" % (i + 1)])
                sock.send_multipart(head + [final, client, b""] + body)
            elif command == disconnect:
                connect()
        else:
            liveness -= 1
            if liveness == 0:
                time.sleep(heartbeat / 1000)
                connect()
                liveness = LIVENESS
        if time.monotonic() >= next_beat:
            sock.send_multipart(head + [heartbeat_cmd])
            next_beat = time.monotonic() + heartbeat / 1000
    sock.close(0)
    ctx.term()


if __name__ == "__main__":
    main()

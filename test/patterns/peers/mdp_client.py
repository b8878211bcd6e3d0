"""A Majordomo client (7/MDP over REQ, or 18/MDP over DEALER) on pyzmq.

usage: mdp_client.py ENDPOINT VERSION(0.1|0.2) [--timeout MS]

Reads one request per stdin line, a JSON array [service, body...], sends
it, and prints each reply: "PARTIAL <json>" / "FINAL <json>" where json is
[service, body...], or "TIMEOUT". Prints READY once connected. Exits on
SIGTERM or when stdin closes.
"""
import json
import sys

import zmq

from mdp_common import *


def main():
    exit_on_sigterm()
    endpoint, version = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    timeout = int(args[args.index("--timeout") + 1]) if "--timeout" in args else 5000
    v1 = version == "0.1"
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ if v1 else zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    say("READY")
    for line in sys.stdin:
        if not line.strip():
            continue
        service, *body = [s.encode("latin1") for s in json.loads(line)]
        # REQ adds the empty delimiter frame of 7/MDP itself.
        sock.send_multipart([C01, service] + body if v1 else [C02, C02_REQUEST, service] + body)
        while True:
            if not sock.poll(timeout):
                say("TIMEOUT")
                break
            frames = sock.recv_multipart()
            if v1:
                assert frames[0] == C01, frames
                say("FINAL", dump(frames[1:]))
                break
            assert frames[0] == C02, frames
            if frames[1] == C02_PARTIAL:
                say("PARTIAL", dump(frames[2:]))
            else:
                assert frames[1] == C02_FINAL, frames
                say("FINAL", dump(frames[2:]))
                break
    sock.close(0)
    ctx.term()


if __name__ == "__main__":
    main()

"""One libzmq (pyzmq) end of a PLAIN interop test, driven by argv, reporting JSON lines on stdout.

server <transport> <password>: PULL with plain_server and pyzmq's ThreadAuthenticator
    (user "admin" with <password>); prints {"endpoint"}, then {"received"} or {"received": null}
    after 3 s, and the authenticator's view of failures is left to the client.
client <endpoint> <password>: PUSH as PLAIN client "admin"; prints {"event": "succeeded"} or
    {"event": "failed-auth", "status": N} from the socket monitor, or {"event": "none"} after 5 s.
"""
import json
import os
import sys
import tempfile

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message


def say(obj):
    print(json.dumps(obj), flush=True)


def server(transport, password):
    ctx = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_plain(domain="*", passwords={"admin": password})
    sock = ctx.socket(zmq.PULL)
    sock.plain_server = True
    sock.linger = 0
    if transport == "tcp":
        port = sock.bind_to_random_port("tcp://127.0.0.1")
        endpoint = "tcp://127.0.0.1:%d" % port
    else:
        endpoint = "ipc://" + os.path.join(tempfile.mkdtemp(), "plain.sock")
        sock.bind(endpoint)
    say({"endpoint": endpoint})
    sock.rcvtimeo = 3000
    try:
        frames = sock.recv_multipart()
        say({"received": [f.decode() for f in frames]})
    except zmq.Again:
        say({"received": None})
    auth.stop()
    sock.close()
    ctx.term()


def client(endpoint, password):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    sock.plain_username = b"admin"
    sock.plain_password = password.encode()
    sock.linger = 0
    monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                                      | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
    sock.connect(endpoint)
    sock.send(b"from-pyzmq")
    poller = zmq.Poller()
    poller.register(monitor, zmq.POLLIN)
    if poller.poll(5000):
        event = recv_monitor_message(monitor)
        kind = event["event"]
        if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            say({"event": "succeeded"})
        elif kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            say({"event": "failed-auth", "status": event["value"]})
        else:
            say({"event": "failed-other", "value": event["value"]})
    else:
        say({"event": "none"})
    sock.disable_monitor()
    monitor.close()
    sock.close()
    ctx.term()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "server":
        server(sys.argv[2], sys.argv[3])
    else:
        client(sys.argv[2], sys.argv[3])

"""One libzmq (pyzmq) end of a PLAIN interop test, driven by argv, reporting JSON lines on stdout.

server <transport> <password>: PULL with plain_server and pyzmq's ThreadAuthenticator
    (user "admin" with <password>); prints {"endpoint"}, then {"received"} or {"received": null}
    after 3 s, and the authenticator's view of failures is left to the client.
client <endpoint> <password>: PUSH as PLAIN client "admin"; prints {"event": "succeeded"} or
    {"event": "failed-auth", "status": N} from the socket monitor, or {"event": "none"} after 5 s.
"""
import sys

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from mechanism_common import bind_local, close_client, report_handshake, say, watch_handshake


def server(transport, password):
    ctx = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_plain(domain="*", passwords={"admin": password})
    sock = ctx.socket(zmq.PULL)
    sock.plain_server = True
    sock.linger = 0
    endpoint = bind_local(sock, transport, "plain.sock")
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
    monitor = watch_handshake(sock)
    sock.connect(endpoint)
    sock.send(b"from-pyzmq")
    report_handshake(monitor)
    close_client(ctx, sock, monitor)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "server":
        server(sys.argv[2], sys.argv[3])
    else:
        client(sys.argv[2], sys.argv[3])

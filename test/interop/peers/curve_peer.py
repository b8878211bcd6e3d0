"""One libzmq (pyzmq) end of a CURVE interop test, driven by one JSON argument, reporting JSON lines on stdout.

server {"type", "transport", "secret", "allow": [z85 public keys] | null, "heartbeat": ms, "idle": ms}:
    binds a CURVE server socket of that type. With "allow" a pyzmq ThreadAuthenticator answers ZAP,
    accepting only those client keys (user id: the key's Z85, pyzmq's default); with null no ZAP handler
    is bound. Prints {"endpoint"}, then {"received": [frames as text], "user_id"} for each message
    (echoing it back when the type can reply), and {"received": null} after "idle" ms without one.
client {"type", "endpoint", "server_key", "public", "secret", "send": [[frames]], "replies": n, "pause": ms,
        "heartbeat": ms}:
    connects a CURVE client, reports the monitor's handshake outcome as {"event": ...}, sends each message
    ("pause" ms apart), prints {"reply": [frames]} for n replies.
"""
import json
import sys
import time

import zmq
from zmq.auth.thread import ThreadAuthenticator

from mechanism_common import bind_local, close_client, report_handshake, say, watch_handshake

REPLIES = {"ROUTER", "REP", "DEALER", "PAIR"}


class AllowList:
    def __init__(self, keys):
        self.keys = set(k.encode() for k in keys)

    def callback(self, domain, key):
        return key in self.keys


def server(spec):
    ctx = zmq.Context()
    auth = None
    if spec.get("allow") is not None:
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_curve_callback(domain="*", credentials_provider=AllowList(spec["allow"]))
    sock = ctx.socket(getattr(zmq, spec["type"]))
    sock.curve_server = True
    sock.curve_secretkey = spec["secret"].encode()
    sock.linger = 0
    if spec.get("heartbeat"):
        sock.heartbeat_ivl = spec["heartbeat"]
        sock.heartbeat_timeout = spec["heartbeat"] * 3
    endpoint = bind_local(sock, spec["transport"], "curve.sock")
    say({"endpoint": endpoint})
    sock.rcvtimeo = spec.get("idle", 3000)
    while True:
        try:
            frames = sock.recv_multipart(copy=False)
        except zmq.Again:
            say({"received": None})
            break
        body = [f.bytes.decode("latin-1") for f in frames]
        try:
            user_id = frames[-1].get("User-Id")
        except zmq.ZMQError:
            user_id = None
        say({"received": body, "user_id": user_id})
        if spec["type"] in REPLIES:
            sock.send_multipart([f.bytes for f in frames])
    if auth is not None:
        auth.stop()
    sock.close()
    ctx.term()


def client(spec):
    ctx = zmq.Context()
    sock = ctx.socket(getattr(zmq, spec["type"]))
    sock.curve_serverkey = spec["server_key"].encode()
    sock.curve_publickey = spec["public"].encode()
    sock.curve_secretkey = spec["secret"].encode()
    sock.linger = 0
    if spec.get("heartbeat"):
        sock.heartbeat_ivl = spec["heartbeat"]
        sock.heartbeat_timeout = spec["heartbeat"] * 3
    monitor = watch_handshake(sock)
    sock.connect(spec["endpoint"])
    report_handshake(monitor)
    sock.sndtimeo = 2000
    for i, message in enumerate(spec.get("send", [])):
        if i > 0 and spec.get("pause"):
            time.sleep(spec["pause"] / 1000)
        try:
            sock.send_multipart([f.encode("latin-1") for f in message])
        except zmq.Again:
            say({"sent": False})
    sock.rcvtimeo = 5000
    for _ in range(spec.get("replies", 0)):
        try:
            say({"reply": [f.decode("latin-1") for f in sock.recv_multipart()]})
        except zmq.Again:
            say({"reply": None})
    close_client(ctx, sock, monitor)


if __name__ == "__main__":
    mode = sys.argv[1]
    spec = json.loads(sys.argv[2])
    if mode == "server":
        server(spec)
    else:
        client(spec)

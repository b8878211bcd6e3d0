"""What plain_peer.py and curve_peer.py share: JSON reports on stdout, a fresh local address to bind,
and a client's handshake outcome as libzmq's socket monitor tells it."""
import json
import os
import tempfile

import zmq
from zmq.utils.monitor import recv_monitor_message

HANDSHAKE_EVENTS = (zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)


def say(obj):
    # One line per report, flushed at once: the test awaits each line as it comes.
    print(json.dumps(obj), flush=True)


def bind_local(sock, transport, name):
    """Binds sock to a random 127.0.0.1 port, or to a new ipc path named name, and returns the endpoint."""
    if transport == "tcp":
        port = sock.bind_to_random_port("tcp://127.0.0.1")
        return "tcp://127.0.0.1:%d" % port
    endpoint = "ipc://" + os.path.join(tempfile.mkdtemp(), name)
    sock.bind(endpoint)
    return endpoint


def watch_handshake(sock):
    """A monitor socket for sock's handshake outcome; open it before connecting, or the event is missed."""
    return sock.get_monitor_socket(HANDSHAKE_EVENTS)


def report_handshake(monitor, timeout_ms=5000):
    """Says {"event": "succeeded"}, {"event": "failed-auth", "status": N}, {"event": "failed-other", "value": N},
    or {"event": "none"} when nothing happens within timeout_ms."""
    poller = zmq.Poller()
    poller.register(monitor, zmq.POLLIN)
    if not poller.poll(timeout_ms):
        say({"event": "none"})
        return
    event = recv_monitor_message(monitor)
    kind = event["event"]
    if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
        say({"event": "succeeded"})
    elif kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        say({"event": "failed-auth", "status": event["value"]})
    else:
        say({"event": "failed-other", "value": event["value"]})


def close_client(ctx, sock, monitor):
    """Stops the handshake monitor, then closes the socket and ends the context (term waits for every socket)."""
    sock.disable_monitor()
    monitor.close()
    sock.close()
    ctx.term()

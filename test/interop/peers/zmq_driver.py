#!/usr/bin/env python3
"""A libzmq peer for interoperability tests, driven over stdin/stdout.

Each stdin line is one JSON command {"id": n, "op": ..., ...}; each stdout
line is its reply {"id": n, "ok": true, ...} or {"id": n, "ok": false,
"error": text, "code": errno-name}. Commands run one at a time, in order, so
a blocking command (recv, send, events with wait_for) delays the ones after
it: every blocking command takes a timeout.

Frames and topics travel as base64. Option values are integers, UTF-8
strings, or {"b64": ...} for arbitrary bytes.

The process exits, closing every socket with linger 0, when stdin closes or
on {"op": "exit"}: a test runner that dies must not leave it behind.
"""

import base64
import json
import os
import struct
import sys
import time

import zmq

ERRNO_NAMES = {}
for _name in (
    "EAGAIN", "EFSM", "EHOSTUNREACH", "ENOTSUP", "EINVAL", "EADDRINUSE",
    "ETERM", "ENOTSOCK", "ENOENT", "EPROTONOSUPPORT", "ENOCOMPATPROTO",
    "EMTHREAD", "ECONNREFUSED",
):
    _value = getattr(zmq, _name, None)
    if _value is not None:
        ERRNO_NAMES[_value] = _name

# Monitor event numbers to names, so tests can speak libzmq's vocabulary.
EVENT_NAMES = {}
for _name in dir(zmq):
    if _name.startswith("EVENT_") and _name not in ("EVENT_ALL", "EVENT_ALL_V1", "EVENT_ALL_V2"):
        _value = getattr(zmq, _name)
        if isinstance(_value, int):
            EVENT_NAMES[int(_value)] = _name[len("EVENT_"):]


class CommandError(Exception):
    def __init__(self, message, code="EINVAL"):
        super().__init__(message)
        self.code = code


def decode(text):
    return base64.b64decode(text.encode("ascii"), validate=True)


def encode(data):
    return base64.b64encode(bytes(data)).decode("ascii")


def option_value(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and "b64" in value:
        return decode(value["b64"])
    raise CommandError("unsupported option value %r" % (value,))


def option_number(name):
    number = getattr(zmq, str(name).upper(), None)
    if not isinstance(number, int):
        raise CommandError("unknown socket option %r" % (name,))
    return number


class Driver:
    def __init__(self):
        self.context = zmq.Context()
        self.sockets = {}
        self.monitors = {}
        # libzmq leaves the file of an explicitly named ipc endpoint behind on close; tests must not litter.
        self.ipc_files = {}
        self.next_sock = 1

    # ---- helpers -----------------------------------------------------------

    def sock(self, cmd):
        handle = cmd.get("sock")
        if handle not in self.sockets:
            raise CommandError("no socket %r" % (handle,), "ENOTSOCK")
        return self.sockets[handle]

    def apply_options(self, socket, options):
        for name, value in (options or {}).items():
            socket.setsockopt(option_number(name), option_value(value))

    def drain_monitor(self, handle, wait_for=None, timeout_ms=0):
        """Collects pending monitor events; with wait_for, blocks until that one appears."""
        monitor = self.monitors.get(handle)
        if monitor is None:
            raise CommandError("socket %r is not monitored" % (handle,))
        seen = []
        found = wait_for is None
        deadline = time.monotonic() + timeout_ms / 1000.0
        while True:
            wait = 0 if found else max(0, int((deadline - time.monotonic()) * 1000))
            if not monitor.poll(wait, zmq.POLLIN):
                break
            frames = monitor.recv_multipart()
            event, value = struct.unpack("=HI", frames[0][:6])
            name = EVENT_NAMES.get(event, str(event))
            seen.append({"event": name, "value": value, "endpoint": frames[1].decode("utf-8", "replace")})
            if name == wait_for:
                found = True
        if not found:
            raise CommandError("no %s event within %d ms (saw %s)" % (wait_for, timeout_ms, [e["event"] for e in seen]), "EAGAIN")
        return seen

    def start_monitor(self, handle):
        if handle not in self.monitors:
            self.monitors[handle] = self.sockets[handle].get_monitor_socket(zmq.EVENT_ALL)

    def stop_monitor(self, handle):
        monitor = self.monitors.pop(handle, None)
        if monitor is not None:
            self.sockets[handle].disable_monitor()
            monitor.close(linger=0)

    def remove_ipc_files(self, handle):
        for path in self.ipc_files.pop(handle, []):
            try:
                os.unlink(path)
            except OSError:
                pass

    def send_one(self, socket, frames, timeout_ms):
        # A whole message is accepted at once or not at all, so one POLLOUT wait covers every frame.
        if not socket.poll(timeout_ms, zmq.POLLOUT):
            raise CommandError("send timed out after %d ms" % timeout_ms, "EAGAIN")
        socket.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)

    def recv_one(self, socket, timeout_ms):
        if not socket.poll(timeout_ms, zmq.POLLIN):
            raise CommandError("nothing received within %d ms" % timeout_ms, "EAGAIN")
        return socket.recv_multipart(flags=zmq.NOBLOCK)

    # ---- commands ----------------------------------------------------------

    def op_socket(self, cmd):
        kind = getattr(zmq, str(cmd["type"]).upper(), None)
        if not isinstance(kind, int):
            raise CommandError("unknown socket type %r" % (cmd["type"],))
        socket = self.context.socket(kind)
        try:
            socket.setsockopt(zmq.LINGER, 0)
            self.apply_options(socket, cmd.get("options"))
        except Exception:
            socket.close(linger=0)
            raise
        handle = self.next_sock
        self.next_sock += 1
        self.sockets[handle] = socket
        if cmd.get("monitor"):
            self.start_monitor(handle)
        return {"sock": handle}

    def op_setsockopt(self, cmd):
        self.apply_options(self.sock(cmd), cmd.get("options"))
        return {}

    def op_bind(self, cmd):
        socket = self.sock(cmd)
        socket.bind(cmd["endpoint"])
        endpoint = socket.getsockopt(zmq.LAST_ENDPOINT).decode("utf-8")
        if endpoint.startswith("ipc://") and cmd["endpoint"] != "ipc://*":
            self.ipc_files.setdefault(cmd["sock"], []).append(endpoint[len("ipc://"):])
        return {"endpoint": endpoint}

    def op_unbind(self, cmd):
        self.sock(cmd).unbind(cmd["endpoint"])
        path = cmd["endpoint"][len("ipc://"):]
        files = self.ipc_files.get(cmd["sock"], [])
        if path in files:
            files.remove(path)
            try:
                os.unlink(path)
            except OSError:
                pass
        return {}

    def op_connect(self, cmd):
        socket = self.sock(cmd)
        handle = cmd["sock"]
        if cmd.get("routing_id") is not None:
            socket.setsockopt(zmq.CONNECT_ROUTING_ID, option_value(cmd["routing_id"]))
        wait_ms = cmd.get("wait_handshake_ms")
        if wait_ms is None:
            socket.connect(cmd["endpoint"])
            return {}
        # Watching the monitor is the only way to learn that libzmq finished the handshake.
        own_monitor = handle not in self.monitors
        self.start_monitor(handle)
        try:
            socket.connect(cmd["endpoint"])
            events = self.drain_monitor(handle, "HANDSHAKE_SUCCEEDED", int(wait_ms))
        finally:
            if own_monitor:
                self.stop_monitor(handle)
        return {"events": [e["event"] for e in events]}

    def op_disconnect(self, cmd):
        self.sock(cmd).disconnect(cmd["endpoint"])
        return {}

    def op_monitor(self, cmd):
        self.sock(cmd)
        self.start_monitor(cmd["sock"])
        return {}

    def op_events(self, cmd):
        self.sock(cmd)
        seen = self.drain_monitor(cmd["sock"], cmd.get("wait_for"), int(cmd.get("timeout_ms", 5000)))
        return {"events": seen}

    def op_send(self, cmd):
        frames = [decode(f) for f in cmd["frames"]]
        if not frames:
            raise CommandError("a message needs at least one frame")
        self.send_one(self.sock(cmd), frames, int(cmd.get("timeout_ms", 5000)))
        return {}

    def op_send_many(self, cmd):
        # Message i is [decimal i, *frames]: the receiver can check order without the frames travelling 1000 times over stdin.
        socket = self.sock(cmd)
        rest = [decode(f) for f in cmd.get("frames", [])]
        timeout_ms = int(cmd.get("timeout_ms", 5000))
        for i in range(int(cmd["count"])):
            self.send_one(socket, [str(i).encode("ascii")] + rest, timeout_ms)
        return {}

    def op_send_until_blocked(self, cmd):
        # libzmq's "send with ZMQ_DONTWAIT until EAGAIN", made robust: one EAGAIN may be the pipe
        # waiting for the I/O thread, so only a socket that stays unwritable for stall_ms counts as blocked.
        # Message i is [decimal i, *frames], as in send_many.
        socket = self.sock(cmd)
        rest = [decode(f) for f in cmd.get("frames", [])]
        stall_ms = int(cmd.get("stall_ms", 200))
        limit = int(cmd.get("max", 100000))
        sent = 0
        refused = 0
        while sent < limit:
            try:
                socket.send_multipart([str(sent).encode("ascii")] + rest, flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                refused += 1
                if not socket.poll(stall_ms, zmq.POLLOUT):
                    break
                continue
            sent += 1
        return {"sent": sent, "refused": refused}

    def op_recv(self, cmd):
        frames = self.recv_one(self.sock(cmd), int(cmd.get("timeout_ms", 5000)))
        return {"frames": [encode(f) for f in frames]}

    def op_recv_properties(self, cmd):
        # Received as zmq.Frame (copy=False): only a Frame can read the connection's
        # metadata (zmq_msg_gets). libzmq matches names exactly; an absent one reads as None.
        socket = self.sock(cmd)
        timeout_ms = int(cmd.get("timeout_ms", 5000))
        if not socket.poll(timeout_ms, zmq.POLLIN):
            raise CommandError("nothing received within %d ms" % timeout_ms, "EAGAIN")
        frames = socket.recv_multipart(flags=zmq.NOBLOCK, copy=False)
        properties = {}
        for name in cmd.get("names", []):
            try:
                properties[name] = frames[-1].get(name)
            except zmq.ZMQError:
                properties[name] = None
        return {"frames": [encode(f.bytes) for f in frames], "properties": properties}

    def op_recv_many(self, cmd):
        socket = self.sock(cmd)
        timeout_ms = int(cmd.get("timeout_ms", 5000))
        messages = []
        for _ in range(int(cmd["count"])):
            messages.append([encode(f) for f in self.recv_one(socket, timeout_ms)])
        return {"messages": messages}

    def op_subscribe(self, cmd):
        self.sock(cmd).setsockopt(zmq.SUBSCRIBE, decode(cmd.get("topic", "")))
        return {}

    def op_unsubscribe(self, cmd):
        self.sock(cmd).setsockopt(zmq.UNSUBSCRIBE, decode(cmd.get("topic", "")))
        return {}

    def op_close(self, cmd):
        socket = self.sock(cmd)
        self.stop_monitor(cmd["sock"])
        socket.close(linger=int(cmd.get("linger", 0)))
        del self.sockets[cmd["sock"]]
        self.remove_ipc_files(cmd["sock"])
        return {}

    def op_version(self, cmd):
        return {"pyzmq": zmq.pyzmq_version(), "libzmq": zmq.zmq_version()}

    def shutdown(self):
        for handle in list(self.monitors):
            self.stop_monitor(handle)
        for handle, socket in self.sockets.items():
            socket.close(linger=0)
            self.remove_ipc_files(handle)
        self.sockets.clear()
        self.context.term()


def reply(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main():
    driver = Driver()
    try:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            cid = None
            try:
                cmd = json.loads(line)
                cid = cmd.get("id")
                op = cmd.get("op")
                if op == "exit":
                    reply({"id": cid, "ok": True})
                    return
                handler = getattr(driver, "op_" + str(op), None)
                if handler is None:
                    raise CommandError("unknown op %r" % (op,))
                result = handler(cmd)
                result.update({"id": cid, "ok": True})
                reply(result)
            except zmq.ZMQError as error:
                reply({"id": cid, "ok": False, "error": str(error), "code": ERRNO_NAMES.get(error.errno, str(error.errno))})
            except CommandError as error:
                reply({"id": cid, "ok": False, "error": str(error), "code": error.code})
            except Exception as error:  # a malformed command must not kill the driver
                reply({"id": cid, "ok": False, "error": "%s: %s" % (type(error).__name__, error), "code": "EINVAL"})
    finally:
        driver.shutdown()


if __name__ == "__main__":
    main()

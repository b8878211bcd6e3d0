"""A Binary Star server written from the ZeroMQ guide's description (chapter 4), in pyzmq.

It stands for "a server from the guide" in the interop tests: the state is one
frame holding the digit of the state (1 primary, 2 backup, 3 active,
4 passive), sent on PUB every heartbeat; the peer is dead after two silent
heartbeats; a dual active or dual passive aborts the process, as the guide's
servers do. Like the guide's C server it reads the state subscriber one frame
at a time and parses each frame as a leading decimal number (C atoi, 0 when
there is none), so it never sees the term frame Privateer may send as
anything but an event that matches no row.

Usage: bstar_srv.py ROLE FRONTEND STATE_PUB STATE_SUB HEARTBEAT_MS
Prints one line per fact on stdout: "ready", "state <name>", "served <body>",
"fatal <dual-active|dual-passive>".
"""

import sys
import time

import zmq

PRIMARY, BACKUP, ACTIVE, PASSIVE = 1, 2, 3, 4
CLIENT_REQUEST = 5
NAMES = {PRIMARY: "primary", BACKUP: "backup", ACTIVE: "active", PASSIVE: "passive"}
# Events 1-4 are the peer's states; 5 is a client request.
PEER_PRIMARY, PEER_BACKUP, PEER_ACTIVE, PEER_PASSIVE = PRIMARY, BACKUP, ACTIVE, PASSIVE


class Fatal(Exception):
    pass


def now_ms():
    return time.monotonic() * 1000.0


def leading_number(frame):
    """What C's atoi makes of the frame: its leading digits, or 0."""
    digits = b""
    for byte in frame:
        if 48 <= byte <= 57:
            digits += bytes([byte])
        else:
            break
    return int(digits) if digits else 0


def next_state(state, event, peer_expiry):
    """The guide's table. Returns (new state, serve?) or raises Fatal; serve is None for peer events."""
    if state == PRIMARY:
        if event == PEER_BACKUP:
            return ACTIVE, None
        if event == PEER_ACTIVE:
            return PASSIVE, None
        # The guide's primary answers clients while still waiting for its backup.
        return state, (True if event == CLIENT_REQUEST else None)
    if state == BACKUP:
        if event == PEER_ACTIVE:
            return PASSIVE, None
        return state, (False if event == CLIENT_REQUEST else None)
    if state == ACTIVE:
        if event == PEER_ACTIVE:
            raise Fatal("dual-active")
        return state, (True if event == CLIENT_REQUEST else None)
    # Passive.
    if event in (PEER_PRIMARY, PEER_BACKUP):
        return ACTIVE, None
    if event == PEER_PASSIVE:
        raise Fatal("dual-passive")
    if event == CLIENT_REQUEST:
        if now_ms() > peer_expiry:
            return ACTIVE, True
        return state, False
    return state, None


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main():
    role, frontend_ep, pub_ep, sub_ep, heartbeat = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    ctx = zmq.Context()
    frontend = ctx.socket(zmq.ROUTER)
    statepub = ctx.socket(zmq.PUB)
    statesub = ctx.socket(zmq.SUB)
    for sock in (frontend, statepub, statesub):
        sock.linger = 0
    statesub.setsockopt(zmq.SUBSCRIBE, b"")
    frontend.bind(frontend_ep)
    statepub.bind(pub_ep)
    statesub.connect(sub_ep)
    state = PRIMARY if role == "primary" else BACKUP
    peer_expiry = 0.0
    say("ready")
    say("state " + NAMES[state])

    poller = zmq.Poller()
    poller.register(frontend, zmq.POLLIN)
    poller.register(statesub, zmq.POLLIN)
    send_at = now_ms() + heartbeat
    try:
        while True:
            wait = max(0, int(send_at - now_ms()))
            ready = dict(poller.poll(wait))
            if ready.get(frontend) == zmq.POLLIN:
                message = frontend.recv_multipart()
                new, serve = next_state(state, CLIENT_REQUEST, peer_expiry)
                if new != state:
                    state = new
                    say("state " + NAMES[state])
                if serve:
                    say("served " + message[-1].decode("latin1"))
                    frontend.send_multipart(message)
            if ready.get(statesub) == zmq.POLLIN:
                # One frame per read, as the guide's s_recv does.
                event = leading_number(statesub.recv())
                new, _ = next_state(state, event, peer_expiry)
                if new != state:
                    state = new
                    say("state " + NAMES[state])
                peer_expiry = now_ms() + 2 * heartbeat
            if now_ms() >= send_at:
                statepub.send(str(state).encode())
                send_at = now_ms() + heartbeat
    except Fatal as fatal:
        say("fatal " + str(fatal))
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        ctx.destroy(linger=0)


if __name__ == "__main__":
    main()

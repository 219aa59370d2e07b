#!/usr/bin/env python3
"""net_client.py - a raw HTTP/1.1 client for the net_*.sh tests: it sends
exactly the bytes it is told and reports what came back, so that the tests
can check statuses the way a careful client sees them (before or after a
body, on one connection, after a disconnect).

  net_client.py PORT send HEX_OR_TEXT [--wait S]
      send the bytes (C escapes allowed), read until close or S seconds of
      silence, print the raw response bytes.
  net_client.py PORT expect-first HEAD_TEXT [--wait S]
      send a request head that carries Expect: 100-continue and no body;
      print the status line of the first response (100 or the refusal).
  net_client.py PORT partial PATH TOTAL SEND
      PUT with Content-Length TOTAL, send SEND bytes of it, then close.
  net_client.py PORT trickle PATH TOTAL RATE SECONDS
      PUT with Content-Length TOTAL, send RATE bytes a second for at most
      SECONDS; print the status line the server answered (or "none").
  net_client.py PORT pipeline PATH N SIZE
      N PUTs of SIZE bytes to PATH.i plus a GET of PATH.0 written in one
      go on one connection; print each response's status line.
  net_client.py PORT hold N M SECONDS READYFILE
      open N connections that send nothing and M that send a PUT head and
      then one body byte a second, create READYFILE once all are
      connected, keep them SECONDS, and print "open=K" with the number
      still open (not closed by the server).
Every operation is bounded in time.
"""
import os
import socket
import sys
import time


def unescape(s):
    return s.encode().decode("unicode_escape").encode("latin-1")


def connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_all(s, wait):
    s.settimeout(wait)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionResetError):
        pass
    return out


PENDING = [b""]


def read_response(s, wait=10):
    """One response: head plus Content-Length body. Returns (status line,
    headers dict, body) or (None, {}, b''). Bytes past the response are
    kept for the next call."""
    s.settimeout(wait)
    buf = PENDING[0]
    try:
        while b"\r\n\r\n" not in buf:
            b = s.recv(4096)
            if not b:
                return None, {}, b""
            buf += b
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        hdrs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        if lines[0].split()[1] in ("100", "204", "304"):
            n = 0
        while len(rest) < n:
            b = s.recv(65536)
            if not b:
                break
            rest += b
        PENDING[0] = rest[n:]
        return lines[0], hdrs, rest[:n]
    except (socket.timeout, ConnectionResetError):
        return None, {}, b""


def main():
    port = int(sys.argv[1])
    op = sys.argv[2]
    args = sys.argv[3:]
    if op == "send":
        wait = 3.0
        if "--wait" in args:
            wait = float(args[args.index("--wait") + 1])
        s = connect(port)
        try:
            s.sendall(unescape(args[0]))
        except (BrokenPipeError, ConnectionResetError):
            pass
        sys.stdout.buffer.write(read_all(s, wait))
    elif op == "expect-first":
        s = connect(port)
        s.sendall(unescape(args[0]))
        line, _, _ = read_response(s, 5)
        print(line if line else "none")
    elif op == "partial":
        path, total, send = args[0], int(args[1]), int(args[2])
        s = connect(port)
        s.sendall(("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                   % (path, total)).encode())
        chunk = os.urandom(65536)
        left = send
        while left > 0:
            n = min(left, len(chunk))
            s.sendall(chunk[:n])
            left -= n
        time.sleep(0.2)
        s.close()
    elif op == "trickle":
        path, total, rate, secs = (args[0], int(args[1]), int(args[2]),
                                   float(args[3]))
        s = connect(port)
        s.sendall(("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                   % (path, total)).encode())
        s.setblocking(False)
        end = time.time() + secs
        sent = 0
        resp = b""
        while time.time() < end and sent < total:
            try:
                b = s.recv(4096)
                if b:
                    resp += b
                    break
                break
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            try:
                n = s.send(b"x" * min(rate, total - sent))
                sent += n
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                pass
            time.sleep(1)
        s.setblocking(True)
        if not resp:
            resp = read_all(s, 2)
        print(resp.split(b"\r\n")[0].decode() if resp else "none")
    elif op == "pipeline":
        path, n, size = args[0], int(args[1]), int(args[2])
        s = connect(port)
        out = b""
        for i in range(n):
            out += ("PUT %s.%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                    % (path, i, size)).encode() + bytes([65 + i % 26]) * size
        out += ("GET %s.0 HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode()
        s.sendall(out)
        for i in range(n + 1):
            line, hdrs, body = read_response(s, 10)
            extra = ""
            if line and line.split()[1] == "200":
                extra = " len=%d" % len(body)
            print((line or "none") + extra)
    elif op == "hold":
        n, m, secs, ready = int(args[0]), int(args[1]), float(args[2]), args[3]
        idle, slow = [], []
        for _ in range(n):
            idle.append(connect(port))
        for i in range(m):
            s = connect(port)
            s.sendall(("PUT /trickle/%d HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 1000000\r\n\r\n" % i).encode())
            slow.append(s)
        open(ready, "w").close()
        end = time.time() + secs
        while time.time() < end:
            for s in slow:
                try:
                    s.send(b"x")
                except OSError:
                    pass
            time.sleep(1)
        alive = 0
        for s in idle + slow:
            s.setblocking(False)
            try:
                b = s.recv(1)
                if b:
                    alive += 1
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        print("open=%d" % alive)
        for s in idle + slow:
            s.close()
    else:
        sys.exit("unknown op " + op)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Drives matchd through nginx (tests/deploy/nginx_e2e_test.sh): REST, WebSocket, SSE and
nginx's own answers (JSON error pages, operator endpoints). Standard library only, with a
minimal hand-written WebSocket client (RFC 6455: client frames masked, text/ping/close).

    nginx_e2e_client.py NGINX_HOST:PORT GRAFANA_PORT

Expects a fresh in-memory matchd with the default instrument BTC-USD (tick 0.01) behind
nginx, and nothing listening on 127.0.0.1:GRAFANA_PORT, nginx's Grafana upstream: the client
first checks nginx's answer while Grafana is down, then serves a stand-in there itself.
Exits non-zero on the first failed check, naming it.
"""
import base64
import hashlib
import http.client
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TIMEOUT = 5.0
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)
    print(f"ok: {what}")


def http_request(host, port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), raw


def json_of(raw, what):
    try:
        return json.loads(raw)
    except ValueError:
        raise CheckFailed(f"{what}: body is not JSON: {raw[:200]!r}")


class BufferedSocket:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise CheckFailed("connection closed by peer")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_until(self, marker, limit=65536):
        while marker not in self.buf:
            if len(self.buf) > limit:
                raise CheckFailed(f"no {marker!r} within {limit} bytes")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise CheckFailed(f"connection closed before {marker!r}")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(marker)
        return head


class WebSocket:
    def __init__(self, host, port, path):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.io = BufferedSocket(self.sock)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = self.io.read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        self.status_line = head[0]
        self.headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.accept_ok = self.headers.get("sec-websocket-accept") == expected

    def send(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send_json(self, obj):
        self.send(0x1, json.dumps(obj).encode())

    def recv_frame(self):
        """One complete message: (opcode, payload). Answers pings on the way."""
        message, first_opcode = b"", None
        while True:
            b0, b1 = self.io.read_exact(2)
            fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if b1 & 0x80:
                raise CheckFailed("server frame is masked")
            if n == 126:
                (n,) = struct.unpack("!H", self.io.read_exact(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self.io.read_exact(8))
            payload = self.io.read_exact(n)
            if opcode == 0x9:  # ping
                self.send(0xA, payload)
                continue
            if opcode >= 0x8:
                return opcode, payload
            if opcode != 0x0:
                first_opcode = opcode
            message += payload
            if fin:
                return first_opcode, message

    def recv_json(self, deadline):
        self.sock.settimeout(max(0.1, deadline - time.monotonic()))
        opcode, payload = self.recv_frame()
        if opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            raise CheckFailed(f"websocket closed by server: {code} {payload[2:]!r}")
        if opcode != 0x1:
            raise CheckFailed(f"websocket message is not a text frame (opcode {opcode})")
        return json.loads(payload)

    def close(self):
        try:
            self.send(0x8, struct.pack("!H", 1000))
            self.sock.settimeout(2)
            while True:
                opcode, _ = self.recv_frame()
                if opcode == 0x8:
                    return True
        except (OSError, CheckFailed):
            return False
        finally:
            self.sock.close()


def place(host, port, body):
    status, _, raw = http_request(host, port, "POST", "/orders", body)
    return status, json_of(raw, "POST /orders")


def main():
    host, _, port_text = sys.argv[1].rpartition(":")
    port = int(port_text)
    grafana_port = int(sys.argv[2])
    ins = "BTC-USD"

    # Plain REST through the proxy.
    status, _, raw = http_request(host, port, "GET", "/healthz")
    check(status == 200 and json_of(raw, "healthz").get("status") == "ok", "GET /healthz through nginx is 200 ok")

    # The web client: the page and its script, with matchd's headers kept.
    status, hdrs, raw = http_request(host, port, "GET", "/")
    check(status == 200 and b"<title>matchd</title>" in raw
          and "default-src 'self'" in hdrs.get("content-security-policy", ""),
          "GET / through nginx is the web client, with its Content-Security-Policy")
    status, hdrs, raw = http_request(host, port, "GET", "/ui/app.js")
    check(status == 200 and hdrs.get("content-type", "").startswith("text/javascript"),
          "GET /ui/app.js through nginx is the page's script")

    status, body = place(host, port, {"client_id": "e2e-maker", "order_id": "nginx-buy-1", "instrument": ins,
                                      "side": "buy", "type": "limit", "price": "100.00", "quantity": "1"})
    check(status == 201, f"POST /orders (resting buy) is 201 (got {status} {body})")
    check(body["order"]["status"] == "open" and body["trades"] == [], "the buy rests open without trades")

    status, _, raw = http_request(host, port, "GET", f"/orderbook?instrument={ins}&levels=5")
    book = json_of(raw, "orderbook")
    check(status == 200 and book["bids"] and book["bids"][0]["price"] == "100.00"
          and book["bids"][0]["quantity"] == "1.00000000", "GET /orderbook shows the bid (query string passed)")

    # Streams: WebSocket and SSE subscribed before the trade.
    ws = WebSocket(host, port, "/stream")
    check(ws.status_line.split(" ")[1:2] == ["101"], f"WebSocket upgrade through nginx is 101 ({ws.status_line})")
    check(ws.accept_ok, "Sec-WebSocket-Accept matches the key")
    ws.send_json({"op": "subscribe", "channels": ["trades", "orderbook_deltas"], "instrument": ins})

    deadline = time.monotonic() + TIMEOUT
    snapshot_seq, subscribed = None, False
    while snapshot_seq is None:
        msg = ws.recv_json(deadline)
        if msg.get("type") == "subscribed":
            subscribed = True
        elif msg.get("channel") == "orderbook_snapshot":
            snapshot_seq = msg["sequence"]
            snap = msg.get("data", msg)
            check(snap["bids"][0]["price"] == "100.00", "WebSocket snapshot shows the bid")
    check(subscribed, "WebSocket subscription acknowledged")

    sse = socket.create_connection((host, port), timeout=TIMEOUT)
    # HTTP/1.0 to nginx: no chunked framing to undo; nginx still talks HTTP/1.1 upstream.
    sse.sendall(f"GET /stream/sse?channels=trades&instrument={ins} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
    sse_io = BufferedSocket(sse)
    sse_head = sse_io.read_until(b"\r\n\r\n").decode("latin-1")
    check(sse_head.split(" ")[1] == "200" and "text/event-stream" in sse_head.lower(),
          "GET /stream/sse through nginx is 200 text/event-stream")
    # matchd sends the SSE head only once the subscription is registered, and opens the stream
    # with a ": subscribed" comment; the WebSocket subscriber is confirmed above. Waiting for
    # /metrics to count both also checks the stream_subscribers gauge.
    deadline = time.monotonic() + TIMEOUT
    while True:
        _, _, raw = http_request(host, port, "GET", "/metrics")
        counts = [float(line.split()[-1]) for line in raw.decode().splitlines()
                  if line.startswith("stream_subscribers")]
        if sum(counts) >= 2:
            break
        if time.monotonic() > deadline:
            raise CheckFailed(f"stream_subscribers never reached 2 (last {counts})")
        time.sleep(0.02)

    status, body = place(host, port, {"client_id": "e2e-taker", "order_id": "nginx-sell-1", "instrument": ins,
                                      "side": "sell", "type": "limit", "price": "100.00", "quantity": "0.4"})
    check(status == 201 and body["order"]["status"] == "filled" and len(body["trades"]) == 1,
          f"crossing sell is 201 filled with one trade (got {status})")
    trade_id = body["trades"][0]["trade_id"]

    deadline = time.monotonic() + TIMEOUT
    got_trade = got_delta = False
    last_seq = snapshot_seq
    while not (got_trade and got_delta):
        msg = ws.recv_json(deadline)
        if "sequence" in msg and msg.get("channel") in ("trades", "orderbook_deltas"):
            check(msg["sequence"] > snapshot_seq, "stream sequence is above the snapshot's")
            last_seq = max(last_seq, msg["sequence"])
        if msg.get("channel") == "trades":
            got_trade = msg["data"]["trade_id"] == trade_id and msg["data"]["quantity"] == "0.40000000"
        elif msg.get("channel") == "orderbook_deltas":
            d = msg["data"]
            if d["side"] == "buy" and d["price"] == "100.00":
                check(d["quantity"] == "0.60000000" and d["orders"] == 1,
                      f"orderbook delta: the bid level is now 0.6 ({d})")
                got_delta = True
    check(got_trade, "WebSocket trade event received through nginx")
    check(ws.close(), "WebSocket close handshake completes through nginx")

    # The SSE event must arrive now, not when a proxy buffer fills (proxy_buffering off).
    sse.settimeout(TIMEOUT)
    event = sse_io.read_until(b"\n\n").decode()
    while all(line.startswith(":") for line in event.splitlines() if line):
        event = sse_io.read_until(b"\n\n").decode()  # comments (subscribed, keepalive)
    fields = dict(line.split(": ", 1) for line in event.splitlines() if ": " in line)
    check(fields.get("event") == "trades" and json.loads(fields["data"])["trade_id"] == trade_id,
          "SSE trade event received through nginx without buffering")
    sse.close()

    status, _, raw = http_request(host, port, "GET", f"/orderbook?instrument={ins}")
    book = json_of(raw, "orderbook")
    check(book["bids"][0]["quantity"] == "0.60000000", "GET /orderbook after the trade shows 0.6 left")

    # matchd's own errors pass through unchanged (no proxy_intercept_errors).
    status, _, raw = http_request(host, port, "GET", "/no-such-path")
    check(status == 404 and json_of(raw, "404")["error"]["code"] == "not_found", "matchd's 404 passes through")
    status, _, raw = http_request(host, port, "POST", "/orders", b'{"client_id": "x", "instrument": "BTC-USD", '
                                  b'"side": "buy", "type": "limit", "price": "1.005", "quantity": "1"}')
    check(status == 400 and json_of(raw, "400")["error"]["code"] == "invalid_price_tick",
          "matchd's 400 passes through")

    # Bodies: nginx enforces the API's 64 KiB limit with matchd's error shape; a body of
    # exactly 64 KiB still reaches matchd (here a malformed one: 400, not 413).
    limit = 64 * 1024
    status, _, raw = http_request(host, port, "POST", "/orders", b"{" + b" " * (limit + 1 - 2) + b"}")
    check(status == 413 and json_of(raw, "413")["error"]["code"] == "body_too_large",
          "64 KiB + 1 body: 413 body_too_large in the API's error shape")
    status, _, raw = http_request(host, port, "POST", "/orders", b"[" + b" " * (limit - 2) + b"]")
    check(status == 400, f"64 KiB body passes nginx and gets matchd's answer (got {status})")
    status, _, raw = http_request(host, port, "POST", "/orders", b"{" + b" " * (200 * 1024) + b"}")
    check(status == 413 and json_of(raw, "413")["error"]["code"] == "body_too_large",
          "200 KiB body: 413 body_too_large")

    # Operator endpoints are allowed from loopback.
    status, hdrs, raw = http_request(host, port, "GET", "/metrics")
    check(status == 200 and b"orders_received_total" in raw, "GET /metrics from loopback is allowed")

    # Grafana is down here: nginx's 502 in the API's error shape.
    status, hdrs, raw = http_request(host, port, "GET", "/grafana/")
    check(status == 502 and json_of(raw, "502")["error"]["code"] == "upstream_unavailable"
          and hdrs.get("retry-after") == "1", "unreachable upstream: 502 upstream_unavailable with Retry-After")
    status, hdrs, _ = http_request(host, port, "GET", "/grafana")
    check(status == 301 and hdrs.get("location") == "/grafana/", "/grafana redirects to /grafana/ (relative)")

    # A stand-in Grafana that echoes what reached it: the sub-path must arrive unchanged
    # (serve_from_sub_path) and Host with the client's port (Grafana's CSRF origin check).
    class Echo(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"path": self.path, "host": self.headers.get("Host")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    grafana = ThreadingHTTPServer(("127.0.0.1", grafana_port), Echo)
    threading.Thread(target=grafana.serve_forever, daemon=True).start()
    try:
        status, _, raw = http_request(host, port, "GET", "/grafana/api/health?x=1",
                                      headers={"Host": f"{host}:{port}"})
        seen = json_of(raw, "grafana stand-in")
        check(status == 200 and seen["path"] == "/grafana/api/health?x=1",
              f"/grafana/ reaches Grafana with the sub-path unchanged ({seen})")
        check(seen["host"] == f"{host}:{port}", "Grafana sees the client's Host header, port included")
    finally:
        grafana.shutdown()
        grafana.server_close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (CheckFailed, OSError, KeyError, ValueError, IndexError) as e:
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)

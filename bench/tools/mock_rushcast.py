#!/usr/bin/env python3
"""A tiny stand-in for rushcast's subscribe/publish surface, to check the load generator's
rushcast mode (chunked SSE, WebSocket subscribe, POST /api/publish) before the daemon exists.
Not a benchmark target: single-threaded Python, slow.

    python3 bench/tools/mock_rushcast.py --port 18081 --key k &
    N=200 PER_PROC=100 EVENTS=50 bench/run_s1.sh rushcast sse http://127.0.0.1:18081 k
"""
import argparse
import asyncio
import base64
import hashlib
import json
import struct
import urllib.parse

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
subs = {}  # topic -> set of (kind, writer)
seq = 0


def ws_frame(text: str) -> bytes:
    p = text.encode()
    n = len(p)
    if n < 126:
        h = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        h = struct.pack("!BBH", 0x81, 126, n)
    else:
        h = struct.pack("!BBQ", 0x81, 127, n)
    return h + p


def sse_chunk(text: str) -> bytes:
    b = text.encode()
    return b"%x\r\n" % len(b) + b + b"\r\n"


async def read_ws(reader):
    h = await reader.readexactly(2)
    op, n = h[0] & 0x0F, h[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    mask = await reader.readexactly(4) if h[1] & 0x80 else b"\0\0\0\0"
    data = bytearray(await reader.readexactly(n))
    for i in range(n):
        data[i] ^= mask[i & 3]
    return op, bytes(data)


async def handle(reader, writer, key):
    global seq
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            hdrs = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
            url = urllib.parse.urlsplit(target)
            q = urllib.parse.parse_qs(url.query)
            if method == "POST" and url.path == "/api/publish":
                body = await reader.readexactly(int(hdrs.get("content-length", "0")))
                if hdrs.get("authorization") != "Bearer " + key:
                    out = b'{"error":"unauthorized","message":"no key"}'
                    writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
                    continue
                msg = json.loads(body)
                seq += 1
                eid = str(seq)
                data = json.dumps(msg["data"], separators=(",", ":"))
                wsobj = dict(msg["data"], type=msg.get("event", "message"), topic=msg["topic"], id=eid)
                wstext = json.dumps(wsobj, separators=(",", ":"))
                for kind, w in list(subs.get(msg["topic"], ())):
                    if kind == "sse":
                        w.write(sse_chunk(f"id: {eid}\nevent: {msg.get('event', 'message')}\ndata: {data}\n\n"))
                    else:
                        w.write(ws_frame(wstext))
                out = json.dumps({"id": eid}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
                await writer.drain()
            elif method == "GET" and url.path == "/sse-updates":
                topics = q.get("topics", ["sale:demo"])[0].split(",")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                             b"X-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n\r\n")
                writer.write(sse_chunk("retry: 3000\n\n"))
                writer.write(sse_chunk('event: stock\r\ndata: {"saleId":"demo","stock":100,"total":100}\r\n\r\n'))
                for t in topics:
                    subs.setdefault(t, set()).add(("sse", writer))
                await reader.read()  # until the client goes away
                return
            elif method == "GET" and hdrs.get("upgrade", "").lower() == "websocket":
                acc = base64.b64encode(hashlib.sha1((hdrs["sec-websocket-key"] + GUID).encode()).digest()).decode()
                writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              f"Sec-WebSocket-Accept: {acc}\r\n\r\n").encode())
                writer.write(b"\x89\x02hi")  # a ping, to exercise the client's pong
                while True:
                    op, data = await read_ws(reader)
                    if op == 8:
                        return
                    if op == 1:
                        m = json.loads(data)
                        if m.get("type") == "subscribe":
                            for t in m.get("topics", []):
                                subs.setdefault(t, set()).add(("ws", writer))
                            writer.write(ws_frame(json.dumps({"type": "subscribed", "topics": m["topics"]})))
            else:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        for s in subs.values():
            s.discard(("sse", writer))
            s.discard(("ws", writer))
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=18081)
    ap.add_argument("--key", default="demo-publish-key")
    ap.add_argument("--lifetime", type=float, default=600, help="exit after this many seconds")
    a = ap.parse_args()
    srv = await asyncio.start_server(lambda r, w: handle(r, w, a.key), "127.0.0.1", a.port, backlog=4096)
    async with srv:
        await asyncio.sleep(a.lifetime)


if __name__ == "__main__":
    asyncio.run(main())

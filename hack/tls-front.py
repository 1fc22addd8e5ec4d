#!/usr/bin/env python3
"""TLS-terminating front for a plaintext HTTP server on loopback (hack/check-image.sh puts it
before meta-sim, so the operator in the image talks HTTPS and verifies a certificate).

    tls-front.py --cert server.crt --key server.key --upstream 127.0.0.1:PORT

Listens on 127.0.0.1 (a free port), prints "tls-front listening on https://127.0.0.1:PORT" on
stdout, then logs one line per connection on stderr: "handshake ok" followed by the method and
path of the first request (never the query string or headers: they may carry tokens), or
"handshake failed: REASON" (a client that rejects the certificate sends an alert such as
"tlsv1 alert unknown ca").
"""

import argparse
import asyncio
import ssl
import sys


def log(msg):
    print(f"[tls-front] {msg}", file=sys.stderr, flush=True)


async def pump(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, OSError):
        pass


async def handle(ctx, upstream, reader, writer):
    try:
        await writer.start_tls(ctx)
    except (ssl.SSLError, ConnectionError, OSError) as err:
        log(f"handshake failed: {getattr(err, 'reason', None) or err} ({err})")
        writer.close()
        return
    try:
        first = await reader.readline()
    except (ConnectionError, ssl.SSLError, OSError):
        first = b""
    words = first.decode("latin-1").split()
    request = f"{words[0]} {words[1].split('?', 1)[0]}" if len(words) >= 2 else "no request"
    log(f"handshake ok; first request: {request}")
    if not first:
        writer.close()
        return
    try:
        up_reader, up_writer = await asyncio.open_connection(*upstream)
    except OSError as err:
        log(f"upstream unreachable: {err}")
        writer.close()
        return
    up_writer.write(first)
    tasks = [
        asyncio.ensure_future(pump(reader, up_writer)),
        asyncio.ensure_future(pump(up_reader, writer)),
    ]
    # HTTP never half-closes mid-exchange: when one side is done, close both.
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for t in tasks:
        t.cancel()
    for w in (up_writer, writer):
        w.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--upstream", required=True, help="HOST:PORT of the plaintext server")
    args = p.parse_args()
    host, _, port = args.upstream.rpartition(":")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    server = await asyncio.start_server(
        lambda r, w: handle(ctx, (host, int(port)), r, w), "127.0.0.1", 0
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"tls-front listening on https://127.0.0.1:{bound}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass

# -*- coding: utf-8 -*-
"""The asyncio rows of run.py (Python 3.7+; imported only when one of them runs).

Both ends run on one event loop in this process over ``asyncio.start_server(ssl=...)`` and
``asyncio.open_connection(ssl=...)``: for "ssl" with ``ssl.SSLContext``; for "nativetls" with
``NativeTLSContext`` (op ``aio-echo``/``aio-hs``) or with ``nativetls.asyncio``'s ``start_server``/
``open_connection`` and nativetls contexts (op ``naio-echo``/``naio-hs``). TLS 1.3, ECDSA P-256.
"""
import asyncio
import ssl
import timeit

CONCURRENT = 100
MESSAGE = b"x" * 63 + b"\n"

#: run.py sets this to make_certificates()'s result before the first row runs.
CERTS = None


def _sslcontexts(cls):
    """(server, client) contexts of *cls*, ``ssl.SSLContext`` or ``NativeTLSContext``, configured alike."""
    paths = CERTS["ecdsa"]
    server = cls(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(paths["cert"], paths["key"])
    client = cls(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(paths["ca"])
    for ctx in (server, client):
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return server, client


def _nativetls_asyncio_contexts():
    import nativetls
    paths = CERTS["ecdsa"]
    chain = nativetls.SigningChain.from_pem_files(paths["cert"], paths["key"])
    v13 = nativetls.TLSVersion.TLSv1_3
    server = nativetls.ServerContext(nativetls.TLSConfiguration(certificate_chain=chain,
                                                                lowest_supported_version=v13))
    client = nativetls.ClientContext(nativetls.TLSConfiguration(
        trust_store=nativetls.TrustStore.from_pem_file(paths["ca"]), lowest_supported_version=v13))
    return server, client


async def _echo(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(line)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    writer.close()


def _api(impl_name, op):
    """(start_server, open_connection, server context, client context) for this cell."""
    if impl_name == "ssl":
        server, client = _sslcontexts(ssl.SSLContext)
    elif op.startswith("naio"):
        import nativetls.asyncio as naio
        server, client = _nativetls_asyncio_contexts()

        def start(cb, host, port, ctx):
            return naio.start_server(cb, host, port, context=ctx)

        def connect(host, port, ctx):
            return naio.open_connection(host, port, context=ctx, server_hostname="localhost")
        return start, connect, server, client
    else:
        from nativetls.contrib.urllib3 import NativeTLSContext
        server, client = _sslcontexts(NativeTLSContext)

    def start(cb, host, port, ctx):
        return asyncio.start_server(cb, host, port, ssl=ctx)

    def connect(host, port, ctx):
        return asyncio.open_connection(host, port, ssl=ctx, server_hostname="localhost")
    return start, connect, server, client


async def _cell(impl_name, op, n):
    start, connect, server_ctx, client_ctx = _api(impl_name, op)
    server = await start(_echo, "127.0.0.1", 0, server_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        if op.endswith("echo"):
            reader, writer = await connect("127.0.0.1", port, client_ctx)
            began = timeit.default_timer()
            for _ in range(n):
                writer.write(MESSAGE)
                await reader.readexactly(len(MESSAGE))
            elapsed = timeit.default_timer() - began
            writer.close()
            return elapsed / n

        async def one():
            reader, writer = await connect("127.0.0.1", port, client_ctx)
            writer.write(MESSAGE)  # one round trip: the server's handshake is done too
            await reader.readexactly(len(MESSAGE))
            writer.close()
        began = timeit.default_timer()
        done = 0
        while done < n:
            batch = min(CONCURRENT, n - done)
            await asyncio.gather(*[one() for _ in range(batch)])
            done += batch
        return (timeit.default_timer() - began) / n
    finally:
        server.close()
        await server.wait_closed()


def run(impl_name, op, n):
    """Seconds per round trip (``*-echo``) or per handshake (``*-hs``, batches of 100 concurrent clients)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_cell(impl_name, op, n))
    finally:
        loop.close()

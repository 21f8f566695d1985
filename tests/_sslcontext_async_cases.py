"""The py3.8+ half of test_sslcontext.py: asyncio, httpx (sync and async, over anyio), aiohttp, websockets with
``ssl=NativeTLSContext``. Each checks that what the library got from ``wrap_bio``/``wrap_socket`` is nativetls's,
and that a wrong CA fails with a certificate error. The libraries are in requirements-test.txt; outside CI a
missing one skips its test."""
import asyncio
import os
import ssl

import pytest

import _peers
from nativetls.contrib._sslcompat import NativeTLSContext, NativeTLSSocket
from nativetls.contrib._sslobject import NativeTLSObject

__all__ = ["test_asyncio_streams", "test_asyncio_wrong_ca", "test_asyncio_start_tls", "test_httpx_sync_and_async",
           "test_aiohttp_client_and_server", "test_websockets"]

BODY = b"hello over nativetls"
SERVER = ssl.PROTOCOL_TLS_SERVER


def _need(name):
    if os.environ.get("CI"):
        return __import__(name)
    return pytest.importorskip(name)


class _Recording(NativeTLSContext):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.made = []

    def wrap_socket(self, *args, **kwargs):
        self.made.append(super().wrap_socket(*args, **kwargs))
        return self.made[-1]

    def wrap_bio(self, *args, **kwargs):
        self.made.append(super().wrap_bio(*args, **kwargs))
        return self.made[-1]


def _server_ctx(pki):
    ctx = _Recording(SERVER)
    ctx.load_cert_chain(pki.server.fullchain_path, pki.server.key_path)
    return ctx


def _client_ctx(ca):
    ctx = _Recording()
    ctx.load_verify_locations(ca.cert_path)
    return ctx


def _stdlib_server_ctx(pki):
    return _peers.stdlib_server_context(pki.server)


async def _echo_upper(reader, writer):
    line = await reader.readline()
    writer.write(line.upper())
    await writer.drain()
    writer.close()


@pytest.mark.parametrize("sides", ["native-native", "native-client", "native-server"])
def test_asyncio_streams(pki, sides):
    server_native = sides in ("native-native", "native-server")
    client_native = sides in ("native-native", "native-client")
    server_ctx = _server_ctx(pki) if server_native else _stdlib_server_ctx(pki)
    client_ctx = _client_ctx(pki.ca) if client_native else _peers.stdlib_client_context(ca=pki.ca)

    async def main():
        server = await asyncio.start_server(_echo_upper, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx,
                                                       server_hostname="localhost")
        writer.write(b"hello\n")
        assert await reader.readline() == b"HELLO\n"
        assert await reader.read() == b""
        obj = writer.get_extra_info("ssl_object")
        assert writer.get_extra_info("peercert")["subjectAltName"]
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return obj
    obj = asyncio.run(main())
    if client_native:
        assert isinstance(obj, NativeTLSObject) and client_ctx.made == [obj]
        assert obj.version() in ("TLSv1.2", "TLSv1.3") and obj.cipher()
    if server_native:
        assert len(server_ctx.made) == 1 and isinstance(server_ctx.made[0], NativeTLSObject)
        assert server_ctx.made[0].server_side


def test_asyncio_wrong_ca(pki):
    async def main():
        server = await asyncio.start_server(_echo_upper, "127.0.0.1", 0, ssl=_stdlib_server_ctx(pki))
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(ssl.SSLCertVerificationError) as info:
                await asyncio.open_connection("127.0.0.1", port, ssl=_client_ctx(pki.untrusted_ca),
                                              server_hostname="localhost")
            return info.value
        finally:
            server.close()
            await server.wait_closed()
    error = asyncio.run(main())
    assert "certificate verify failed: " in str(error) and error.reason_code == "untrusted_root"


def test_asyncio_start_tls(pki):
    server_ctx = _server_ctx(pki)
    client_ctx = _client_ctx(pki.ca)

    async def handle(reader, writer):
        assert await reader.readline() == b"STARTTLS\n"
        writer.write(b"go\n")
        await writer.drain()
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(writer.transport, writer.transport.get_protocol(), server_ctx,
                                         server_side=True)
        writer._transport = transport  # asyncio's own StreamWriter.start_tls (3.11+) does the same
        line = await reader.readline()
        transport.write(line.upper())
        transport.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"STARTTLS\n")
        assert await reader.readline() == b"go\n"
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(writer.transport, writer.transport.get_protocol(), client_ctx,
                                         server_hostname="localhost")
        transport.write(b"secret\n")
        assert await reader.readline() == b"SECRET\n"
        obj = transport.get_extra_info("ssl_object")
        transport.close()
        server.close()
        await server.wait_closed()
        return obj
    obj = asyncio.run(main())
    assert isinstance(obj, NativeTLSObject) and isinstance(server_ctx.made[0], NativeTLSObject)


def _http_handler(conn, record):
    record.received += _peers.recv_until(conn, b"\r\n\r\n")
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(BODY), BODY))


def test_httpx_sync_and_async(pki):
    httpx = _need("httpx")
    with _peers.stdlib_server(pki.server, handler=_http_handler) as server:
        url = "https://localhost:%d/" % server.port
        ctx = _client_ctx(pki.ca)
        with httpx.Client(verify=ctx) as client:
            assert client.get(url).content == BODY
        assert isinstance(ctx.made[0], (NativeTLSSocket, NativeTLSObject))

        async def main(context):
            async with httpx.AsyncClient(verify=context) as client:
                return (await client.get(url)).content
        actx = _client_ctx(pki.ca)
        assert asyncio.run(main(actx)) == BODY
        assert isinstance(actx.made[0], NativeTLSObject)
        with pytest.raises(httpx.ConnectError) as info:
            asyncio.run(main(_client_ctx(pki.untrusted_ca)))
        assert "certificate verify failed: " in str(info.value)
        with pytest.raises(httpx.ConnectError) as info:
            with httpx.Client(verify=_client_ctx(pki.untrusted_ca)) as client:
                client.get(url)
        assert "certificate verify failed: " in str(info.value)


def test_aiohttp_client_and_server(pki):
    aiohttp = _need("aiohttp")
    from aiohttp import web

    async def hello(request):
        return web.Response(body=BODY)

    server_ctx = _server_ctx(pki)
    client_ctx = _client_ctx(pki.ca)

    async def main():
        app = web.Application()
        app.router.add_get("/", hello)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        url = "https://localhost:%d/" % port
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(url, ssl=client_ctx) as response:
                    body = await response.read()
                with pytest.raises(aiohttp.ClientConnectorCertificateError) as info:
                    async with session.get(url, ssl=_client_ctx(pki.untrusted_ca)):
                        pass
            return body, info.value
        finally:
            await runner.cleanup()
    body, error = asyncio.run(main())
    assert body == BODY
    assert "certificate verify failed: " in str(error)
    assert isinstance(client_ctx.made[0], NativeTLSObject)
    assert server_ctx.made and all(isinstance(o, NativeTLSObject) for o in server_ctx.made)


def test_websockets(pki):
    websockets = _need("websockets")
    server_ctx = _server_ctx(pki)
    client_ctx = _client_ctx(pki.ca)

    async def echo(ws):
        async for message in ws:
            await ws.send(message.upper())

    async def main():
        async with websockets.serve(echo, "127.0.0.1", 0, ssl=server_ctx) as server:
            port = list(server.sockets)[0].getsockname()[1]
            async with websockets.connect("wss://localhost:%d/" % port, ssl=client_ctx) as ws:
                await ws.send("hello")
                reply = await ws.recv()
            with pytest.raises(ssl.SSLCertVerificationError):
                async with websockets.connect("wss://localhost:%d/" % port,
                                              ssl=_client_ctx(pki.untrusted_ca)):
                    pass
            return reply
    assert asyncio.run(main()) == "HELLO"
    assert isinstance(client_ctx.made[0], NativeTLSObject) and isinstance(server_ctx.made[0], NativeTLSObject)

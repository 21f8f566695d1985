"""The Python 3 cases of test_asyncio.py (kept apart: ``async def`` is a SyntaxError on 2.7, where test_asyncio
only checks that nativetls.asyncio compiles and refuses to import)."""
import asyncio
import ssl

import pytest

import _peers
import _tls
import nativetls
import nativetls.asyncio as ntasyncio
from _peers import require_tool

HOST = "127.0.0.1"


class serving(object):
    """``async with serving(server):`` closes an asyncio server on exit (``asyncio.Server`` is an async context
    manager only from Python 3.7)."""

    def __init__(self, server):
        self.server = server

    async def __aenter__(self):
        return self.server

    async def __aexit__(self, *exc_info):
        self.server.close()
        await self.server.wait_closed()


def run(coro, timeout=120):
    """Run *coro* on a fresh event loop (3.6 has no asyncio.run)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, timeout))
    finally:
        loop.close()


async def close(writer):
    writer.close()
    if hasattr(writer, "wait_closed"):
        try:
            await writer.wait_closed()
        except (ConnectionError, nativetls.TLSError, ssl.SSLError):
            pass


async def echo_lines(reader, writer):
    """Server callback: echo lines until EOF, then close (sending close_notify)."""
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(line)
            await writer.drain()
    finally:
        await close(writer)


def port_of(server):
    return server.sockets[0].getsockname()[1]


# --- against the stdlib: asyncio + ssl --------------------------------------------------------------------------

def test_client_against_asyncio_stdlib_server(pki):
    seen = []

    async def stdlib_echo(reader, writer):
        data = await reader.readline()
        writer.write(data.upper())
        await writer.drain()
        seen.append(await reader.read())  # b"": the client's close_notify
        writer.close()

    async def main():
        server = await asyncio.start_server(stdlib_echo, HOST, 0, ssl=_peers.stdlib_server_context(pki.server))
        async with serving(server):
            reader, writer = await ntasyncio.open_connection(HOST, port_of(server), context=_tls.client_context(pki),
                                                             server_hostname="localhost")
            assert isinstance(reader, asyncio.StreamReader) and isinstance(writer, asyncio.StreamWriter)
            buffer = writer.get_extra_info("ssl_object")
            assert buffer.negotiated_tls_version in (nativetls.TLSVersion.TLSv1_2, nativetls.TLSVersion.TLSv1_3)
            assert writer.get_extra_info("peercert")["subjectAltName"]
            assert writer.get_extra_info("peername")[0] == HOST
            writer.write(b"hello\n")
            await writer.drain()
            assert await reader.readline() == b"HELLO\n"
            await close(writer)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.02)
    run(main())
    assert seen == [b""], "the stdlib server saw a clean close_notify"


def test_server_against_asyncio_stdlib_client(pki):
    async def main():
        server = await ntasyncio.start_server(echo_lines, HOST, 0, context=_tls.server_context(pki))
        async with serving(server):
            ctx = _peers.stdlib_client_context(ca=pki.ca)
            reader, writer = await asyncio.open_connection(HOST, port_of(server), ssl=ctx,
                                                           server_hostname="localhost")
            writer.write(b"one\ntwo\n")
            assert await reader.readline() == b"one\n"
            assert await reader.readline() == b"two\n"
            assert writer.get_extra_info("ssl_object").version() in ("TLSv1.2", "TLSv1.3")
            await close(writer)  # StreamWriter.wait_closed() exists from Python 3.7
    run(main())


def test_verification_failure_raises(pki):
    async def main():
        server = await asyncio.start_server(lambda r, w: w.close(), HOST, 0,
                                            ssl=_peers.stdlib_server_context(pki.server))
        async with serving(server):
            ctx = _tls.client_context(pki, trust_store=_tls.trust_of(pki.untrusted_ca))
            with pytest.raises(nativetls.CertificateVerificationError) as info:
                await ntasyncio.open_connection(HOST, port_of(server), context=ctx, server_hostname="localhost")
            assert info.value.reason == "untrusted_root"
            ctx = _tls.client_context(pki)
            with pytest.raises(nativetls.CertificateVerificationError) as info:
                await ntasyncio.open_connection(HOST, port_of(server), context=ctx, server_hostname="wrong.example")
            assert info.value.reason == "hostname_mismatch"
    run(main())


# --- close_notify and ragged EOF (nativetls on both sides) ------------------------------------------------------

def test_close_sends_close_notify_and_eof_is_clean(pki):
    async def bye(reader, writer):
        writer.write(b"bye")
        await writer.drain()
        await close(writer)

    async def main():
        server = await ntasyncio.start_server(bye, HOST, 0, context=_tls.server_context(pki))
        async with serving(server):
            reader, writer = await ntasyncio.open_connection(HOST, port_of(server), context=_tls.client_context(pki),
                                                             server_hostname="localhost")
            assert await reader.read() == b"bye"  # read() to EOF: the peer's close_notify, not an error
            assert reader.at_eof()
            await close(writer)
    run(main())


def test_ragged_eof_is_surfaced_after_the_data(pki):
    async def cut(reader, writer):
        writer.write(b"partial line without end")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()  # TCP closes, no close_notify

    async def main():
        server = await ntasyncio.start_server(cut, HOST, 0, context=_tls.server_context(pki))
        async with serving(server):
            reader, writer = await ntasyncio.open_connection(HOST, port_of(server), context=_tls.client_context(pki),
                                                             server_hostname="localhost")
            with pytest.raises(nativetls.RaggedEOF):
                await reader.readline()  # must not hang waiting for the rest of the line
            writer.close()

            reader, writer = await ntasyncio.open_connection(HOST, port_of(server), context=_tls.client_context(pki),
                                                             server_hostname="localhost")
            await asyncio.sleep(0.2)  # data and the EOF are both in
            assert await reader.read(100) == b"partial line without end"
            with pytest.raises(nativetls.RaggedEOF):
                await reader.read(100)
            writer.close()
    run(main())


def test_handshake_timeout(pki):
    async def silent(reader, writer):
        await reader.read()  # never answers; returns when the client gives up
        writer.close()

    async def main():
        server = await asyncio.start_server(silent, HOST, 0)
        async with serving(server):
            with pytest.raises(asyncio.TimeoutError):
                await ntasyncio.open_connection(HOST, port_of(server), context=_tls.client_context(pki),
                                                server_hostname="localhost", ssl_handshake_timeout=0.3)
    run(main())


def test_arguments_are_checked(pki):
    async def main():
        with pytest.raises(TypeError):
            ntasyncio.open_connection(HOST, 1)  # no context
        with pytest.raises(TypeError):
            ntasyncio.open_connection(HOST, 1, context=_tls.server_context(pki))
        with pytest.raises(TypeError):
            ntasyncio.open_connection(HOST, 1, context=_tls.client_context(pki), ssl=True)
        with pytest.raises(TypeError):
            ntasyncio.start_server(echo_lines, HOST, 0, context=_tls.client_context(pki))
    run(main())


# --- against openssl ------------------------------------------------------------------------------------------

def test_client_against_openssl_s_server(pki):
    require_tool("openssl")
    with _peers.openssl_s_server(pki.server) as peer:
        async def main():
            reader, writer = await ntasyncio.open_connection(HOST, peer.port, context=_tls.client_context(pki),
                                                             server_hostname="localhost")
            writer.write(b"hello openssl\n")
            await writer.drain()
            assert await reader.readline() == b"lssnepo olleh\n"
            await close(writer)
        run(main())


def test_server_against_openssl_s_client(pki):
    require_tool("openssl")

    async def shout(reader, writer):
        line = await reader.readline()
        writer.write(line.upper())
        await writer.drain()
        await close(writer)

    async def main():
        loop = asyncio.get_event_loop()
        server = await ntasyncio.start_server(shout, HOST, 0, context=_tls.server_context(pki))
        async with serving(server):
            args = ["-CAfile", pki.ca.cert_path, "-verify_return_error", "-servername", "localhost", "-ign_eof"]
            return await loop.run_in_executor(None, lambda: _peers.openssl_s_client(port_of(server), args,
                                                                                   input=b"quiet please\n"))
    result = run(main())
    out = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0, out + result.stderr.decode("utf-8", "replace")
    assert "QUIET PLEASE" in out
    assert "Verify return code: 0 (ok)" in out


# --- many connections on one loop -----------------------------------------------------------------------------

def test_200_concurrent_connections_on_one_loop(pki):
    count = 200

    async def client(port, index, ctx):
        reader, writer = await ntasyncio.open_connection(HOST, port, context=ctx, server_hostname="localhost")
        line = ("connection %d\n" % index).encode("ascii")
        writer.write(line)
        await writer.drain()
        echoed = await reader.readline()
        await close(writer)
        return echoed == line

    async def main():
        server = await ntasyncio.start_server(echo_lines, HOST, 0, context=_tls.server_context(pki), backlog=count)
        async with serving(server):
            ctx = _tls.client_context(pki)
            results = await asyncio.gather(*[client(port_of(server), i, ctx) for i in range(count)])
        return results
    results = run(main(), timeout=240)
    assert results == [True] * count

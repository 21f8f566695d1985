# A small program written against the public API, for `mypy --strict` (tox -e stubs): the stubs must let ordinary
# use type-check with no error. Never run; not collected by pytest (its name does not start with test_).
import asyncio
import socket
from typing import Optional

import nativetls
from nativetls import (CipherSuite, ClientContext, NextProtocol, ServerContext, SigningChain, TLSConfiguration,
                       TLSVersion, TrustStore)


def client(host: str, cafile: Optional[str]) -> bytes:
    trust = TrustStore.from_file(cafile) if cafile else TrustStore.system()
    config = TLSConfiguration(trust_store=trust, inner_protocols=[NextProtocol.H2, b"http/1.1"],
                              lowest_supported_version=TLSVersion.TLSv1_2,
                              ciphers=[CipherSuite.TLS_AES_128_GCM_SHA256, 0x1302])
    ctx = ClientContext(config)
    with ctx.connect((host, 443)) as tls:
        tls.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
        version: Optional[TLSVersion] = tls.negotiated_tls_version
        print(version, tls.cipher(), tls.negotiated_protocol())
        return tls.recv(4096)


def server(p12: str, password: str) -> None:
    chain = SigningChain.from_pkcs12(p12, password)
    pem_chain = SigningChain.from_pem_files("fullchain.pem", "key.pem", password=lambda: b"secret")
    config = TLSConfiguration(certificate_chain=[chain, pem_chain]).update(inner_protocols=[NextProtocol.HTTP1])
    ctx = ServerContext(config)
    buf = ctx.wrap_buffers()
    buf.process_incoming(b"")
    try:
        buf.do_handshake()
    except nativetls.WantReadError:
        pass
    out: bytes = buf.process_outgoing()
    sock = socket.socket()
    tls = ctx.wrap_socket(sock, do_handshake_on_connect=False)
    tls.close()
    print(out, nativetls.backend().features, nativetls.backend("openssl").name)


def errors() -> None:
    try:
        client("localhost", None)
    except nativetls.CertificateVerificationError as exc:
        print(exc.reason, exc.host, exc.native_code)
    except nativetls.TLSError as exc:
        print(exc.native_message)


async def streams(ctx: ClientContext, server_ctx: ServerContext) -> None:
    import nativetls.asyncio

    reader, writer = await nativetls.asyncio.open_connection("localhost", 443, context=ctx)
    writer.write(b"x")
    print(await reader.read(1))

    async def handler(r: "asyncio.StreamReader", w: "asyncio.StreamWriter") -> None:
        w.close()

    server = await nativetls.asyncio.start_server(handler, "127.0.0.1", 0, context=server_ctx)
    server.close()


def urllib3_context(cafile: str) -> None:
    from nativetls.contrib.urllib3 import NativeTLSContext, NativeTLSError, inject_into_urllib3

    ctx = NativeTLSContext()
    ctx.load_verify_locations(cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.check_hostname = True
    sock = ctx.wrap_socket(socket.create_connection(("localhost", 443)), server_hostname="localhost")
    try:
        print(sock.version(), sock.selected_alpn_protocol(), sock.context.verify_mode)
    except NativeTLSError as exc:
        print(exc.nativetls_error)
    inject_into_urllib3()

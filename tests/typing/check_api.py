# A small program written against the public API, for `mypy --strict` (tox -e stubs): the stubs must let ordinary
# use type-check with no error. Never run; not collected by pytest (its name does not start with test_).
import asyncio
import socket
import ssl
from typing import Optional, Tuple, Union

import nativetls
from nativetls import (DEFAULT_CIPHER_LIST, Certificate, CipherSuite, ClientContext, NextProtocol, PrivateKey,
                       ServerContext, SigningChain, TLSClientConfiguration, TLSConfiguration, TLSImplementation,
                       TLSServerConfiguration, TLSVersion, TrustStore, insecure)


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
    # It is an ssl.SSLContext (what asyncio, aiohttp and httpx take), with wrap_bio.
    stdlib_typed: ssl.SSLContext = ctx
    tls = ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        print(stdlib_typed, tls.version(), tls.context.check_hostname)


def pep748(cert_pem: bytes, key_path: str, both_path: str) -> None:
    # PEP 748's constructors (exactly one of buffer=, path=, id=), SigningChain with the key in the certificate's PEM.
    cert = Certificate(buffer=cert_pem)
    key = PrivateKey(path=key_path, password=b"secret")
    chain = SigningChain(leaf=(cert, key), chain=None)
    bundled = SigningChain((Certificate(path=both_path), None))
    leaf_key: Optional[PrivateKey] = bundled.leaf[1]
    print(leaf_key, Certificate.from_id(b"cert-1"), PrivateKey(id=b"key-1"), TrustStore.from_id(b"MY"))
    # PEP 748's argument order: certificate_chain first.
    server_config = TLSServerConfiguration([chain, bundled], DEFAULT_CIPHER_LIST, [NextProtocol.H2])
    client_config = TLSClientConfiguration(trust_store=TrustStore(path="ca.pem"), ciphers=DEFAULT_CIPHER_LIST)
    protocols: Tuple[Union[NextProtocol, bytes], ...] = client_config.inner_protocols
    same: TLSClientConfiguration = client_config.update(inner_protocols=[b"h2"])
    print(protocols, same)
    # Every backend is PEP 748's TLSImplementation; a backend's validate_config also takes server=.
    implementation: TLSImplementation = nativetls.backend()
    implementation.validate_config(client_config)
    nativetls.backend().validate_config(TLSConfiguration(), server=False)
    own = TLSImplementation(implementation.client_context, implementation.server_context, lambda config: None)
    ctx = own.server_context(server_config)
    with ClientContext(client_config).connect(("localhost", 443)) as tls:
        tls.close(force=False)
        suite: Optional[Union[CipherSuite, int]] = tls.cipher()
        print(suite, ctx)
    # What the stubs must refuse (mypy reports an unused ignore if one of these type-checks).
    Certificate()  # type: ignore[call-overload]
    Certificate(buffer=cert_pem, path=key_path)  # type: ignore[call-overload]
    TLSConfiguration(certificate_chain=chain).update().validate_certificates = False  # type: ignore[misc]


def insecure_contexts(config: TLSConfiguration) -> None:
    off = insecure.InsecureConfiguration(disable_hostname_check=True, disable_verification=True)
    implementation = insecure.implementation()
    client = implementation.insecure_client_context(config, off)
    print(client.insecure_configuration.disable_verification, client.wrap_buffers("localhost"))
    server: ServerContext = insecure.InsecureServerContext(config, off)
    print(server, insecure.implementation("openssl").validate_config)

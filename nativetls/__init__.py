# -*- coding: utf-8 -*-
"""nativetls: TLS over the operating system's own TLS stack, with one PEP 543-style API.

Quick start::

    import nativetls
    ctx = nativetls.ClientContext(nativetls.TLSConfiguration())
    with ctx.connect(("example.org", 443)) as tls:
        tls.sendall(b"HEAD / HTTP/1.0\\r\\nHost: example.org\\r\\n\\r\\n")

See ``docs/api.md`` for the whole API, and ``nativetls.backend()`` for what the running backend supports.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from ._abc import ClientContext, ServerContext, TLSBuffer
from ._backend import Backend, TLSImplementation, backend
from ._config import TLSClientConfiguration, TLSConfiguration, TLSServerConfiguration
from ._enums import DEFAULT_CIPHER_LIST, CipherSuite, NextProtocol, TLSVersion
from ._errors import (CertificateVerificationError, ConfigurationError, RaggedEOF, SecurityWarning, TLSError,
                      WantReadError, WantWriteError)
from ._objects import Certificate, PrivateKey, SigningChain, TLSSession, TrustStore
from ._socket import TLSSocket

__version__ = "0.1.0"

#: PEP 543 names.
TLSWrappedBuffer = TLSBuffer
TLSWrappedSocket = TLSSocket

__all__ = [str(name) for name in (
    "Backend", "backend", "Certificate", "CertificateVerificationError", "CipherSuite", "ClientContext",
    "ConfigurationError", "NextProtocol", "PrivateKey", "RaggedEOF", "SecurityWarning", "ServerContext",
    "SigningChain", "TLSBuffer", "TLSClientConfiguration", "TLSConfiguration", "TLSError", "TLSServerConfiguration",
    "TLSSession", "TLSSocket", "TLSVersion", "TLSWrappedBuffer", "TLSWrappedSocket", "TrustStore",
    "WantReadError", "WantWriteError",
    "DEFAULT_CIPHER_LIST", "TLSImplementation",  # PEP 748
)]

# -*- coding: utf-8 -*-
"""The contract every backend implements: ClientContext, ServerContext and TLSBuffer.

The public classes are also the constructors users call: ``nativetls.ClientContext(config)`` builds the default
backend's subclass (see ``_dispatch_new``), so ``isinstance(ctx, nativetls.ClientContext)`` holds for every
backend's contexts. Backends implement the abstract methods and nothing else; what can be written once (PEP
spellings, ``getpeercert`` dicts, socket wrapping, host-name normalisation) is written here.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import abc
import socket as _socket
import threading
import warnings

from ._compat import ABC, text_type
from ._config import TLSConfiguration
from ._errors import ConfigurationError, SecurityWarning

__all__ = ["ClientContext", "ServerContext", "TLSBuffer", "normalize_server_hostname"]


def _dispatch_new(base, attribute):
    """Build ``__new__`` for a public context class: called on the base itself, it makes the default backend's
    subclass instead (Python then runs that subclass's ``__init__``)."""
    def __new__(cls, *args, **kwargs):
        if cls is base:
            from ._backend import backend
            cls = getattr(backend(), attribute)
        return object.__new__(cls)
    return __new__


class TLSBuffer(ABC):
    """One TLS connection, sans-IO: bytes from the network in, bytes for the network out, no socket.

    Alias: ``TLSWrappedBuffer``. Get one from ``ClientContext.wrap_buffers(server_hostname)`` or
    ``ServerContext.wrap_buffers()``. The I/O methods raise :class:`WantReadError` when they need more bytes
    (``process_incoming``) and :class:`WantWriteError` when the outgoing buffer must be drained first; a write that
    raised must be retried with the same data. Handshake failures raise :class:`TLSError` or
    :class:`CertificateVerificationError` from ``do_handshake()`` or from the first I/O call that drives it.
    """

    __slots__ = ()

    @abc.abstractmethod
    def do_handshake(self):
        """Drive the handshake; a no-op once it is done.

        Raises:
            WantReadError, WantWriteError, CertificateVerificationError, TLSError.
        """

    @abc.abstractmethod
    def read(self, amt=None, buffer=None):
        """Read up to *amt* bytes of application data (16 KiB when None).

        Returns bytes, or with *buffer* (a writable buffer) the number of bytes written into it. Returns ``b""``
        (or 0) once the peer's close_notify has arrived.

        Raises:
            WantReadError: no data yet; feed ``process_incoming`` and call again.
            RaggedEOF: the transport ended (``process_incoming(b"")``) without close_notify.
            TLSError: the connection failed.
        """

    def readinto(self, buffer, amt=None):
        """Read into *buffer* (at most *amt* bytes, or its length); returns the count. Raises as :meth:`read`."""
        if amt is None or amt < 0:
            amt = len(buffer)
        return self.read(amt, buffer)

    @abc.abstractmethod
    def write(self, buf):
        """Encrypt all of *buf* for sending; returns ``len(buf)``.

        Raises:
            WantReadError, WantWriteError: retry later with the same data. TLSError: the connection failed.
        """

    @abc.abstractmethod
    def shutdown(self):
        """Queue our close_notify (flush it with ``process_outgoing``). Reads work until the peer's close_notify."""

    @abc.abstractmethod
    def process_incoming(self, data):
        """Take all of *data* received from the network; ``b""`` says the transport reached EOF."""

    @abc.abstractmethod
    def process_outgoing(self, amt=None):
        """Return and remove up to *amt* bytes to send (all when None or negative)."""

    @abc.abstractmethod
    def _peek_outgoing(self, amt):
        """Return up to *amt* bytes to send without removing them."""

    @abc.abstractmethod
    def incoming_bytes_buffered(self):
        """How many received bytes are waiting to be processed."""

    @abc.abstractmethod
    def outgoing_bytes_buffered(self):
        """How many bytes are waiting to be sent."""

    @abc.abstractmethod
    def cipher(self):
        """The negotiated :class:`CipherSuite` (an int for suites the enum lacks), or None before the handshake."""

    @abc.abstractmethod
    def negotiated_protocol(self):
        """The ALPN protocol chosen (:class:`NextProtocol`, or bytes), or None."""

    @abc.abstractproperty
    def negotiated_tls_version(self):
        """The :class:`TLSVersion` in use, or None before the handshake."""

    @abc.abstractproperty
    def context(self):
        """The ClientContext or ServerContext this buffer was made from."""

    @abc.abstractmethod
    def getpeercertchain(self):
        """DER bytes of every certificate the peer sent, in the order sent (leaf first), or None."""

    def getpeercert(self, binary_form=False):
        """The peer's leaf certificate: a dict shaped like ``ssl.SSLSocket.getpeercert()``, or DER bytes with
        *binary_form*; None when the peer sent none."""
        chain = self.getpeercertchain()
        if not chain:
            return None
        if binary_form:
            return chain[0]
        from ._certdict import certificate_dict
        return certificate_dict(chain[0])

    @abc.abstractproperty
    def session(self):
        """A :class:`TLSSession` that can resume this connection, or None (TLS 1.3: after a ticket was read)."""

    @abc.abstractproperty
    def session_reused(self):
        """Whether this handshake resumed an earlier session."""

    @abc.abstractmethod
    def close(self):
        """Free the native resources now (idempotent); the buffer is unusable afterwards."""

    # PEP 543 spellings.
    def receive_from_network(self, data):
        """PEP 543 name of :meth:`process_incoming`."""
        return self.process_incoming(data)

    def peek_outgoing(self, amt):
        """PEP 543: up to *amt* outgoing bytes, left in the buffer."""
        return self._peek_outgoing(amt)

    def consume_outgoing(self, amt):
        """PEP 543: drop *amt* outgoing bytes (after sending what ``peek_outgoing`` returned)."""
        self.process_outgoing(amt)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


_NORMALIZED = {}  # server_hostname -> its normalize_server_hostname() result (bounded; results are immutable)


def normalize_server_hostname(server_hostname):
    """Split a client's *server_hostname* into ``(sni_bytes, check_name, is_ip)``.

    The SNI name is the IDNA (A-label) form, not sent for IP addresses; *check_name* is what the certificate must
    match (A-label or IP literal), None when host-name checking is off. Results are remembered (IDNA encoding and
    the address parsing cost more than the rest of setting up a connection in Python).

    Raises:
        TypeError: not a str or None. ValueError: not a valid host name.
    """
    try:
        return _NORMALIZED[server_hostname]
    except (KeyError, TypeError):  # TypeError: an unhashable argument, refused below
        pass
    result = _normalize_server_hostname(server_hostname)
    if len(_NORMALIZED) < 1024:
        _NORMALIZED[server_hostname] = result
    return result


def _normalize_server_hostname(server_hostname):
    if server_hostname is None:
        return None, None, False
    if isinstance(server_hostname, bytes) and not isinstance(server_hostname, text_type):
        server_hostname = server_hostname.decode("ascii")
    if not isinstance(server_hostname, text_type):
        raise TypeError("server_hostname must be a str or None, not %s" % type(server_hostname).__name__)
    name = server_hostname.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    for family in (_socket.AF_INET, getattr(_socket, "AF_INET6", None)):
        if family is None:
            continue
        try:
            _socket.inet_pton(family, str(name))
            return None, name, True
        except (OSError, ValueError, TypeError, _socket.error, UnicodeError):
            pass
    if not name or "\x00" in name:
        raise ValueError("server_hostname %r is not a valid host name" % (server_hostname,))
    try:
        ascii_name = name.rstrip(".").encode("idna")
    except UnicodeError as exc:
        raise ValueError("server_hostname %r cannot be IDNA-encoded: %s" % (server_hostname, exc))
    return ascii_name, ascii_name.decode("ascii").lower(), False


def run_sni_callback(buffer, ascii_name, configuration):
    """Call ``configuration.sni_callback`` (servers, every backend) for the SNI name *ascii_name* (A-label text or
    None): the callback gets the IDNA-decoded name (the raw one if it does not decode) and must return the
    :class:`TLSConfiguration` for this connection; with no callback, *configuration* itself.

    Raises:
        TypeError: the callback returned something else; whatever the callback raised passes through.
    """
    callback = configuration.sni_callback
    if callback is None:
        return configuration
    try:
        name = ascii_name.encode("ascii").decode("idna") if ascii_name else None
    except UnicodeError:
        name = ascii_name
    result = callback(buffer, name, configuration)
    if not isinstance(result, TLSConfiguration):
        raise TypeError("sni_callback must return a TLSConfiguration, not %s" % type(result).__name__)
    return result


#: Set ``_quiet.on`` (per thread) to make the next ClientContext skip its "validation is disabled" warning: the
#: ssl-shaped NativeTLSContext warns itself, once per context, and not at all when urllib3 (which warns) calls it.
_quiet = threading.local()


class _Context(ABC):
    """What client and server contexts share: the validated configuration."""

    __slots__ = ()

    @property
    def configuration(self):
        """The :class:`TLSConfiguration` this context was made with."""
        return self._configuration

    @staticmethod
    def _check_configuration(configuration):
        if not isinstance(configuration, TLSConfiguration):
            raise TypeError("configuration must be a TLSConfiguration, not %s" % type(configuration).__name__)
        return configuration


class ClientContext(_Context):
    """A TLS client: ``ClientContext(configuration)`` on the default backend.

    Raises:
        TypeError: *configuration* is not a TLSConfiguration.
        ConfigurationError: this backend cannot honour a setting of *configuration*.
    """

    __slots__ = ()

    def __init__(self, configuration):
        self._configuration = self._check_configuration(configuration)
        if not configuration.validate_certificates and not getattr(_quiet, "on", False):
            warnings.warn("nativetls: certificate validation is disabled (validate_certificates=False): "
                          "this connection can be intercepted", SecurityWarning, stacklevel=3)
        if len(configuration.signing_chains) > 1:  # every backend: checked once, before a backend sees it
            raise ConfigurationError("a client presents one certificate chain, not %d"
                                     % len(configuration.signing_chains))

    @abc.abstractmethod
    def wrap_buffers(self, server_hostname, session=None):
        """Make a client :class:`TLSBuffer`.

        Args:
            server_hostname: the name (or IP address) the server's certificate must match and the SNI name;
                pass None explicitly to skip the host-name check (the chain is still verified).
            session: a :class:`TLSSession` from an earlier connection, to resume.

        Raises:
            TypeError, ValueError: a malformed host name or session.
        """

    def create_buffer(self, server_hostname, session=None):
        """PEP 748 name of :meth:`wrap_buffers`."""
        return self.wrap_buffers(server_hostname, session=session)

    def wrap_socket(self, socket, server_hostname, session=None, do_handshake_on_connect=True):
        """Wrap a connected stream socket in a :class:`TLSSocket` (handshaking at once if it is blocking and
        *do_handshake_on_connect* is true). Arguments as for :meth:`wrap_buffers`."""
        from ._socket import TLSSocket
        return TLSSocket(socket, self.wrap_buffers(server_hostname, session=session), self,
                         do_handshake_on_connect=do_handshake_on_connect)

    def connect(self, address, timeout=None):
        """PEP 748: connect to ``(host, port)`` and return a handshaken :class:`TLSSocket` checked against host."""
        sock = _socket.create_connection(address, timeout)
        try:
            return self.wrap_socket(sock, address[0])
        except BaseException:
            sock.close()
            raise


class ServerContext(_Context):
    """A TLS server: ``ServerContext(configuration)`` on the default backend; *configuration* needs a
    ``certificate_chain``.

    Raises:
        TypeError: *configuration* is not a TLSConfiguration.
        ConfigurationError: no certificate chain, or a setting this backend cannot honour.
    """

    __slots__ = ()

    def __init__(self, configuration):
        self._configuration = self._check_configuration(configuration)

    @abc.abstractmethod
    def wrap_buffers(self):
        """Make a server :class:`TLSBuffer`."""

    def create_buffer(self):
        """PEP 748 name of :meth:`wrap_buffers`."""
        return self.wrap_buffers()

    def wrap_socket(self, socket, do_handshake_on_connect=True):
        """Wrap an accepted stream socket in a :class:`TLSSocket`."""
        from ._socket import TLSSocket
        return TLSSocket(socket, self.wrap_buffers(), self, do_handshake_on_connect=do_handshake_on_connect)

    def connect(self, address, backlog=128):
        """PEP 748: listen on ``(host, port)``; returns a listening :class:`TLSSocket` whose ``accept()`` yields
        ``(TLSSocket, address)``."""
        from ._socket import TLSSocket
        family = _socket.AF_INET6 if ":" in address[0] else _socket.AF_INET
        sock = _socket.socket(family, _socket.SOCK_STREAM)
        try:
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        return TLSSocket(sock, None, self)


# Set after the classes exist, since _dispatch_new needs the class object itself.
ClientContext.__new__ = staticmethod(_dispatch_new(ClientContext, "client_context"))
ServerContext.__new__ = staticmethod(_dispatch_new(ServerContext, "server_context"))

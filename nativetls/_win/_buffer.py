# -*- coding: utf-8 -*-
"""The SChannel TLSBuffer: SSPI calls over in-memory SecBuffers, no socket.

Theory of operation
-------------------
SSPI never touches the network: every call gets the bytes we hold and hands back bytes to send. We keep three
byte queues - ``_incoming`` (received, not yet consumed), ``_outgoing`` (to send; unbounded, so this backend never
raises WantWriteError) and ``_plaintext`` (decrypted, not yet read). What SChannel promises, and what we make of it:

* Handshake (``InitializeSecurityContextW``, "ISC"): the first call has no input and returns
  ``SEC_I_CONTINUE_NEEDED`` with the ClientHello in an SSPI-allocated TOKEN buffer. Later calls get all of
  ``_incoming`` as a TOKEN buffer plus an EMPTY one. ``SEC_E_INCOMPLETE_MESSAGE`` means "nothing consumed: call
  again with the same bytes and more" (WantReadError). On success or ``SEC_I_CONTINUE_NEEDED`` the input was
  consumed, except what the EMPTY buffer now describes as ``SECBUFFER_EXTRA`` (the *last* ``cbBuffer`` bytes of
  the input: the start of the next flight, or application data after the handshake). ``SEC_E_OK`` ends it.
  ``SEC_I_INCOMPLETE_CREDENTIALS`` (the server asked for a client certificate we do not have) is retried with
  ``ISC_REQ_USE_SUPPLIED_CREDS``, which sends an empty Certificate message, as browsers do.
* Server side (``AcceptSecurityContext``, "ASC"): the same loop, except that the first call needs the ClientHello
  (nothing to do until data arrives), the server's ALPN list goes as an APPLICATION_PROTOCOLS input buffer with
  every call, and a server with a trust store asks for a client certificate (``ASC_REQ_MUTUAL_AUTH``) and
  verifies it itself after ``SEC_E_OK``, withholding its last flight if that fails. Post-handshake messages and
  shutdown tokens go through ASC instead of ISC (``_context_call``).
* SNI (server): SChannel offers no callback between the ClientHello and its answer, and the credentials (hence
  the certificate) are fixed by the first ASC call. So when the context has an ``sni_callback`` or several
  signing chains, ``_choose_configuration`` first waits for the whole ClientHello (WantReadError until it is
  there), reads its server_name itself (``_wire``), calls the callback, and picks the configuration's credentials
  and chain; only then does the first ASC call see the bytes. A callback that raises or returns something else
  aborts the handshake: a fatal internal_error alert is queued (plaintext: no keys exist yet) and the handshake
  call raises TLSError with the callback's exception as ``__cause__``. A ClientHello that nativetls cannot
  parse goes to ASC unchanged, with the default configuration, and fails there as SChannel decides.
* Verification: SChannel runs with ``SCH_CRED_MANUAL_CRED_VALIDATION`` and validates nothing itself; after
  ``SEC_E_OK`` we take ``SECPKG_ATTR_REMOTE_CERT_CONTEXT`` and verify it (``_verify``), before any application
  data is returned.
* Records (``DecryptMessage``): one call decrypts one record in place. Input is all of ``_incoming`` as one DATA
  buffer plus three EMPTY ones; the DATA buffer of the result is the plaintext, EXTRA the bytes after the record.
  ``SEC_E_INCOMPLETE_MESSAGE``: the record is not complete (WantReadError; bytes kept). ``SEC_I_CONTEXT_EXPIRED``:
  the peer's close_notify. Wine 8 instead answers ``SEC_E_OK`` with no data for it, so an *alert record* that
  decrypts to nothing without an error is also close_notify (fatal alerts fail the call).
  ``SEC_I_RENEGOTIATE``: handshake data follows (TLS 1.3 NewSessionTicket/KeyUpdate, or a TLS 1.2
  renegotiation request); the EXTRA bytes go to ISC until it returns ``SEC_E_OK``, then decryption resumes.
* ``EncryptMessage`` takes at most ``SecPkgContext_StreamSizes.cbMaximumMessage`` bytes per record, in a DATA
  buffer framed by STREAM_HEADER and STREAM_TRAILER buffers of ``cbHeader``/``cbTrailer`` bytes.
* Shutdown: ``ApplyControlToken(SCHANNEL_SHUTDOWN)`` then one ISC call returns the close_notify record.
* EOF (``process_incoming(b"")``): a read that needs more bytes after EOF is a RaggedEOF unless the peer's
  close_notify came first.

States: ``nativetls._state`` (shared by every backend).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import struct
from ctypes import byref

from .._abc import TLSBuffer, normalize_server_hostname
from .._contexts import SNIChoice
from .._enums import TLSVersion, cipher_suite_or_int, next_protocol_or_bytes
from .._errors import CertificateVerificationError, RaggedEOF, TLSError, WantReadError
from .._objects import TLSSession
from .._state import READABLE, WRITABLE, QueuedTransport, State, StateKeeping
from . import _secur32 as S
from ._lowlevel import CertContext, SecBuffers, SecurityContext, cert_der, describe, secur32, store_ders
from ._types import NativeError, status_name
from ._verify import verify_peer
from .._wire import NeedMoreData, client_hello_server_name

__all__ = ["SChannelBuffer", "SChannelSession", "State"]


_READABLE, _WRITABLE = READABLE, WRITABLE
_DEFAULT_READ = 16384
_ALERT_RECORD = 21

_CLIENT_FLAGS = (S.ISC_REQ_SEQUENCE_DETECT | S.ISC_REQ_REPLAY_DETECT | S.ISC_REQ_CONFIDENTIALITY |
                 S.ISC_REQ_ALLOCATE_MEMORY | S.ISC_REQ_STREAM | S.ISC_REQ_EXTENDED_ERROR |
                 S.ISC_REQ_MANUAL_CRED_VALIDATION)
_SERVER_FLAGS = (S.ASC_REQ_SEQUENCE_DETECT | S.ASC_REQ_REPLAY_DETECT | S.ASC_REQ_CONFIDENTIALITY |
                 S.ASC_REQ_ALLOCATE_MEMORY | S.ASC_REQ_STREAM | S.ASC_REQ_EXTENDED_ERROR)

_VERSIONS = {
    S.SP_PROT_TLS1_3_CLIENT: TLSVersion.TLSv1_3, S.SP_PROT_TLS1_3_SERVER: TLSVersion.TLSv1_3,
    S.SP_PROT_TLS1_2_CLIENT: TLSVersion.TLSv1_2, S.SP_PROT_TLS1_2_SERVER: TLSVersion.TLSv1_2,
    S.SP_PROT_TLS1_1_CLIENT: TLSVersion.TLSv1_1, S.SP_PROT_TLS1_1_SERVER: TLSVersion.TLSv1_1,
    S.SP_PROT_TLS1_0_CLIENT: TLSVersion.TLSv1, S.SP_PROT_TLS1_0_SERVER: TLSVersion.TLSv1,
    S.SP_PROT_SSL3_CLIENT: TLSVersion.SSLv3, S.SP_PROT_SSL3_SERVER: TLSVersion.SSLv3,
}

# Step results
_NO_INPUT = "no_input"
_DONE = "done"
_NEED_READ = "need_read"
_AGAIN = "again"


class SChannelSession(TLSSession):
    """A resumable SChannel session: SChannel caches sessions per credentials handle and target name, so the
    session is the credentials handle of the connection that made it (kept alive here) and its target name."""

    __slots__ = ("credentials", "target")

    def __init__(self, credentials, target):
        self.credentials = credentials
        self.target = target


def alpn_buffer(protocols):
    """The SECBUFFER_APPLICATION_PROTOCOLS payload for ALPN *protocols* (bytes), or None."""
    if not protocols:
        return None
    wire = b"".join(struct.pack("B", len(p)) + p for p in protocols)
    # SEC_APPLICATION_PROTOCOLS { ULONG ProtocolListsSize; SEC_APPLICATION_PROTOCOL_LIST {
    #     ProtoNegoExt (enum, 4 bytes), USHORT ProtocolListSize, UCHAR ProtocolList[] } }
    entry = struct.pack("<IH", S.SecApplicationProtocolNegotiationExt_ALPN, len(wire)) + wire
    return struct.pack("<I", len(entry)) + entry


class SChannelBuffer(QueuedTransport, StateKeeping, SNIChoice, TLSBuffer):
    """The SChannel :class:`~nativetls.TLSBuffer` (see the abstract class for the contract)."""

    __slots__ = ("_context", "_native", "_credentials", "_ctx", "_target", "_host", "_state", "_failure",
                 "_incoming", "_outgoing", "_plaintext", "_eof", "_flags", "_sizes", "_server", "_chosen",
                 "__weakref__")

    def __init__(self, context, native, server_hostname=None, session=None, server=False):
        self._context = context
        self._native = native
        self._server = server
        self._state = State.HANDSHAKING
        self._failure = None
        self._incoming = bytearray()
        self._outgoing = bytearray()
        self._plaintext = bytearray()
        self._eof = False
        self._sizes = None
        self._ctx = None
        if server:
            self._host = self._target = None
            # With an SNI callback or several chains, the configuration is chosen from the ClientHello first.
            configuration = native.configuration
            self._chosen = configuration.sni_callback is None and len(native.locals) == 1
            self._use(native, 0)
            return
        self._chosen = True
        self._flags = _CLIENT_FLAGS
        sni, self._host, is_ip = normalize_server_hostname(server_hostname)
        # The target name is both the SNI name and SChannel's session-cache key; an IP literal sends no SNI.
        self._target = sni.decode("ascii") if sni else (self._host if is_ip else None)
        if session is not None:
            if not isinstance(session, SChannelSession):
                raise TypeError("session must be a TLSSession from an SChannel connection")
            self._credentials = session.credentials
        else:
            self._credentials = native.acquire()

    def _use(self, native, index):
        """Server: take the credentials of *native*'s signing chain *index* for this connection."""
        self._native = native
        # ASC_REQ_MUTUAL_AUTH makes SChannel send a CertificateRequest; the chain is verified here afterwards.
        self._flags = _SERVER_FLAGS | (S.ASC_REQ_MUTUAL_AUTH if native.client_auth else 0)
        self._credentials = native.server_credentials(index)

    # --- handshake ---------------------------------------------------------------------------------------
    def do_handshake(self):
        if self._state is not State.HANDSHAKING:
            self._check_usable()
            return
        while True:
            result = self._handshake_step()
            if result is _DONE:
                break
            if result is _NEED_READ:
                if self._eof:
                    self._fail(TLSError("the peer closed the connection during the handshake"))
                raise WantReadError("the handshake needs more data from the peer")
        self._sizes = self._query(S.SECPKG_ATTR_STREAM_SIZES, S.SecPkgContext_StreamSizes)
        if self._server:
            if self._native.client_auth:
                self._verify_client()
        elif self._native.verify:
            self._verify()
        self._move("handshake_done")

    @property
    def _function(self):
        return "AcceptSecurityContext" if self._server else "InitializeSecurityContextW"

    def _context_call(self, inputs, output_count=1):
        """One InitializeSecurityContextW (client) or AcceptSecurityContext (server) call; queues the tokens it
        produced and returns its status."""
        outputs = SecBuffers(output_count)
        for index in range(output_count):
            outputs.set(index, S.SECBUFFER_TOKEN if index == 0 else S.SECBUFFER_ALERT)
        attributes = ctypes.c_uint32()
        first = self._ctx is None
        if first:
            self._ctx = SecurityContext(S.SecHandle())
        handle = self._ctx.handle
        if self._server:
            status = secur32().AcceptSecurityContext(
                byref(self._credentials.handle), None if first else byref(handle),
                inputs.ref if inputs is not None else None, self._flags, 0, byref(handle), outputs.ref,
                byref(attributes), None)
        else:
            status = secur32().InitializeSecurityContextW(
                byref(self._credentials.handle), None if first else byref(handle), self._target, self._flags, 0,
                0, inputs.ref if inputs is not None else None, 0, byref(handle), outputs.ref, byref(attributes),
                None)
        for token in outputs.take_allocated():
            self._outgoing += token
        return status

    def _handshake_inputs(self):
        """The input SecBuffers of the next handshake call, or None when it must wait for data (_NEED_READ)."""
        alpn = alpn_buffer(self._native.alpn)
        if self._ctx is None and not self._server:  # the ClientHello: no input but the ALPN list
            return SecBuffers(1).set(0, S.SECBUFFER_APPLICATION_PROTOCOLS, alpn) if alpn else _NO_INPUT
        if not self._incoming:
            return None
        inputs = SecBuffers(3 if self._server and alpn else 2)
        inputs.set(0, S.SECBUFFER_TOKEN, self._incoming).set(1, S.SECBUFFER_EMPTY)
        if self._server and alpn:  # the server's ALPN list goes with every AcceptSecurityContext call
            inputs.set(2, S.SECBUFFER_APPLICATION_PROTOCOLS, alpn)
        return inputs

    def _choose_configuration(self):
        """Server, before the first ASC call: the SNI callback and chain selection (see the theory of operation).
        Returns _NEED_READ until the ClientHello is complete, else _AGAIN; raises if the callback fails."""
        try:
            name = client_hello_server_name(self._incoming)
        except NeedMoreData:
            return _NEED_READ
        except ValueError:  # not a ClientHello we can read: SChannel answers it, with the default configuration
            self._chosen = True
            return _AGAIN
        native = self._sni_native(name)
        self._use(native, native.select(name))
        self._chosen = True
        return _AGAIN

    def _handshake_step(self):
        """One ISC/ASC call with what we hold; returns _DONE, _NEED_READ or _AGAIN, or raises."""
        if not self._chosen:
            return self._choose_configuration()
        inputs = self._handshake_inputs()
        if inputs is None:
            return _NEED_READ
        if inputs is _NO_INPUT:
            inputs = None
        status = self._context_call(inputs)
        if status == S.SEC_E_INCOMPLETE_MESSAGE:
            return _NEED_READ
        if status in (S.SEC_E_OK, S.SEC_I_CONTINUE_NEEDED, S.SEC_I_INCOMPLETE_CREDENTIALS):
            if inputs is not None and inputs.find(S.SECBUFFER_TOKEN) == 0:
                self._keep_extra(inputs)
            if status == S.SEC_E_OK:
                return _DONE
            if status == S.SEC_I_INCOMPLETE_CREDENTIALS:
                self._flags |= S.ISC_REQ_USE_SUPPLIED_CREDS
                return _AGAIN
            return _AGAIN if self._incoming else _NEED_READ
        self._fail_status("TLS handshake failed", self._function, status)

    def _keep_extra(self, inputs):
        """After a successful call, keep only the unconsumed tail that SECBUFFER_EXTRA describes."""
        extra = inputs.find(S.SECBUFFER_EXTRA)
        if extra is None:
            del self._incoming[:]
        else:
            del self._incoming[:len(self._incoming) - inputs.array[extra].cbBuffer]

    def _fail_status(self, what, function, status):
        text = describe(function, status)
        if self._eof and status in (S.SEC_E_INCOMPLETE_MESSAGE,):
            self._fail(TLSError("the peer closed the connection during the handshake"))
        self._fail(TLSError("%s: %s" % (what, text), native_code=status,
                            native_message="%s: %s" % (function, status_name(status))))

    def _verify(self):
        leaf = self._remote_certificate()
        if leaf is None:
            self._fail(CertificateVerificationError(host=self._host, reason="other",
                                                    native_message="the peer sent no certificate"))
        try:
            verify_peer(leaf.handle, leaf.handle.contents.hCertStore, self._host, self._native.engine,
                        server=not self._server)
        except CertificateVerificationError as exc:
            self._fail(exc)
        finally:
            leaf.close()

    def _verify_client(self):
        """Server side: the client must have sent a certificate that chains to the configured trust store. On
        failure the server's last flight (its Finished) is withheld, so the client never completes."""
        leaf = self._remote_certificate()
        try:
            if leaf is None:
                raise CertificateVerificationError(
                    "the client sent no certificate, and this server requires one", host=None, reason="other",
                    native_message="no SECPKG_ATTR_REMOTE_CERT_CONTEXT")
            verify_peer(leaf.handle, leaf.handle.contents.hCertStore, None, self._native.engine, server=False)
        except CertificateVerificationError as exc:
            del self._outgoing[:]
            self._fail(exc)
        finally:
            if leaf is not None:
                leaf.close()

    # --- application data --------------------------------------------------------------------------------
    def read(self, amt=None, buffer=None):
        if self._state is State.HANDSHAKING:
            self.do_handshake()
        size = (len(buffer) if amt is None or amt < 0 else min(amt, len(buffer))) if buffer is not None else (
            _DEFAULT_READ if amt is None or amt < 0 else amt)
        while not self._plaintext:
            if self._state not in _READABLE:
                if self._state in (State.REMOTE_CLOSED, State.BOTH_CLOSED):
                    return b"" if buffer is None else 0
                self._check_usable()
            if size == 0:
                break
            if self._decrypt_one() is _NEED_READ and not self._plaintext:
                if self._eof:
                    self._fail(RaggedEOF("the peer closed the connection without close_notify "
                                         "(data may be truncated)"))
                raise WantReadError("no application data yet")
        data = bytes(self._plaintext[:size])
        del self._plaintext[:size]
        if buffer is None:
            return data
        buffer[:len(data)] = data
        return len(data)

    def _decrypt_one(self):
        """Decrypt one record from ``_incoming``; returns _AGAIN or _NEED_READ, or raises."""
        if not self._incoming:
            return _NEED_READ
        record_type = self._incoming[0]
        buffers = SecBuffers(4).set(0, S.SECBUFFER_DATA, self._incoming)
        for index in (1, 2, 3):
            buffers.set(index, S.SECBUFFER_EMPTY)
        status = secur32().DecryptMessage(byref(self._ctx.handle), buffers.ref, 0, None)
        if status == S.SEC_E_INCOMPLETE_MESSAGE:
            return _NEED_READ
        if status not in (S.SEC_E_OK, S.SEC_I_CONTEXT_EXPIRED, S.SEC_I_RENEGOTIATE):
            self._fail_status("TLS read failed", "DecryptMessage", status)
        data_index = buffers.find(S.SECBUFFER_DATA)
        data = buffers.bytes_of(data_index) if data_index is not None else b""
        extra_index = buffers.find(S.SECBUFFER_EXTRA)
        extra = buffers.bytes_of(extra_index) if extra_index is not None else b""
        self._incoming = bytearray(extra)
        self._plaintext += data
        if status == S.SEC_I_CONTEXT_EXPIRED or (status == S.SEC_E_OK and record_type == _ALERT_RECORD and
                                                 not data):
            self._move("received_close")
        elif status == S.SEC_I_RENEGOTIATE:
            self._post_handshake()
        return _AGAIN

    def _post_handshake(self):
        """Feed handshake messages that arrived after the handshake (SEC_I_RENEGOTIATE) to ISC."""
        while True:
            inputs = SecBuffers(2).set(0, S.SECBUFFER_TOKEN, self._incoming).set(1, S.SECBUFFER_EMPTY)
            status = self._context_call(inputs)
            if status == S.SEC_E_INCOMPLETE_MESSAGE:
                raise WantReadError("post-handshake message incomplete")  # pragma: no cover - rare split
            if status not in (S.SEC_E_OK, S.SEC_I_CONTINUE_NEEDED):
                self._fail_status("TLS post-handshake message failed", self._function, status)
            self._keep_extra(inputs)
            if status == S.SEC_E_OK or not self._incoming:
                return

    def write(self, buf):
        if self._state is State.HANDSHAKING:
            self.do_handshake()
        if self._state not in _WRITABLE:
            self._check_usable()
            raise TLSError("cannot write after shutdown()")
        data = bytes(buf)
        step = self._sizes.cbMaximumMessage
        records = bytearray()
        for offset in range(0, len(data), step):
            records += self._encrypt(data[offset:offset + step])
        self._outgoing += records
        return len(data)

    def _encrypt(self, chunk):
        sizes = self._sizes
        buffers = SecBuffers(4)
        buffers.set(0, S.SECBUFFER_STREAM_HEADER, size=sizes.cbHeader)
        buffers.set(1, S.SECBUFFER_DATA, chunk)
        buffers.set(2, S.SECBUFFER_STREAM_TRAILER, size=sizes.cbTrailer)
        buffers.set(3, S.SECBUFFER_EMPTY)
        try:
            secur32().EncryptMessage(byref(self._ctx.handle), 0, buffers.ref, 0)
        except NativeError as exc:
            self._fail_status("TLS write failed", "EncryptMessage", exc.code)
        return buffers.bytes_of(0) + buffers.bytes_of(1) + buffers.bytes_of(2)

    def shutdown(self):
        if self._state in (State.LOCAL_CLOSED, State.BOTH_CLOSED):
            return
        if self._state is State.HANDSHAKING:
            raise TLSError("cannot shut down before the handshake has completed")
        self._check_usable()
        token = SecBuffers(1).set(0, S.SECBUFFER_TOKEN, struct.pack("<I", S.SCHANNEL_SHUTDOWN))
        try:
            secur32().ApplyControlToken(byref(self._ctx.handle), token.ref)
        except NativeError as exc:
            self._fail_status("TLS shutdown failed", "ApplyControlToken", exc.code)
        status = self._context_call(None)
        if status not in (S.SEC_E_OK, S.SEC_I_CONTINUE_NEEDED, S.SEC_I_CONTEXT_EXPIRED):
            self._fail_status("TLS shutdown failed", self._function, status)
        self._move("sent_close")

    # --- the network side: process_incoming/process_outgoing/... come from _state.QueuedTransport ---------

    # --- what was negotiated -------------------------------------------------------------------------------
    def _established(self):
        return self._state not in (State.HANDSHAKING, State.CLOSED) and self._ctx is not None

    def _query(self, attribute, structure):
        value = structure()
        try:
            secur32().QueryContextAttributesW(byref(self._ctx.handle), attribute, byref(value))
        except NativeError:
            return None
        return value

    def _remote_certificate(self):
        pointer = ctypes.c_void_p()
        try:
            secur32().QueryContextAttributesW(byref(self._ctx.handle), S.SECPKG_ATTR_REMOTE_CERT_CONTEXT,
                                              byref(pointer))
        except NativeError:
            return None
        if not pointer.value:
            return None
        from ._crypt32 import PCCERT_CONTEXT
        return CertContext(ctypes.cast(pointer, PCCERT_CONTEXT))

    def cipher(self):
        if not self._established():
            return None
        info = self._query(S.SECPKG_ATTR_CIPHER_INFO, S.SecPkgContext_CipherInfo)
        if info is None or not info.dwCipherSuite:
            return None
        return cipher_suite_or_int(info.dwCipherSuite)

    def negotiated_protocol(self):
        if not self._established() or not self._native.alpn:
            return None
        info = self._query(S.SECPKG_ATTR_APPLICATION_PROTOCOL, S.SecPkgContext_ApplicationProtocol)
        if info is None or info.ProtoNegoStatus != S.SecApplicationProtocolNegotiationStatus_Success:
            return None
        return next_protocol_or_bytes(bytes(bytearray(info.ProtocolId[:info.ProtocolIdSize])))

    @property
    def negotiated_tls_version(self):
        if not self._established():
            return None
        info = self._query(S.SECPKG_ATTR_CONNECTION_INFO, S.SecPkgContext_ConnectionInfo)
        return _VERSIONS.get(info.dwProtocol) if info is not None else None

    @property
    def context(self):
        return self._context

    def getpeercertchain(self):
        if self._ctx is None or self._state is State.CLOSED:
            return None
        leaf = self._remote_certificate()
        if leaf is None:
            return None
        try:
            first = cert_der(leaf.handle)
            rest = [der for der in store_ders(leaf.handle.contents.hCertStore) if der != first]
        finally:
            leaf.close()
        return [first] + rest

    @property
    def session(self):
        if not self._established() or self._server:
            return None
        return SChannelSession(self._credentials, self._target)

    @property
    def session_reused(self):
        if not self._established():
            return False
        info = self._query(S.SECPKG_ATTR_SESSION_INFO, S.SecPkgContext_SessionInfo)
        return bool(info is not None and info.dwFlags & S.SSL_SESSION_RECONNECT)

    @property
    def state(self):
        return self._state

    def close(self):
        if self._state is State.CLOSED:
            return
        self._state = State.CLOSED
        if self._ctx is not None:
            self._ctx.close()
        self._ctx = None
        self._credentials = None
        del self._incoming[:], self._outgoing[:], self._plaintext[:]

# -*- coding: utf-8 -*-
"""The OpenSSL TLSBuffer: one SSL object between two memory BIOs.

Theory of operation
-------------------
The SSL object reads from ``rbio`` (bytes received from the network that libssl has not consumed yet) and writes
to ``wbio`` (everything libssl wants sent). Both are memory BIOs: they never block and ``wbio`` grows without
bound. What libssl promises in that setting, and what this module makes of it:

* ``SSL_ERROR_WANT_READ``: libssl needs bytes that ``rbio`` does not hold. Whatever it produced meanwhile is
  already in ``wbio``. We raise WantReadError; the caller sends ``process_outgoing()``, feeds
  ``process_incoming()`` and calls again.
* ``SSL_ERROR_WANT_WRITE`` cannot happen with an unbounded ``wbio``. This backend never raises WantWriteError,
  but callers handle it because other backends do.
* ``SSL_write`` without ``SSL_MODE_ENABLE_PARTIAL_WRITE`` takes all of the data or none. A write that raised
  (WantReadError while it drives the handshake) must be retried with the same bytes;
  ``SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER`` lets that retry pass another object holding them.
* An empty ``rbio`` says "retry" (``BIO_set_mem_eof_return(rbio, -1)``, a new memory BIO's default).
  ``process_incoming(b"")`` switches it to "end of file" (0): libssl then sees the transport end. OpenSSL 1.1.1
  reports that as ``SSL_ERROR_SYSCALL`` with an empty error queue, 3.0 as ``SSL_ERROR_SSL`` with
  ``SSL_R_UNEXPECTED_EOF_WHILE_READING``: both are a ragged EOF (RaggedEOF), unless the peer's close_notify came
  first (``SSL_ERROR_ZERO_RETURN``: reads return ``b""``).
* TLS 1.3 session tickets and key updates arrive after the handshake; ``SSL_read`` consumes them even when it
  then reports WANT_READ, so a read that raised WantReadError may still have made ``.session`` available.
* The error queue is per thread, and ``SSL_get_error`` is only right if the queue was empty before the call. The
  per-record operations do not clear it first (a native call each); a failure that ``SSL_get_error`` blames on
  the queue is asked again once the queue is drained, to tell an earlier call's leftovers from this call's
  errors (``_get_error``). Every failure drains the queue into its exception, leaving it empty.
* Native callbacks (SNI, ALPN) cannot raise into libssl: ``on_servername`` stores the exception on the buffer and
  returns a fatal alert; the handshake call then raises TLSError with the stored exception as ``__cause__``.

Direct I/O (``DirectOpenSSLBuffer``): a TLSSocket over a plain socket asks its fresh buffer to take the socket
itself (``_attach_socket``): the two memory BIOs give way to one socket BIO and libssl reads and writes the
descriptor inside ``SSL_do_handshake``/``SSL_read``/``SSL_write`` (ctypes releases the GIL around them). The
answers above then speak of the socket: WANT_READ/WANT_WRITE mean it would block; ``SSL_ERROR_SYSCALL`` with an
errno is the socket's error (raised as that OSError; the SSL_* calls are bound with ``use_errno``), without one
(1.1.1) or with ``SSL_R_UNEXPECTED_EOF_WHILE_READING`` (3.0) the transport's end of file. Read-ahead stays off:
libssl takes from the socket only the record it needs, so cleartext after the peer's close_notify stays there.

Answers the buffer already knows (no native call): a ``read()`` after one that raised WantReadError raises it
again while nothing could have changed libssl's answer (``_want_read``: cleared by ``process_incoming`` of bytes
or end of file, ``write``, ``shutdown``, a handshake step). That holds because libssl runs with
``SSL_MODE_AUTO_RETRY``, no read-ahead and no renegotiation: WANT_READ from ``SSL_read`` means ``rbio`` holds no
complete record and nothing is buffered inside libssl, and only new bytes (or the end of file) in ``rbio`` change
that. For the same reason a ``read()`` that used up its record (``SSL_read`` returns at most one record's
plaintext: less than asked for, or a full 16 KiB record; ``_ended``) leaves libssl holding nothing, so the next
``read()`` asks only ``BIO_ctrl_pending(rbio)`` and, if it is 0, raises WantReadError without ``SSL_read`` and
``SSL_get_error`` (the last read of every read-until-want loop); ``process_incoming`` clears ``_ended``, so a
read right after new bytes asks nothing extra. And
``process_outgoing()``/``outgoing_bytes_buffered()`` answer "nothing" once ``wbio`` was emptied while no
``SSL_*`` call has run since (``_drained``): output is only ever made by ``SSL_do_handshake``, ``SSL_read``
(alerts, answers to post-handshake messages), ``SSL_write`` (which also carries the reply to a TLS 1.3 key update
request: libssl 1.1.1 and 3.0 send it with the next write) and ``SSL_shutdown`` (close_notify, also in reply to
the peer's), and each of those clears the flag first. Direct I/O never takes the read shortcut: its socket
changes without ``process_incoming``.

Copies: ``read()`` and ``process_outgoing()`` fill a per-thread scratch buffer and copy out what was read; once a
connection moves full records (16 KiB plaintext, 8 KiB+ of output), they make the ``bytes`` they return first
and let libssl fill it (``_new_bytes``), as the stdlib does in C, saving a copy.

States: ``nativetls._state`` (shared by every backend).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import errno as _errno
import os
import socket as _socket
import threading
import weakref
from ctypes import byref, c_uint, c_void_p

from .._abc import TLSBuffer, normalize_server_hostname, run_sni_callback
from .._enums import TLSVersion, cipher_suite_or_int, next_protocol_or_bytes
from .._errors import RaggedEOF, TLSError, WantReadError, WantWriteError
from .._objects import TLSSession
from .._state import READABLE, WRITABLE, State, StateKeeping
from . import _libssl as L
from . import _lowlevel
from ._lowlevel import (Owned, _crypto_dll, _ssl_dll, cipher_protocol_id, drain_errors, error_lib, error_reason,
                        lib, session_reused, stack_items, x509_to_der)
from . import _verify
from ._verify import policy_error, verification_error

__all__ = ["OpenSSLBuffer", "DirectOpenSSLBuffer", "OpenSSLSession", "State", "on_servername", "on_alpn_select",
           "on_info"]


_READABLE, _WRITABLE = READABLE, WRITABLE
_VERSIONS = {L.TLS1_3_VERSION: TLSVersion.TLSv1_3, L.TLS1_2_VERSION: TLSVersion.TLSv1_2,
             L.TLS1_1_VERSION: TLSVersion.TLSv1_1, L.TLS1_VERSION: TLSVersion.TLSv1, L.SSL3_VERSION: TLSVersion.SSLv3}
_DEFAULT_READ = 16384
_SCRATCH_SIZE = 278528  # 272 KiB: the ciphertext of a 256 KiB write (TLSSocket's largest) in one BIO_read
_BIO_S_MEM = lib.BIO_s_mem()
_WANT = frozenset([L.SSL_ERROR_WANT_READ, L.SSL_ERROR_WANT_WRITE])
_WANT_OR_CLOSED = _WANT | frozenset([L.SSL_ERROR_ZERO_RETURN])


# --- The per-record call path -----------------------------------------------------------------------------
# Every read, write, process_incoming and process_outgoing is a Python method around one native call, and a
# ctypes call's fixed costs (converting each argument, building the result) are paid on each of them. The
# functions below cut those costs to what ctypes cannot avoid; docs/performance.md has the measurements.

class _IntCall(ctypes._CFuncPtr):
    """A foreign function returning C ``int``, without argtypes, that releases the GIL and keeps ``errno``.

    Without argtypes ctypes converts each argument in C instead of calling a Python-level ``from_param``; with no
    ``_restype_`` at all (not even ``c_int``) it builds the result with ``PyLong_FromLong`` instead of looking the
    type's converter up. The price is discipline: callers pass pointers only as :func:`_pointer_arg` objects (a
    bare int would go as a 32-bit C int), buffers as ``bytes`` or ctypes arrays, sizes as ints below 2**31.
    The declared rows in ``_libssl`` stay the reference; each function bound this way mirrors one exactly.
    ``errno`` is kept (``use_errno``) so that ``ctypes.get_errno()`` tells what a socket BIO's read or write
    failed with (direct I/O, ``SSL_ERROR_SYSCALL``).
    """
    _flags_ = ctypes._FUNCFLAG_CDECL | ctypes._FUNCFLAG_USE_ERRNO


class _IntCallGIL(ctypes._CFuncPtr):
    """As :class:`_IntCall`, but called with the GIL held (the PyDLL convention), for memory BIOs only: their
    reads and writes are a memcpy (and a realloc), shorter than releasing and re-taking the GIL, as the stdlib's
    ``MemoryBIO`` does. Never for anything that can block or call back into Python while holding a lock."""
    _flags_ = ctypes._FUNCFLAG_CDECL | ctypes._FUNCFLAG_PYTHONAPI


_ANCHOR = ctypes.c_char()
_ANCHOR_ADDRESS = ctypes.addressof(_ANCHOR)


def _pointer_arg(address):
    """A ready-made C pointer argument for *address*, which ctypes passes as it is.

    A ``c_void_p`` argument costs an allocation per call (ctypes asks it for a fresh parameter object); the
    object ``byref(obj, offset)`` returns is such a parameter object already (type code ``'P'``, value: obj's
    address plus offset), so the call copies its value and allocates nothing. It is made once per native object
    and must not be used once that is freed: every call passing a buffer's arguments comes after the buffer's
    state check, and a buffer that freed its SSL is CLOSED.
    """
    return byref(_ANCHOR, address - _ANCHOR_ADDRESS)


_SSL_read, _SSL_write = _IntCall(("SSL_read", _ssl_dll)), _IntCall(("SSL_write", _ssl_dll))
_SSL_do_handshake, _SSL_shutdown = _IntCall(("SSL_do_handshake", _ssl_dll)), _IntCall(("SSL_shutdown", _ssl_dll))
_BIO_read, _BIO_write = _IntCallGIL(("BIO_read", _crypto_dll)), _IntCallGIL(("BIO_write", _crypto_dll))
_BIO_pending = _IntCallGIL(("BIO_ctrl_pending", _crypto_dll))  # size_t, but what it counts here is below 2**31
# SSL_get_error reads the SSL's state and the thread's error queue: no I/O, no callback, so the GIL stays held.
_SSL_get_error = _IntCallGIL(("SSL_get_error", _ssl_dll))
_WANT_READ_CODE = L.SSL_ERROR_WANT_READ


class _Scratch(threading.local):
    """Per-thread memory that SSL_read and BIO_read fill before one copy out into ``bytes``.

    A fresh ``create_string_buffer`` per call costs an allocation, zeroing it, and a copy of all of it (``.raw``)
    before the slice; the scratch costs one copy of what was read: slicing a ``c_char`` array makes ``bytes``
    directly (one allocation, where ``memoryview(...)[:n].tobytes()`` makes two). It is per thread because
    ctypes releases the GIL during SSL_* calls, and a thread switch can happen between filling it and copying
    out. Nothing else runs Python code in between except native callbacks during a handshake, which never read
    application data.
    """

    def __init__(self):
        target = (ctypes.c_char * _SCRATCH_SIZE)()
        self.area = (_pointer_arg(ctypes.addressof(target)), target)


_scratch = _Scratch()
_RECORD = 16384  # the most plaintext one TLS record carries, so the most one SSL_read returns (no read-ahead)
_BIG = 8192  # outputs at least this large go straight into a new bytes object (see _new_bytes)


def _bytes_maker():
    """``(new, new_record)``: ``new(None, n)`` makes a new, uninitialised ``bytes`` of n bytes
    (``PyBytes_FromStringAndSize(NULL, n)``) for libssl to fill, ``new_record(None, _RECORD_SIZE_ARG)`` the same
    function without argtypes for one fixed size; ``(None, None)`` where this is not CPython.

    This is what the stdlib ``ssl`` module does in C: libssl writes into the ``bytes`` it will return, where the
    scratch buffer costs a second copy. ctypes passes a ``bytes`` argument as a pointer to its characters (no
    copy); only objects of ``_BIG`` bytes or more are made this way (never the shared empty or one-byte
    objects), by this module alone, and they are filled before any other code sees them.
    """
    import platform
    if platform.python_implementation() != "CPython":
        return None, None
    api = ctypes.pythonapi
    try:
        name = "PyBytes_FromStringAndSize" if hasattr(api, "PyBytes_FromStringAndSize") else \
            "PyString_FromStringAndSize"
        # A function object of our own: ctypes.pythonapi's attributes are shared by every library in the process,
        # and setting their restype/argtypes there would change them for the others.
        new = api._FuncPtr((name, api))
        new.restype = ctypes.py_object
        new.argtypes = [c_void_p, ctypes.c_ssize_t]
        probe = new(None, _BIG)
        if type(probe) is not bytes or len(probe) != _BIG:
            return None, None
        new_record = api._FuncPtr((name, api))
        new_record.restype = ctypes.py_object
    except Exception:  # pragma: no cover - an interpreter without the C API in ctypes.pythonapi
        return None, None
    return new, new_record


_new_bytes, _new_record = _bytes_maker()
_RECORD_SIZE_ARG = _pointer_arg(_RECORD)  # _new_record's Py_ssize_t argument, passed as the machine word it is

_OPEN, _CLOSED = State.OPEN, State.CLOSED

# Live SSL objects -> their buffer (weakly), for the native callbacks, which only receive the SSL pointer. (Making
# the entry only for SSL_CTX objects with a callback saved nothing measurable per handshake and, oddly, grew the
# memory row by 2.2 KiB per idle pair: 46.0 -> 48.2; issue 17, docs/performance.md.)
_live = {}


class OpenSSLSession(TLSSession):
    """A resumable OpenSSL session (owns an SSL_SESSION reference)."""

    __slots__ = ("_handle",)

    def __init__(self, ptr):
        self._handle = Owned(ptr, lib.SSL_SESSION_free)


class OpenSSLBuffer(StateKeeping, TLSBuffer):
    """The OpenSSL :class:`~nativetls.TLSBuffer` (see the abstract class for the contract)."""

    __slots__ = ("_context", "_native", "_ssl_ptr", "_rbio", "_wbio", "_c_ssl", "_c_rbio", "_c_wbio",
                 "_state", "_server", "_host",
                 "_eof", "_failure", "_callback_error", "_rejected", "_unsent_alert", "_big_in", "_big_out", "_kept",
                 "_want_read", "_ended", "_drained", "_renegotiation", "_policy", "__weakref__")

    def __init__(self, context, native, server_hostname=None, session=None, server=False):
        self._context = context
        self._native = native
        self._server = server
        self._state = State.HANDSHAKING
        self._eof = False
        self._failure = None
        self._callback_error = None
        self._rejected = []  # DER of certificates the verify callback saw fail (libssl 1.1.1 drops the chain)
        self._unsent_alert = False  # direct I/O: our close_notify waits for a writable socket
        self._big_in = self._big_out = False  # the last read()/process_outgoing() was large: see there
        self._kept = False  # _keep_buffers() was called
        self._want_read = False  # read() would raise WantReadError again: nothing has changed since it last did
        self._ended = False  # the last read() used up its record: if rbio is empty, the next one wants to read
        self._drained = False  # wbio is empty: no SSL_* call since process_outgoing() took everything
        self._renegotiation = False  # before 1.1.0h: the peer began a renegotiation, which on_info refused
        self._policy = _verify.STRICT_POLICY  # 1.0.2: what policy_error applies (contrib may relax it per connection)
        sni, self._host, is_ip = (None, None, False) if server else normalize_server_hostname(server_hostname)
        if session is not None and not isinstance(session, OpenSSLSession):
            raise TypeError("session must be a TLSSession from an OpenSSL connection")
        # The buffer itself owns the SSL object (freed by close(), or by __del__): no separate owner object, whose
        # finalizer could free it while the buffer still says OPEN (a reference cycle is finalized in any order).
        ssl = self._ssl_ptr = lib.SSL_new(native.ptr)
        # A new memory BIO answers "retry" (-1) when empty: BIO_set_mem_eof_return(-1) is its default (mem_new).
        self._rbio = lib.BIO_new(_BIO_S_MEM)
        self._wbio = lib.BIO_new(_BIO_S_MEM)
        lib.SSL_set_bio(ssl, self._rbio, self._wbio)  # the SSL owns both BIOs from here on
        self._c_ssl, self._c_rbio, self._c_wbio = _pointer_arg(ssl), _pointer_arg(self._rbio), _pointer_arg(self._wbio)
        if server:
            lib.SSL_set_accept_state(ssl)
        else:
            lib.SSL_set_connect_state(ssl)
            if sni:
                lib.SSL_ctrl(ssl, L.SSL_CTRL_SET_TLSEXT_HOSTNAME, L.TLSEXT_NAMETYPE_host_name, sni)
            if self._host and native.verify_mode != L.SSL_VERIFY_NONE:
                param = lib.SSL_get0_param(ssl)
                if is_ip:
                    lib.X509_VERIFY_PARAM_set1_ip_asc(param, self._host.encode("ascii"))
                else:
                    lib.X509_VERIFY_PARAM_set1_host(param, sni, len(sni))
            if session is not None:
                copy = _session_copy(session._handle.ptr)
                try:
                    lib.SSL_set_session(ssl, copy or session._handle.ptr)  # takes its own reference
                finally:
                    if copy:
                        lib.SSL_SESSION_free(copy)
        _live[ssl] = weakref.ref(self, lambda _ref, key=ssl: _live.pop(key, None))

    # --- handshake ---------------------------------------------------------------------------------------
    def do_handshake(self):
        if self._state is not State.HANDSHAKING:
            self._check_usable()
            return
        if self._eof:  # see read()
            lib.ERR_clear_error()
        self._want_read = self._ended = self._drained = False
        result = _SSL_do_handshake(self._c_ssl)
        if result == 1:
            self._state = _OPEN  # TRANSITIONS[HANDSHAKING, "handshake_done"]
            return
        if _SSL_get_error(self._c_ssl, result) == _WANT_READ_CODE and self._callback_error is None:
            raise WantReadError("the handshake needs more data from the peer")
        error, errors = _get_error(self._ssl_ptr, result, _WANT)
        if error == L.SSL_ERROR_WANT_READ and self._callback_error is None:
            raise WantReadError("the handshake needs more data from the peer")
        if error == L.SSL_ERROR_WANT_WRITE and self._callback_error is None:
            raise WantWriteError("the handshake needs the outgoing data sent first")
        self._handshake_failed(error, errors)

    def _handshake_failed(self, error, errors):
        if self._callback_error is None:
            self._transport_error(error, errors)
        if self._callback_error is not None:
            cause, self._callback_error = self._callback_error, None
            self._fail(TLSError("the SNI callback failed: %s: %s" % (type(cause).__name__, cause)), cause)
        verify_result = lib.SSL_get_verify_result(self._ssl_ptr)
        if verify_result != L.X509_V_OK and self._native.verify_mode != L.SSL_VERIFY_NONE:
            self._fail(verification_error(verify_result, self._host, self.getpeercertchain() or self._rejected,
                                          "client" if self._server else "server"))
        native = "; ".join(text for _c, text in errors) or None
        code = errors[-1][0] if errors else None
        if self._eof and (not errors or _is_eof(code)):
            message = "the peer closed the connection during the handshake"
        elif code is not None and error_reason(code) == L.SSL_R_WRONG_VERSION_NUMBER:
            message = "TLS handshake failed: the peer does not speak TLS (wrong version number)"
        elif code is not None and error_reason(code) == L.SSL_R_UNKNOWN_PROTOCOL and error_lib(code) == L.ERR_LIB_SSL:
            message = ("TLS handshake failed: the peer does not speak TLS, or no version this side accepts "
                       "(unknown protocol)")
            self._protocol_version_alert()
        elif code is not None:
            message = "TLS handshake failed: %s" % (_reason(code) or native)
        else:
            message = "TLS handshake failed (SSL_get_error %d)" % error
        self._fail(TLSError(message, native_code=code, native_message=native))

    def _protocol_version_alert(self):
        """1.0.2's version-flexible server refuses a ClientHello below its minimum without an alert (1.1.0+ send
        protocol_version): send the fatal alert it would, in plaintext, before anything else was written."""
        if self._server and self._wbio is not None and not lib.BIO_ctrl_pending(self._wbio):
            alert = b"\x15\x03\x01\x00\x02\x02\x46"  # alert record, TLS 1.0 framing: fatal, protocol_version (70)
            lib.BIO_write(self._wbio, alert, len(alert))

    # --- application data --------------------------------------------------------------------------------
    def read(self, amt=None, buffer=None):
        if self._state is not _OPEN or self._eof:
            if not self._prepare_read():
                return b"" if buffer is None else 0
        if buffer is not None:
            return self._read_into(buffer, amt)
        # The common case, kept short (docs/performance.md).
        if amt is None or amt < 0:
            amt = _DEFAULT_READ
        elif amt == 0:
            return b""
        if self._want_read:  # nothing arrived since the last WantReadError (theory of operation)
            raise WantReadError("no application data yet")
        if self._ended:  # the last read used up its record and nothing was fed since: is rbio empty?
            self._ended = False
            # Direct I/O: the socket is not ours to ask; after the end of file an empty rbio means "ended".
            if self._c_rbio is not None and not self._eof and not _BIO_pending(self._c_rbio):
                self._want_read = True
                raise WantReadError("no application data yet")
        self._drained = False  # SSL_read may answer post-handshake messages (key update, close_notify)
        if self._big_in and amt >= _RECORD:
            # The last read filled a record: read this one straight into the bytes returned (one copy, not two);
            # a shorter record is sliced out of it (the copy the scratch path makes anyway).
            data = _new_record(None, _RECORD_SIZE_ARG)
            count = _SSL_read(self._c_ssl, data, _RECORD)
            if count == _RECORD:
                self._ended = True  # no record holds more
                return data
            if count > 0:
                self._big_in = False
                self._ended = True  # less than asked for: the record is used up
                return data[:count]
        else:
            arg, area = _scratch.area
            count = _SSL_read(self._c_ssl, arg, amt if amt < _SCRATCH_SIZE else _SCRATCH_SIZE)
            if count > 0:
                if count == _RECORD:
                    self._keep_buffers()
                    self._big_in = _new_bytes is not None
                self._ended = count < amt or count == _RECORD
                return area[:count]
        self._read_failed(count)
        return b""

    def _keep_buffers(self):
        """This connection moves full records: stop freeing libssl's record buffers after each record.

        Contexts set ``SSL_MODE_RELEASE_BUFFERS``, so that an idle connection holds no record buffers (about 20 KiB
        less per connection pair than the stdlib ``ssl``, which never releases them). A connection moving bulk
        data would then free and allocate a 17 KiB buffer per record; from its first full record on, it keeps
        them, as ``ssl`` always does (so it never holds more than an ``ssl`` connection).
        """
        if not self._kept:
            self._kept = True
            lib.SSL_ctrl(self._ssl_ptr, L.SSL_CTRL_CLEAR_MODE, L.SSL_MODE_RELEASE_BUFFERS, None)

    def _prepare_read(self):
        """read()'s slow start: finish the handshake, answer or refuse closed states, and clear the error queue
        after EOF (an empty queue, 1.1.1, or its own error, 3.0, then tells a ragged EOF: no leftovers).
        Returns False when read() returns empty at once."""
        if self._state is not _OPEN:
            if self._state is State.HANDSHAKING:
                self.do_handshake()
            if self._state not in _READABLE:
                if self._state in (State.REMOTE_CLOSED, State.BOTH_CLOSED):
                    return False
                self._check_usable()
        if self._eof:
            lib.ERR_clear_error()
        return True

    def _read_into(self, buffer, amt):
        size = len(buffer) if amt is None or amt < 0 else min(amt, len(buffer))
        if size == 0:
            return 0
        if self._want_read:
            raise WantReadError("no application data yet")
        if self._ended:  # as in read()
            self._ended = False
            if self._c_rbio is not None and not self._eof and not _BIO_pending(self._c_rbio):
                self._want_read = True
                raise WantReadError("no application data yet")
        self._drained = False
        try:
            target = (ctypes.c_char * size).from_buffer(buffer)
        except TypeError:  # Python 2's memoryview has no old-style buffer: read, then copy
            data = self.read(size)
            buffer[:len(data)] = data
            return len(data)
        count = _SSL_read(self._c_ssl, target, size)
        if count > 0:
            self._ended = count < size or count == _RECORD
            return count
        self._read_failed(count)
        return 0

    def _read_failed(self, result):
        """Interpret an SSL_read result <= 0: returns for close_notify, raises otherwise."""
        if _SSL_get_error(self._c_ssl, result) == _WANT_READ_CODE:  # the usual answer, one cheap call
            self._want_read = self._c_rbio is not None and not self._eof  # never with direct I/O (see above)
            raise WantReadError("no application data yet")
        error, errors = _get_error(self._ssl_ptr, result, _WANT_OR_CLOSED)
        if error == L.SSL_ERROR_ZERO_RETURN:
            self._move("received_close")
            return
        if error == L.SSL_ERROR_WANT_READ:
            self._want_read = self._c_rbio is not None and not self._eof
            raise WantReadError("no application data yet")
        if error == L.SSL_ERROR_WANT_WRITE:
            raise WantWriteError("the outgoing data must be sent first")
        self._transport_error(error, errors)
        code = errors[-1][0] if errors else None
        native = "; ".join(text for _c, text in errors) or None
        if self._renegotiation:  # only ever set before 1.1.0h (on_info); a failure path, not the per-record one
            self._renegotiation_refused(code, native)
        if self._eof and (code is None or _is_eof(code)):
            self._fail(RaggedEOF("the peer closed the connection without close_notify (data may be truncated)",
                                 native_code=code, native_message=native))
        self._fail(TLSError("TLS read failed: %s" % ((_reason(code) or native) if code else "error %d" % error),
                            native_code=code, native_message=native))

    def _renegotiation_refused(self, code, native):
        cause, self._callback_error = self._callback_error, None
        self._fail(TLSError("the peer asked for a renegotiation, which this side refuses (the connection is closed)",
                            native_code=code, native_message=native), cause)

    def write(self, buf):
        if self._state is not _OPEN:
            if self._state is State.HANDSHAKING:
                self.do_handshake()
            if self._state not in _WRITABLE:
                self._check_usable()
                raise TLSError("cannot write after shutdown()")
        data = buf if type(buf) is bytes else _to_bytes(buf)
        size = len(data)
        if not size:
            return 0
        if size >= _RECORD:
            self._keep_buffers()
        self._want_read = self._ended = self._drained = False
        written = _SSL_write(self._c_ssl, data, size)
        if written > 0:
            return written
        error, errors = _get_error(self._ssl_ptr, written, _WANT)
        if error == L.SSL_ERROR_WANT_READ:
            raise WantReadError("the write needs data from the peer first; retry with the same data")
        if error == L.SSL_ERROR_WANT_WRITE:
            raise WantWriteError("the outgoing data must be sent first; retry with the same data")
        self._transport_error(error, errors)
        code = errors[-1][0] if errors else None
        native = "; ".join(text for _c, text in errors) or None
        self._fail(TLSError("TLS write failed: %s" % (_reason(code) or native if code else "error %d" % error),
                            native_code=code, native_message=native))

    def shutdown(self):
        if self._state in (State.LOCAL_CLOSED, State.BOTH_CLOSED):
            return
        if self._state is State.HANDSHAKING:
            raise TLSError("cannot shut down before the handshake has completed")
        self._check_usable()
        lib.ERR_clear_error()
        self._want_read = self._ended = self._drained = False
        result = _SSL_shutdown(self._c_ssl)
        if result < 0:
            error = lib.SSL_get_error(self._ssl_ptr, result)
            errors = drain_errors()
            if error not in (L.SSL_ERROR_WANT_READ, L.SSL_ERROR_WANT_WRITE):
                self._fail(TLSError("TLS shutdown failed: %s" % "; ".join(t for _c, t in errors),
                                    native_code=errors[-1][0] if errors else None))
        self._move("sent_close")

    # --- the network side ----------------------------------------------------------------------------------
    def _transport_error(self, error, errors):
        """Memory BIOs fail only as the theory of operation says; direct I/O overrides this (socket errors)."""

    def _attach_socket(self, fd):
        """TLSSocket's direct-I/O hook: let libssl read and write the socket *fd* itself; returns whether it did.

        Only a buffer that has done nothing yet switches: its memory BIOs are replaced by one socket BIO
        (``SSL_set_fd``, which never closes the descriptor) and it becomes a :class:`DirectOpenSSLBuffer`. libssl
        then calls ``read``/``write`` on the descriptor during ``SSL_read``, ``SSL_write`` and
        ``SSL_do_handshake``, with the GIL released (ctypes releases it around every native call), as the stdlib
        ``ssl`` module does; WANT_READ/WANT_WRITE then mean "the socket would block" and TLSSocket waits for the
        socket under its timeout. ``read_ahead`` stays off, so libssl never reads past the record it needs and
        ``unwrap()`` leaves whatever the peer sends after its close_notify in the socket.
        """
        if (self._state is not State.HANDSHAKING or lib.SSL_in_before is None or self._rbio is None
                or not lib.SSL_in_before(self._ssl_ptr) or lib.BIO_ctrl_pending(self._rbio)
                or lib.BIO_ctrl_pending(self._wbio)):
            return False
        if lib.SSL_set_fd(self._ssl_ptr, fd) != 1:  # frees the memory BIOs only when it succeeds
            lib.ERR_clear_error()
            return False
        self._rbio = self._wbio = self._c_rbio = self._c_wbio = None
        self.__class__ = DirectOpenSSLBuffer
        return True

    def process_incoming(self, data):
        if data and type(data) is bytes and not self._eof and self._state is not _CLOSED:
            _BIO_write(self._c_rbio, data, len(data))
            self._want_read = self._ended = False  # new bytes: read() must ask libssl
            return
        if self._state is _CLOSED:
            raise TLSError("this TLSBuffer has been closed")
        self._want_read = self._ended = False  # the end of file changes what an empty rbio means
        if not data:
            if not self._eof:
                self._eof = True
                lib.BIO_ctrl(self._rbio, L.BIO_C_SET_BUF_MEM_EOF_RETURN, 0, None)
            return
        if self._eof:
            raise TLSError("data received after the transport's end of file")
        if type(data) is not bytes:
            data = _to_bytes(data)
        lib.BIO_write(self._rbio, data, len(data))

    def process_outgoing(self, amt=None):
        if self._drained or self._state is _CLOSED:  # emptied, and no SSL_* call since (theory of operation)
            return b""
        if amt is not None and amt >= 0:
            return self._outgoing_part(amt)
        if self._big_out:
            # The last output was large: ask its size, and read it straight into the bytes returned.
            size = _BIO_pending(self._c_wbio)
            if size >= _BIG:
                data = _new_bytes(None, size)
                _BIO_read(self._c_wbio, data, size)  # a memory BIO gives all it holds
                self._drained = True
                return data
            self._big_out = False
        arg, area = _scratch.area
        count = _BIO_read(self._c_wbio, arg, _SCRATCH_SIZE)  # <= 0: nothing buffered
        if count < _BIG:
            self._drained = True
            return area[:count] if count > 0 else b""
        self._keep_buffers()
        self._big_out = _new_bytes is not None
        if count < _SCRATCH_SIZE:
            self._drained = True
            return area[:count]
        return area[:count] + self._outgoing_part(-1)  # more than one scratch-full

    def _outgoing_part(self, left):
        """At most *left* bytes of the output (all of it if *left* < 0), a scratch-full at a time."""
        arg, area = _scratch.area
        chunks = []
        while left:
            size = _SCRATCH_SIZE if left < 0 or left > _SCRATCH_SIZE else left
            count = _BIO_read(self._c_wbio, arg, size)
            if count <= 0:
                self._drained = True
                break
            chunks.append(area[:count])
            if count < size:
                self._drained = True
                break
            if left > 0:
                left -= count
        return b"".join(chunks)

    def _peek_outgoing(self, amt):
        if self._state is State.CLOSED:
            return b""
        pointer = c_void_p()
        size = lib.BIO_ctrl(self._wbio, L.BIO_CTRL_INFO, 0, byref(pointer))
        if size <= 0 or not pointer.value:
            return b""
        return ctypes.string_at(pointer.value, min(size, amt))

    def incoming_bytes_buffered(self):
        return 0 if self._state is State.CLOSED else int(lib.BIO_ctrl_pending(self._rbio))

    def outgoing_bytes_buffered(self):
        if self._drained or self._state is State.CLOSED:
            return 0
        return int(lib.BIO_ctrl_pending(self._wbio))

    # --- what was negotiated -------------------------------------------------------------------------------
    def _established(self):
        return self._state not in (State.HANDSHAKING, State.CLOSED)

    def cipher(self):
        if not self._established():
            return None
        cipher = lib.SSL_get_current_cipher(self._ssl_ptr)
        if not cipher:
            return None
        return cipher_suite_or_int(cipher_protocol_id(cipher))

    def negotiated_protocol(self):
        if not self._established():
            return None
        data, size = c_void_p(), c_uint()
        lib.SSL_get0_alpn_selected(self._ssl_ptr, byref(data), byref(size))
        if not size.value:
            return None
        return next_protocol_or_bytes(ctypes.string_at(data.value, size.value))

    @property
    def negotiated_tls_version(self):
        if not self._established():
            return None
        return _VERSIONS.get(lib.SSL_version(self._ssl_ptr))

    def _negotiated_group(self):
        """The key-exchange group of the handshake (for ``python -m nativetls``), or None: see
        ``_lowlevel.negotiated_group``."""
        if not self._established():
            return None
        return _lowlevel.negotiated_group(self._ssl_ptr)

    @property
    def context(self):
        return self._context

    @property
    def server_hostname(self):
        """The name the server certificate was checked against (A-label or IP), or None."""
        return self._host

    def getpeercertchain(self):
        if self._state is State.CLOSED:
            return None
        ssl = self._ssl_ptr
        chain = [x509_to_der(x509) for x509 in stack_items(lib.SSL_get_peer_cert_chain(ssl))]
        if self._server:  # the server side's stack leaves the client's leaf out
            leaf = lib.SSL_get1_peer_certificate(ssl)
            if leaf:
                try:
                    chain.insert(0, x509_to_der(leaf))
                finally:
                    lib.X509_free(leaf)
        return chain or None

    @property
    def session(self):
        if not self._established() or self._server:
            return None
        ptr = lib.SSL_get1_session(self._ssl_ptr)
        if not ptr:
            return None
        if lib.SSL_SESSION_is_resumable is not None and not lib.SSL_SESSION_is_resumable(ptr):
            lib.SSL_SESSION_free(ptr)
            return None
        copy = _session_copy(ptr)
        if copy:
            lib.SSL_SESSION_free(ptr)
        return OpenSSLSession(copy or ptr)

    @property
    def session_reused(self):
        return self._established() and session_reused(self._ssl_ptr)

    @property
    def state(self):
        """The connection's :class:`State` name (for diagnostics and tests)."""
        return self._state

    def close(self):
        if self._state is State.CLOSED:
            return
        self._state = State.CLOSED
        _live.pop(self._ssl_ptr, None)
        lib.SSL_free(self._ssl_ptr)  # frees the BIOs with it

    def __del__(self):
        try:
            if getattr(self, "_ssl_ptr", None):  # __init__ may have failed before SSL_new
                self.close()
        except Exception:  # interpreter shutdown: the library may already be gone
            pass


class DirectOpenSSLBuffer(OpenSSLBuffer):
    """The buffer of a TLSSocket doing direct I/O (see ``OpenSSLBuffer._attach_socket``): libssl reads and writes
    the socket itself, so the network side of the TLSBuffer is closed.

    ``process_incoming`` raises TLSError, ``process_outgoing`` and the byte counts answer "nothing"; the TLS side
    (``do_handshake``, ``read``, ``write``, ``shutdown``) and every accessor work as on any buffer, with
    WantReadError/WantWriteError meaning that the socket would block. A failed ``read``/``write`` of the socket
    is raised as the OSError the socket call would have raised.
    """

    __slots__ = ()

    def _transport_error(self, error, errors):
        if error == L.SSL_ERROR_SYSCALL:
            code = ctypes.get_errno()  # of the SSL_* call just made (use_errno)
            if code and code not in (_errno.EAGAIN, _errno.EWOULDBLOCK, _errno.EINTR):
                raise _socket.error(code, os.strerror(code))
            if not errors:  # OpenSSL 1.1.1: the socket reached end of file
                self._eof = True
        elif errors and _is_eof(errors[-1][0]):  # 3.0: SSL_R_UNEXPECTED_EOF_WHILE_READING
            self._eof = True

    def shutdown(self):
        """Send close_notify on the socket. WantWriteError: the socket is full; call again once it is writable."""
        if self._state in (State.LOCAL_CLOSED, State.BOTH_CLOSED) and not self._unsent_alert:
            return
        if self._state is State.HANDSHAKING:
            raise TLSError("cannot shut down before the handshake has completed")
        if self._state not in (State.LOCAL_CLOSED, State.BOTH_CLOSED):
            self._check_usable()
        lib.ERR_clear_error()
        self._want_read = self._ended = self._drained = False
        result = _SSL_shutdown(self._c_ssl)  # a second call only dispatches the pending alert (ssl3_shutdown)
        self._move("sent_close")
        self._unsent_alert = False
        if result < 0:
            error, errors = _get_error(self._ssl_ptr, result, _WANT)
            if error == L.SSL_ERROR_WANT_WRITE:
                self._unsent_alert = True
                raise WantWriteError("close_notify is not sent yet: call shutdown() again when the socket is "
                                     "writable")
            if error != L.SSL_ERROR_WANT_READ:
                self._transport_error(error, errors)
                self._fail(TLSError("TLS shutdown failed: %s" % "; ".join(t for _c, t in errors),
                                    native_code=errors[-1][0] if errors else None))

    def process_incoming(self, data):
        raise TLSError("this TLSBuffer reads its socket itself (TLSSocket direct I/O): it takes no incoming bytes")

    def process_outgoing(self, amt=None):
        return b""

    def _peek_outgoing(self, amt):
        return b""

    def incoming_bytes_buffered(self):
        return 0

    def outgoing_bytes_buffered(self):
        return 0


def _to_bytes(data):
    """bytes from any buffer (``bytes(memoryview)`` is its repr on Python 2)."""
    return data.tobytes() if isinstance(data, memoryview) else bytes(data)


def _get_error(ssl, result, settled):
    """``(SSL_get_error(ssl, result), drained error queue)`` for a call that returned *result* <= 0.

    Operations are not preceded by ERR_clear_error (a native call saved on every read, write and handshake step).
    SSL_get_error answers SSL_ERROR_SSL or SSL_ERROR_SYSCALL whenever the queue holds anything, this call's errors
    or an earlier call's leftovers; so on those answers the queue is drained and the question asked again of the
    empty queue. If the answer then is one of *settled* (WANT_READ/WANT_WRITE, and ZERO_RETURN for reads: states
    libssl reaches only without failing), the entries were leftovers and are dropped; otherwise the call failed
    and every entry is returned (newest last). Either way the queue is left empty.
    """
    error = lib.SSL_get_error(ssl, result)
    if error != L.SSL_ERROR_SSL and error != L.SSL_ERROR_SYSCALL:
        return error, []
    errors = drain_errors()
    if errors:
        again = lib.SSL_get_error(ssl, result)
        if again in settled and not (again == L.SSL_ERROR_ZERO_RETURN and _received_alert(errors)):
            return again, []
    return error, errors


_ALERT_REASON_OFFSET = 1000  # ssl.h SSL_AD_REASON_OFFSET: a received alert is queued as reason 1000 + its code


def _received_alert(errors):
    """Whether *errors* record a fatal alert from the peer.

    libssl notes a received fatal alert as SSL_RECEIVED_SHUTDOWN with ``warn_alert`` still 0, which is
    close_notify's code, so SSL_get_error on the emptied queue answers ZERO_RETURN: without this check a fatal
    alert (e.g. TLS 1.3's certificate_required after the client's handshake) would read as a clean close.
    """
    return any(error_lib(code) == L.ERR_LIB_SSL and
               _ALERT_REASON_OFFSET <= error_reason(code) < _ALERT_REASON_OFFSET + 256 for code, _text in errors)


def _session_copy(ptr):
    """A private copy of an SSL_SESSION (the caller frees it), or None where SSL_SESSION_dup is absent or failed.

    libssl marks a session not resumable when a connection holding it is freed without having sent close_notify
    (``ssl_clear_bad_session``), even in TLS 1.2+ where RFC 5246 no longer asks for that. A TLSSession therefore
    never shares its SSL_SESSION with a connection: it copies on the way out (``.session``) and on the way in
    (``session=``), as CPython's ssl module does (there by DER round trip; SSL_SESSION_dup, 1.1.1+, is cheaper).
    Without SSL_SESSION_dup the session is shared.
    """
    return lib.SSL_SESSION_dup(ptr) if lib.SSL_SESSION_dup is not None else None


# TLS alert descriptions (IANA TLS Alerts registry), for libssl's "alert received" reasons: 1.1.1 has no text for
# some of them ("reason(1120)"), and one wording on every version reads better.
_ALERTS = {
    0: "close notify", 10: "unexpected message", 20: "bad record mac", 21: "decryption failed",
    22: "record overflow", 30: "decompression failure", 40: "handshake failure", 41: "no certificate",
    42: "bad certificate", 43: "unsupported certificate", 44: "certificate revoked", 45: "certificate expired",
    46: "certificate unknown", 47: "illegal parameter", 48: "unknown ca", 49: "access denied", 50: "decode error",
    51: "decrypt error", 60: "export restriction", 70: "protocol version", 71: "insufficient security",
    80: "internal error", 86: "inappropriate fallback", 90: "user canceled", 100: "no renegotiation",
    109: "missing extension", 110: "unsupported extension", 111: "certificate unobtainable",
    112: "unrecognized name", 113: "bad certificate status response", 114: "bad certificate hash value",
    115: "unknown psk identity", 116: "certificate required", 120: "no application protocol",
}


def _reason(code):
    """The words for an OpenSSL error code; a fatal alert from the peer is named as such."""
    reason = error_reason(code)
    if error_lib(code) == L.ERR_LIB_SSL and _ALERT_REASON_OFFSET <= reason < _ALERT_REASON_OFFSET + 256:
        alert = reason - _ALERT_REASON_OFFSET
        return "the peer sent a fatal alert: %s (%d)" % (_ALERTS.get(alert, "unknown alert"), alert)
    text = lib.ERR_reason_error_string(code)
    return text.decode("ascii", "replace") if text else None


def _is_eof(code):
    """Whether an error code says "the transport ended without close_notify" (OpenSSL 3.0+)."""
    return error_lib(code) == L.ERR_LIB_SSL and error_reason(code) == L.SSL_R_UNEXPECTED_EOF_WHILE_READING


# --- Native callbacks (installed by _context). They must never raise into libssl.

def _buffer_for(ssl):
    ref = _live.get(ssl)
    return ref() if ref is not None else None


def on_servername(ssl, alert):
    """SNI: pick the configuration (sni_callback) and the certificate chain for this connection."""
    buffer = _buffer_for(ssl)
    if buffer is None:
        return L.SSL_TLSEXT_ERR_OK
    try:
        raw = lib.SSL_get_servername(ssl, L.TLSEXT_NAMETYPE_host_name)
        ascii_name = raw.decode("ascii") if raw else None
        context = buffer._context
        configuration = run_sni_callback(buffer, ascii_name, context.configuration)
        native = context._natives_for(configuration).select(ascii_name)
        if native is not buffer._native:
            lib.SSL_set_SSL_CTX(ssl, native.ptr)
            from ._context import verify_callback
            lib.SSL_set_verify(ssl, native.verify_mode, verify_callback(native.verify_mode))
            buffer._native = native
        return L.SSL_TLSEXT_ERR_OK
    except BaseException as exc:  # stored, and re-raised by the handshake call
        buffer._callback_error = exc
        alert[0] = L.SSL_AD_INTERNAL_ERROR
        return L.SSL_TLSEXT_ERR_ALERT_FATAL


_REFUSED_CONTEXT = b"nativetls-renegotiation-refused"


def on_info(ssl):
    """Before 1.1.0h (no ``SSL_OP_NO_RENEGOTIATION``): a handshake is starting; refuse it if it is a renegotiation.

    The info callback cannot fail the handshake, so it makes libssl refuse it: a server's SSL gets a session ID
    context no session has (no resumption) and only PSK suites, which libssl never picks without a PSK callback
    (none is set), so the renegotiating ClientHello fails with "no shared cipher" and a fatal handshake_failure
    alert, before any of our handshake messages is sent. A client's SSL, asked by a HelloRequest, then has no
    suite to offer and fails without sending a ClientHello. nginx (``ngx_ssl_info_callback``) notices
    renegotiation the same way; it then drops the connection after the call, by which time a 1.0.2 server has
    already answered with its ServerHello. The buffer, seeing ``_renegotiation``, fails the connection with a
    TLSError that says why (``_read_failed``).
    """
    buffer = None
    try:
        buffer = _buffer_for(ssl)
        if buffer is None or buffer._state is State.HANDSHAKING:  # the first handshake
            return
        buffer._renegotiation = True
        if buffer._server:
            lib.SSL_set_session_id_context(ssl, _REFUSED_CONTEXT, len(_REFUSED_CONTEXT))
        if lib.SSL_set_cipher_list(ssl, b"PSK") != 1:
            raise TLSError("libssl has no PSK cipher suites, so the renegotiation could not be refused")
    except BaseException as exc:  # never raise into libssl: stored, and the cause of the read's TLSError
        if buffer is not None:
            buffer._callback_error = exc


def on_verify(preverify_ok, store_ctx):
    """Verify callback: keep the verdict, remember the certificate at fault (the peer's chain is not kept on a
    failed handshake before OpenSSL 3.0, and the message names that certificate's dates). On 1.0.2 it also
    applies what 1.1.0+ check themselves, and before 3.0 X509_STRICT's empty-SAN rule (``_verify.policy_error``)."""
    if preverify_ok and _verify.NEEDS_POLICY_CHECKS:
        try:
            buffer = _buffer_for(lib.X509_STORE_CTX_get_ex_data(store_ctx, lib.SSL_get_ex_data_X509_STORE_CTX_idx()))
            code = (policy_error(store_ctx, buffer._native.security_level, buffer._host, buffer._policy)
                    if buffer is not None else 0)
        except BaseException:  # never raise into libssl
            code = L.X509_V_ERR_CERT_REJECTED
        if code:
            lib.X509_STORE_CTX_set_error(store_ctx, code)
            preverify_ok = 0
    if not preverify_ok:
        try:
            ssl = lib.X509_STORE_CTX_get_ex_data(store_ctx, lib.SSL_get_ex_data_X509_STORE_CTX_idx())
            buffer = _buffer_for(ssl)
            cert = lib.X509_STORE_CTX_get_current_cert(store_ctx)
            if buffer is not None and cert and len(buffer._rejected) < 10:
                buffer._rejected.append(x509_to_der(cert))
        except BaseException:  # never raise into libssl; the message merely loses its detail
            pass
    return preverify_ok


def on_alpn_select(ssl, out, outlen, client, client_len):
    """ALPN on a server: the first of our protocols that the client offers; none in common means no ALPN."""
    buffer = _buffer_for(ssl)
    if buffer is None or not buffer._native.alpn:
        return L.SSL_TLSEXT_ERR_NOACK
    offered = ctypes.string_at(client, client_len)
    positions = {}
    index = 0
    while index < len(offered):
        length = bytearray(offered[index:index + 1])[0]
        positions.setdefault(offered[index + 1:index + 1 + length], index + 1)
        index += 1 + length
    for proto in buffer._native.alpn:
        if proto in positions:
            out[0] = client + positions[proto]
            outlen[0] = len(proto)
            return L.SSL_TLSEXT_ERR_OK
    return L.SSL_TLSEXT_ERR_NOACK

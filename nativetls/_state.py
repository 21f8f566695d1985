# -*- coding: utf-8 -*-
"""What every backend's TLSBuffer shares: the connection states and their transitions, and the close protocol of
objects that own native resources.

States, and the events that move between them (``TRANSITIONS``)::

    HANDSHAKING --handshake_done--> OPEN --sent_close--> LOCAL_CLOSED --received_close--> BOTH_CLOSED
                                    OPEN --received_close--> REMOTE_CLOSED --sent_close--> BOTH_CLOSED
    any --failed--> FAILED          any --closed--> CLOSED

An event with no entry for the current state leaves it unchanged (a second close_notify, say); FAILED and
CLOSED are set directly, from any state.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from ._compat import raise_from
from ._errors import TLSError

__all__ = ["State", "TRANSITIONS", "READABLE", "WRITABLE", "next_state", "StateKeeping", "QueuedTransport", "Closeable"]


class State(object):
    """The states of a TLS connection."""
    HANDSHAKING = "HANDSHAKING"
    OPEN = "OPEN"
    LOCAL_CLOSED = "LOCAL_CLOSED"  # our close_notify is queued; still reading until the peer's
    REMOTE_CLOSED = "REMOTE_CLOSED"  # the peer's close_notify arrived; reads return b""
    BOTH_CLOSED = "BOTH_CLOSED"
    FAILED = "FAILED"
    CLOSED = "CLOSED"


TRANSITIONS = {
    (State.HANDSHAKING, "handshake_done"): State.OPEN,
    (State.OPEN, "sent_close"): State.LOCAL_CLOSED,
    (State.OPEN, "received_close"): State.REMOTE_CLOSED,
    (State.LOCAL_CLOSED, "received_close"): State.BOTH_CLOSED,
    (State.REMOTE_CLOSED, "sent_close"): State.BOTH_CLOSED,
}

#: States in which application data may still arrive, and in which we may still send it.
READABLE = frozenset([State.OPEN, State.LOCAL_CLOSED])
WRITABLE = frozenset([State.OPEN, State.REMOTE_CLOSED])


def next_state(state, event):
    """The state after *event* in *state* (unchanged when the table has no entry)."""
    return TRANSITIONS.get((state, event), state)


class StateKeeping(object):
    """The state bookkeeping every backend's TLSBuffer shares, mixed in before ``TLSBuffer``: the buffer keeps its
    state in ``_state`` and, once FAILED, the error that failed it in ``_failure`` (slots of its own class)."""

    __slots__ = ()

    def _move(self, event):
        """Apply *event* (see ``TRANSITIONS``)."""
        self._state = next_state(self._state, event)

    def _check_usable(self):
        """Raise TLSError if the buffer is CLOSED or FAILED (naming the earlier failure)."""
        if self._state is State.CLOSED:
            raise TLSError("this TLSBuffer has been closed")
        if self._state is State.FAILED:
            raise TLSError("the connection has failed earlier: %s" % (self._failure,))

    def _fail(self, exc, cause=None):
        """Move to FAILED, keep *exc* for later calls, and raise it (chained to *cause* when given)."""
        self._state = State.FAILED
        self._failure = exc
        if cause is not None:
            raise_from(exc, cause)
        raise exc


class QueuedTransport(object):
    """The network side of a TLSBuffer whose native library reads and writes through queues of our own
    (SChannel's SecBuffers, SecureTransport's I/O callbacks): ``_incoming`` and ``_outgoing`` are bytearrays and
    ``_eof`` says the transport has ended (slots of the buffer's own class). Mixed in before ``TLSBuffer``."""

    __slots__ = ()

    def process_incoming(self, data):
        if self._state is State.CLOSED:
            raise TLSError("this TLSBuffer has been closed")
        if not data:
            self._eof = True
            return
        if self._eof:
            raise TLSError("data received after the transport's end of file")
        self._incoming += data

    def process_outgoing(self, amt=None):
        size = len(self._outgoing) if amt is None or amt < 0 else min(amt, len(self._outgoing))
        data = bytes(self._outgoing[:size])
        del self._outgoing[:size]
        return data

    def _peek_outgoing(self, amt):
        return bytes(self._outgoing[:amt])

    def incoming_bytes_buffered(self):
        return len(self._incoming)

    def outgoing_bytes_buffered(self):
        return len(self._outgoing)


class Closeable(object):
    """The close protocol of an object owning native resources: ``close()`` (idempotent, provided by the
    subclass), context-manager support, and a ``__del__`` safety net that never raises."""

    __slots__ = ()

    def close(self):
        """Free the native resources now (idempotent)."""
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the native library may already be gone
            pass

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

__all__ = ["State", "TRANSITIONS", "READABLE", "WRITABLE", "next_state", "Closeable"]


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

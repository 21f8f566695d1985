# -*- coding: utf-8 -*-
"""nativetls for urllib3 and requests (urllib3 1.26 and 2.x, and pip's vendored copy), strictly opt-in.

Two ways in, neither done at import time:

* Per pool, without touching urllib3: pass a :class:`NativeTLSContext` (an ``ssl.SSLContext`` subclass, so
  also usable with asyncio, aiohttp, httpx, websockets and ``http.client``) as ``ssl_context=``::

      import urllib3
      from nativetls.contrib.urllib3 import NativeTLSContext
      ctx = NativeTLSContext()
      ctx.load_verify_locations("ca.pem")            # or nothing: the system trust store
      http = urllib3.PoolManager(ssl_context=ctx)

  or, with requests, from an ``HTTPAdapter`` subclass whose ``init_poolmanager`` passes ``ssl_context=ctx``.

* Process-wide: ``inject_into_urllib3()`` makes every *new* connection of ``urllib3`` (and of
  ``pip._vendor.urllib3`` when pip is installed) that has no ``ssl_context`` of its own use nativetls;
  ``extract_from_urllib3()`` puts back exactly what was there. This is how urllib3's own ``contrib.pyopenssl`` and
  ``contrib.securetransport`` work: they replace ``urllib3.util.ssl_.SSLContext``.

On a Python without an ``ssl`` module urllib3 disables HTTPS (its ``HTTPSConnection`` becomes a
``DummyConnection``) and reads ``ssl.CERT_REQUIRED`` and friends from a module it could not import. Injection then
also restores urllib3's real ``HTTPSConnection`` and gives urllib3 a stand-in for the constants it reads
(``_sslcompat.ssl_stand_in``), and makes urllib3's ``BaseSSLError`` our :class:`NativeTLSError`, so that TLS
failures are reported as ``SSLError``. ``import ssl`` keeps failing: nothing is added to ``sys.modules``.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import gc
import importlib
import sys
import threading

from ._sslcompat import (CERT_REQUIRED, NativeTLSCertificateError, NativeTLSContext, NativeTLSEOFError,
                         NativeTLSError, NativeTLSSocket, NativeTLSWantReadError, NativeTLSWantWriteError,
                         NativeTLSZeroReturnError, TLSVersion, ssl_stand_in)
from ._sslobject import NativeTLSObject

__all__ = [str(name) for name in (
    "inject_into_urllib3", "extract_from_urllib3", "NativeTLSContext", "NativeTLSSocket", "NativeTLSError",
    "NativeTLSCertificateError", "NativeTLSEOFError", "NativeTLSWantReadError", "NativeTLSWantWriteError",
    "NativeTLSZeroReturnError", "NativeTLSObject", "is_injected", "prepare", "DEFAULT_TARGETS",
)]

#: The urllib3 packages ``inject_into_urllib3()`` patches, each when it can be imported.
DEFAULT_TARGETS = ("urllib3", "pip._vendor.urllib3")

_MISSING = object()
_lock = threading.Lock()
_saved = {}  # target package name -> [(module, attribute, original value or _MISSING)] in patch order
_https_classes = {}  # urllib3 connection module name -> its real HTTPSConnection class


def _remember_https_connection(connection):
    for cls in connection.HTTPConnection.__subclasses__():
        if cls.__name__ == "HTTPSConnection" and cls.__module__ == connection.__name__:
            _https_classes[connection.__name__] = cls


def _import_connection_module(package):
    """Import *package*.connection, keeping its HTTPSConnection class alive on a Python without ssl.

    Without ssl, urllib3 rebinds ``HTTPSConnection = DummyConnection`` right after defining the class; the class
    then lives only in a reference cycle and the next garbage collection frees it. Importing with the cyclic
    collector paused lets us take a reference first (``HTTPConnection.__subclasses__()`` still lists it).
    """
    name = package + ".connection"
    if name in sys.modules:
        module = sys.modules[name]
    else:
        enabled = gc.isenabled()
        gc.disable()
        try:
            module = importlib.import_module(name)
            _remember_https_connection(module)
        finally:
            if enabled:
                gc.enable()
    if name not in _https_classes:
        _remember_https_connection(module)  # imported earlier: works unless the class was collected already
    return module


def prepare(package="urllib3"):
    """Import urllib3 package *package* so that :func:`inject_into_urllib3` can later enable HTTPS in it even on
    a Python without an ``ssl`` module. Patches nothing. Needed only there, and only when urllib3 would otherwise be
    imported (by requests, pip, ...) before the injection.

    Raises:
        ImportError: *package* cannot be imported.
    """
    _import_connection_module(package)


def _real_https_connection(connection):
    """urllib3's HTTPSConnection class, also when the module replaced the name with DummyConnection (no ssl)."""
    current = getattr(connection, "HTTPSConnection", None)
    if current is not None and current is not getattr(connection, "DummyConnection", None):
        return current
    if connection.__name__ in _https_classes:
        return _https_classes[connection.__name__]
    raise ImportError("%s was imported before nativetls could keep its HTTPSConnection class (this Python has no "
                      "ssl module): call nativetls.contrib.urllib3.prepare() or inject_into_urllib3() before "
                      "importing urllib3, requests or pip" % connection.__name__)


def _patches(package):
    """The (module, attribute, new value) triples that make urllib3 package *package* use nativetls."""
    connection = _import_connection_module(package)
    util = importlib.import_module(package + ".util")
    ssl_ = importlib.import_module(package + ".util.ssl_")
    connectionpool = importlib.import_module(package + ".connectionpool")
    response = importlib.import_module(package + ".response")
    patches = [(util, "SSLContext", NativeTLSContext), (ssl_, "SSLContext", NativeTLSContext)]
    for module in (util, ssl_):
        if hasattr(module, "HAS_SNI"):  # urllib3 1.26: without it, no SNI and a warning per request
            patches.append((module, "HAS_SNI", True))
    if getattr(connection, "ssl", None) is None:  # a Python without an ssl module: see the module docstring
        https = _real_https_connection(connection)
        patches += [
            (connection, "ssl", ssl_stand_in), (ssl_, "ssl", ssl_stand_in), (ssl_, "CERT_REQUIRED", CERT_REQUIRED),
            (connectionpool.HTTPSConnectionPool, "ConnectionCls", https),
        ]
        dummy = connection.DummyConnection
        for name, module in sorted(sys.modules.items()):  # every "from .connection import HTTPSConnection"
            if module is not None and (name == package or name.startswith(package + ".")):
                for attribute in ("HTTPSConnection", "VerifiedHTTPSConnection"):
                    if vars(module).get(attribute) is dummy:
                        patches.append((module, attribute, https))
        if not hasattr(ssl_, "TLSVersion") or getattr(ssl_, "TLSVersion") is None:
            patches.append((ssl_, "TLSVersion", TLSVersion))  # urllib3 2.x sets minimum_version = TLSVersion.X
        for module in (connection, connectionpool, response):
            base = getattr(module, "BaseSSLError", None)
            if base is not None and not issubclass(NativeTLSError, base):
                patches.append((module, "BaseSSLError", NativeTLSError))
    return patches


def _importable(package):
    try:
        _import_connection_module(package)
        return True
    except ImportError:
        return False


def inject_into_urllib3(targets=None):
    """Make new urllib3 connections without an ``ssl_context`` of their own use nativetls.

    Args:
        targets: names of urllib3 packages to patch; default :data:`DEFAULT_TARGETS` (``urllib3`` and
            ``pip._vendor.urllib3``), each skipped when it cannot be imported. A name given explicitly must import.

    Idempotent; undo with :func:`extract_from_urllib3`.

    Raises:
        ImportError: an explicitly named target cannot be imported, or none of the default ones can.
    """
    explicit = targets is not None
    names = list(DEFAULT_TARGETS if targets is None else targets)
    with _lock:
        done = 0
        for package in names:
            if package in _saved:
                done += 1
                continue
            if not explicit and not _importable(package):
                continue
            saved = []
            try:
                for module, name, value in _patches(package):
                    saved.append((module, name, vars(module).get(name, _MISSING)))
                    setattr(module, name, value)
            except BaseException:
                _restore(saved)
                raise
            _saved[package] = saved
            done += 1
        if not done:
            raise ImportError("urllib3 is not installed (tried %s)" % ", ".join(names))


def _restore(saved):
    for module, name, original in reversed(saved):
        if original is _MISSING:
            try:
                delattr(module, name)
            except AttributeError:
                pass
        else:
            setattr(module, name, original)


def extract_from_urllib3(targets=None):
    """Undo :func:`inject_into_urllib3` for *targets* (default: every injected package), restoring exactly the
    values that were there. Connections already made keep their nativetls sockets."""
    with _lock:
        for package in list(_saved if targets is None else targets):
            saved = _saved.pop(package, None)
            if saved is not None:
                _restore(saved)


def is_injected(package="urllib3"):
    """Whether :func:`inject_into_urllib3` is in effect for the urllib3 package *package*."""
    with _lock:
        return package in _saved

"""The SecureTransport double (tests/mac/double/*.c): built with gcc at test time, loaded by the macOS backend
through its test-only override ``NATIVETLS_MAC_FRAMEWORKS``.

The double is one shared library exporting the subset of Security.framework and CoreFoundation the backend
calls, with Apple's C signatures, implemented over the system OpenSSL (libssl-dev headers). It reproduces
SecureTransport's behaviour as read from Apple's open-source code (MACOS.md points 1-12, cited in the C
comments); it tests our plumbing and our reading of Apple's semantics, not Apple's binary.

    build()          the path of the built library (cached under .cache/securetransport-double/<source hash>/)
    load()           a ctypes handle on it, with the counters' prototypes set
    Counters         live CF objects, over-releases, keychain files left: ``snapshot()`` / ``check_clean()``
    enable()         build and set NATIVETLS_MAC_FRAMEWORKS (what the macdouble tox env does at start-up)
    nothing_left()   around a test of the backend: no temporary keychain left and, through the double's counters
                     (when the backend runs on it), no CF object leaked or over-released, no keychain file left,
                     no password prompt, no import into the user's default keychain

Nothing here imports nativetls at import time (``nothing_left`` does when used).
"""
from __future__ import absolute_import, division, print_function

import contextlib
import ctypes
import gc
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.join(HERE, "mac", "double")
CACHE_DIR = os.path.join(os.path.dirname(HERE), ".cache", "securetransport-double")
LIBRARY_NAME = "libsecurity_double.so"
OVERRIDE_VARIABLE = "NATIVETLS_MAC_FRAMEWORKS"
#: Set (to 1) by the macdouble tox env: the whole session runs with the double as the macOS frameworks.
SESSION_VARIABLE = "NATIVETLS_TEST_MAC_DOUBLE"

CFLAGS = ["-shared", "-fPIC", "-O1", "-g", "-Wall", "-Werror", "-D_GNU_SOURCE"]
LIBS = ["-lssl", "-lcrypto", "-lpthread"]


class DoubleUnavailable(Exception):
    """The double cannot be built here (no gcc, no OpenSSL headers); the message says what is missing."""


def sources():
    """The C and header files of the double, sorted."""
    return sorted(os.path.join(SOURCE_DIR, name) for name in os.listdir(SOURCE_DIR)
                  if name.endswith((".c", ".h")))


def _digest():
    digest = hashlib.sha256()
    for path in sources():
        digest.update(os.path.basename(path).encode("ascii"))
        with open(path, "rb") as handle:
            digest.update(handle.read())
    digest.update(" ".join(CFLAGS + LIBS).encode("ascii"))
    return digest.hexdigest()[:16]


def build():
    """Compile the double (once per source hash) and return the library's absolute path.

    Raises:
        DoubleUnavailable: gcc or the OpenSSL headers are missing, or the compiler failed (its output attached).
    """
    directory = os.path.join(CACHE_DIR, _digest())
    target = os.path.join(directory, LIBRARY_NAME)
    if os.path.exists(target):
        return target
    if not os.path.exists("/usr/include/openssl/ssl.h"):
        raise DoubleUnavailable("the SecureTransport double needs OpenSSL's headers (apt-get install libssl-dev)")
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory)
        except OSError:
            if not os.path.isdir(directory):
                raise
    # Build beside the target and rename: parallel pytest-xdist workers may build at once.
    fd, temporary = tempfile.mkstemp(suffix=".so", dir=directory)
    os.close(fd)
    command = ["gcc"] + CFLAGS + ["-o", temporary] + [p for p in sources() if p.endswith(".c")] + LIBS
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as exc:
        os.unlink(temporary)
        raise DoubleUnavailable("the SecureTransport double needs gcc: %s" % exc)
    output = process.communicate()[0]
    if process.returncode != 0:
        os.unlink(temporary)
        raise DoubleUnavailable("building the SecureTransport double failed:\n%s\n%s"
                                % (" ".join(command), output.decode("utf-8", "replace")))
    os.rename(temporary, target)
    return target


_HANDLE = []


def load():
    """A ctypes handle on the built double (the same library the backend loads: dlopen shares it)."""
    if not _HANDLE:
        dll = ctypes.CDLL(build(), mode=getattr(ctypes, "RTLD_GLOBAL", 0))
        for name in ("double_live_objects", "double_total_created", "double_overreleases",
                     "double_keychain_files", "double_keychain_prompts", "double_session_cache_size",
                     "double_session_cache_hits"):
            getattr(dll, name).restype = ctypes.c_long
            getattr(dll, name).argtypes = []
        dll.double_live_of_type.restype = ctypes.c_long
        dll.double_live_of_type.argtypes = [ctypes.c_ulong]
        dll.double_keychain_path.restype = ctypes.c_char_p
        dll.double_keychain_path.argtypes = [ctypes.c_long]
        dll.double_dump_live.restype = None
        dll.double_dump_live.argtypes = []
        _HANDLE.append(dll)
    return _HANDLE[0]


def enable():
    """Build the double and point the backend at it (``NATIVETLS_MAC_FRAMEWORKS``); returns the path."""
    path = build()
    os.environ[OVERRIDE_VARIABLE] = path
    return path


class Counters(object):
    """The double's leak counters, read through ctypes.

    ``snapshot()`` before a test and ``check_clean(before)`` after it: no CF object created in between is still
    alive, none was over-released, and no keychain file is left on disk.
    """

    def __init__(self, dll=None):
        self.dll = dll or load()

    def live(self):
        """CF objects alive now."""
        return self.dll.double_live_objects()

    def overreleases(self):
        """CFRelease/CFRetain calls on objects already released to zero, since load."""
        return self.dll.double_overreleases()

    def keychain_files(self):
        """Paths of keychain files created by SecKeychainCreate that still exist."""
        paths = []
        while True:
            path = self.dll.double_keychain_path(len(paths))
            if path is None:
                return paths
            paths.append(path.decode("utf-8", "replace"))

    def snapshot(self):
        """(live objects, over-releases, keychain files) now."""
        return (self.live(), self.overreleases(), tuple(self.keychain_files()))

    def leaks_since(self, before):
        """A description of what leaked since *before* (a snapshot), or None when clean."""
        live, over, files = self.snapshot()
        problems = []
        if live > before[0]:
            problems.append("%d CF object(s) leaked" % (live - before[0]))
        if over > before[1]:
            problems.append("%d over-release(s)" % (over - before[1]))
        left = sorted(set(files) - set(before[2]))
        if left:
            problems.append("keychain file(s) left: %s" % ", ".join(left))
        if problems and live > before[0]:
            sys.stderr.flush()
            self.dll.double_dump_live()
        return "; ".join(problems) or None

    def check_clean(self, before):
        """Raise AssertionError when anything leaked since *before*."""
        problem = self.leaks_since(before)
        if problem:
            raise AssertionError("SecureTransport double: " + problem)


def remove_cache():
    """Delete every cached build (tests never need this; for a developer changing compilers)."""
    shutil.rmtree(CACHE_DIR, ignore_errors=True)


_COUNTS = ("double_live_objects", "double_overreleases", "double_keychain_files", "double_keychain_prompts",
           "double_default_keychain_imports")


def _counts():
    """The double's counters by name, or None when the backend runs on the real frameworks (no double named)."""
    path = os.environ.get(OVERRIDE_VARIABLE) or None
    if not path or sys.platform == "darwin":
        return None
    lib = ctypes.CDLL(str(path))
    values = []
    for name in _COUNTS:
        function = getattr(lib, name)
        function.restype, function.argtypes = ctypes.c_long, []
        values.append(function())
    return dict(zip(_COUNTS, values))


def _keychain_dirs():
    """Keychain directories this process made that still exist (another xdist worker's are not ours)."""
    from nativetls._mac._keychain import created_directories
    return set(d for d in created_directories() if os.path.exists(d))


@contextlib.contextmanager
def nothing_left():
    """Around a test (a fixture's ``yield``): once its objects are gone, no temporary keychain (directory) is left
    and, through the double's counters, no CF object leaked or was over-released, no keychain file is left, no
    keychain would have prompted the user and nothing was imported into the user's default keychain."""
    gc.collect()
    before, counters = _keychain_dirs(), _counts()
    yield
    gc.collect()
    left = _keychain_dirs() - before
    assert not left, "temporary keychains left behind: %s" % sorted(left)
    after = _counts()
    if counters is not None:
        assert after["double_overreleases"] == counters["double_overreleases"], "a CF object was over-released"
        # <=: objects a failed earlier test's traceback kept alive may be freed during this one
        assert after["double_live_objects"] <= counters["double_live_objects"], "CF objects leaked: %d" % (
            after["double_live_objects"] - counters["double_live_objects"])
        assert after["double_keychain_files"] <= counters["double_keychain_files"], "keychain files left"
        assert after["double_keychain_prompts"] == 0, "a keychain would have prompted the user"
        assert after["double_default_keychain_imports"] == counters["double_default_keychain_imports"], \
            "SecPKCS12Import used the user's default keychain"

# -*- coding: utf-8 -*-
"""Static checks of the SChannel declarations, run on Linux.

1. ABI: C generated from the declaration tables is compiled against the MinGW-w64 Windows headers with
   ``x86_64-w64-mingw32-gcc -fsyntax-only -Werror``:
   - per prototype, the real function is cast to a function-pointer type built from our restype/argtypes
     (``-Wcast-function-type`` compares argument count and integer widths, and pointer vs integer), and called
     through a wrapper taking our types (``-Wconversion -Wsign-conversion`` and pointer checks: narrowing, sign,
     and the pointee structure type for ``POINTER(Structure)``);
   - per structure, ``sizeof`` and each field's ``offsetof`` and size, computed by ctypes here. Our types have the
     same width on Linux and Win64 (pointers 8, DWORD 4, ...), so ctypes on Linux computes the Windows layout;
   - per integer constant, its value.
2. The tables themselves: row shapes, no misspelt attributes, every structure covered.
3. ``nativetls._win`` imports on Linux without loading any DLL, in this tox env's interpreter (py27 and py3 envs).

Without the cross compiler the ABI test is skipped, except under CI (``CI`` set), where it fails: CI installs
``gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev``.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ast
import ctypes
import glob
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import pytest

from nativetls._win import _advapi32, _crypt32, _ncrypt, _secur32, _types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WIN_DIR = os.path.join(ROOT, "nativetls", "_win")
COMPILER = "x86_64-w64-mingw32-gcc"

MODULES = (_secur32, _crypt32, _advapi32, _ncrypt)

# Constants that the MinGW-w64 headers (10.x) do not define, with where each value was checked instead.
NOT_IN_MINGW = {
}

# Constants the SDK defines as ((LPCSTR) n): compared through an integer cast of the pointer.
POINTER_CONSTANTS = frozenset([
    "CERT_STORE_PROV_MEMORY", "CERT_STORE_PROV_SYSTEM_W", "PKCS_RSA_PRIVATE_KEY", "PKCS_PRIVATE_KEY_INFO",
    "X509_ECC_PRIVATE_KEY", "CNG_RSA_PRIVATE_KEY_BLOB", "CERT_CHAIN_POLICY_BASE", "CERT_CHAIN_POLICY_SSL",
])

PRELUDE = """\
#define SECURITY_WIN32
#define SCHANNEL_USE_BLACKLISTS
#include <windows.h>
#include <subauth.h>
#include <sspi.h>
#include <schannel.h>
#include <wincrypt.h>
#include <wininet.h>
#include <ncrypt.h>
#include <stddef.h>
#define NT_UNUSED __attribute__((unused))
"""


def _int_c_type(ctype):
    size = ctypes.sizeof(ctype)
    signed = ctype._type_ in "bhilq"
    names = {1: "char", 2: "short", 4: "int", 8: "long long"}
    return ("" if signed else "unsigned ") + names[size] if size != 1 or not signed else "signed char"


def c_type(ctype, pointee_struct=True):
    """Translate a ctypes type to C. ``POINTER(Structure)`` keeps the SDK structure name; others are ``void *``."""
    if ctype is None:
        return "void"
    if ctype is ctypes.c_void_p:
        return "void *"
    if ctype is ctypes.c_char_p:
        return "char *"
    if ctype is ctypes.c_wchar_p:
        return "wchar_t *"
    if issubclass(ctype, ctypes._Pointer):
        if pointee_struct and issubclass(ctype._type_, ctypes.Structure):
            return "%s *" % ctype._type_.__name__
        return "void *"
    if issubclass(ctype, ctypes._SimpleCData) and ctype._type_ in "bBhHiIlLqQ":
        return _int_c_type(ctype)
    raise TypeError("no C translation for %r" % (ctype,))


def _prototype_c(name, restype, argtypes):
    lines = []
    args = [c_type(t) for t in argtypes] or ["void"]
    res = c_type(restype)
    if res.endswith(" *") and res != "void *":
        res = "const " + res  # PCCERT_CONTEXT and friends: ctypes has no const, and reading needs none
    lines.append("typedef %s (WINAPI *nt_fp_%s)(%s);" % (res, name, ", ".join(args)))
    lines.append("NT_UNUSED static nt_fp_%s nt_cast_%s(void) { return (nt_fp_%s)&%s; }" % (name, name, name, name))
    params = ", ".join("%s a%d" % (t, i) for i, t in enumerate(args)) if argtypes else "void"
    call = "%s(%s)" % (name, ", ".join("a%d" % i for i in range(len(argtypes))))
    body = ("%s;" % call) if restype is None else ("return %s;" % call)
    lines.append("NT_UNUSED static %s nt_call_%s(%s) { %s }" % (res, name, params, body))
    return lines


def _structure_c(struct):
    name = struct.__name__
    lines = ['_Static_assert(sizeof(%s) == %d, "sizeof(%s) is %d in ctypes");'
             % (name, ctypes.sizeof(struct), name, ctypes.sizeof(struct))]
    for field_name, field_type in struct._fields_:
        offset = getattr(struct, field_name).offset
        size = ctypes.sizeof(field_type)
        lines.append('_Static_assert(offsetof(%s, %s) == %d, "offsetof(%s, %s) is %d in ctypes");'
                     % (name, field_name, offset, name, field_name, offset))
        lines.append('_Static_assert(sizeof(((%s *)0)->%s) == %d, "sizeof %s.%s is %d in ctypes");'
                     % (name, field_name, size, name, field_name, size))
    return lines


def constants(module):
    """The module's integer constants: public module-level ints (not bools)."""
    found = {}
    for key, value in vars(module).items():
        if key.startswith("_") or isinstance(value, bool) or not isinstance(value, int):
            continue
        found[key] = value
    return found


def _constant_c(name, value):
    if name in NOT_IN_MINGW:
        return []
    expr = "(long long)(ULONG_PTR)(%s)" % name if name in POINTER_CONSTANTS else "(long long)(%s)" % name
    return ['_Static_assert(%s == %dLL, "%s is %d (0x%X) in nativetls");' % (expr, value, name, value, value & 0xFFFFFFFF)]


def generate_c():
    """The C translation unit that checks every declaration table."""
    lines = [PRELUDE]
    for module in MODULES:
        lines.append("/* ---- %s ---- */" % module.__name__)
        for name, restype, argtypes, _check in module.PROTOTYPES:
            lines.extend(_prototype_c(name, restype, argtypes))
        for struct in module.STRUCTURES:
            lines.extend(_structure_c(struct))
        for name, value in sorted(constants(module).items()):
            lines.extend(_constant_c(name, value))
    return "\n".join(lines) + "\n"


def _which(name):
    if hasattr(shutil, "which"):
        return shutil.which(name)
    from distutils.spawn import find_executable  # Python 2.7
    return find_executable(name)


def compile_c(source):
    compiler = _which(COMPILER)
    if compiler is None:
        if os.environ.get("CI"):
            pytest.fail("%s is missing: CI must apt-get install gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev" % COMPILER)
        pytest.skip("%s is not installed (apt-get install gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev)" % COMPILER)
    tmp = tempfile.mkdtemp(prefix="nativetls-win-abi-")
    try:
        path = os.path.join(tmp, "win_abi_check.c")
        with open(path, "w") as handle:
            handle.write(source)
        proc = subprocess.Popen(
            [compiler, "-std=gnu11", "-fsyntax-only", "-Werror", "-Wall", "-Wextra", "-Wcast-function-type",
             "-Wconversion", "-Wsign-conversion", "-Wincompatible-pointer-types", "-Wint-conversion", path],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = proc.communicate()[0].decode("utf-8", "replace")
        return proc.returncode, out, path
    finally:
        if not os.environ.get("NATIVETLS_KEEP_ABI_C"):
            shutil.rmtree(tmp, ignore_errors=True)


def test_abi_matches_mingw_headers():
    returncode, out, _path = compile_c(generate_c())
    assert returncode == 0, "the declarations disagree with the Windows headers:\n" + out


@pytest.mark.parametrize("mutation", ["width", "narrow", "sign", "count", "constant", "offset"])
def test_abi_check_catches_mistakes(mutation):
    """The check is not vacuous: a wrong width, argument count, constant or field layout fails to compile."""
    if mutation == "width":
        source = "\n".join([PRELUDE] + _prototype_c(
            "QueryContextAttributesW", ctypes.c_int32, (ctypes.c_void_p, ctypes.c_uint64, ctypes.c_void_p)))
    elif mutation == "narrow":  # HCRYPTPROV_LEGACY is pointer-sized: a c_uint32 would truncate it
        source = "\n".join([PRELUDE] + _prototype_c("CertOpenStore", ctypes.c_void_p, (
            ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p)))
    elif mutation == "sign":  # dwFlags is a DWORD
        source = "\n".join([PRELUDE] + _prototype_c("CertOpenStore", ctypes.c_void_p, (
            ctypes.c_void_p, ctypes.c_uint32, ctypes.c_size_t, ctypes.c_int32, ctypes.c_void_p)))
    elif mutation == "count":
        source = "\n".join([PRELUDE] + _prototype_c(
            "DecryptMessage", ctypes.c_int32, (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32)))
    elif mutation == "constant":
        source = "\n".join([PRELUDE] + _constant_c("SEC_E_OUT_OF_SEQUENCE", 0x8009031))
    else:
        class SecBuffer(ctypes.Structure):
            _fields_ = [("cbBuffer", ctypes.c_uint32), ("BufferType", ctypes.c_uint64), ("pvBuffer", ctypes.c_void_p)]
        source = "\n".join([PRELUDE] + _structure_c(SecBuffer))
    returncode, out, _path = compile_c(source + "\n")
    assert returncode != 0, "a deliberately wrong declaration compiled:\n" + source[-400:]


# ---- the tables themselves ----

_KNOWN_CHECKS = (None, _types.check_status, _types.check_bool, _types.check_handle)
_CTYPES_BASE = (ctypes._SimpleCData, ctypes._Pointer, ctypes.Structure, ctypes.Array)


def _is_ctype(value):
    return isinstance(value, type) and issubclass(value, _CTYPES_BASE)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_prototype_rows(module):
    seen = set()
    for row in module.PROTOTYPES:
        assert isinstance(row, tuple) and len(row) == 4, row
        name, restype, argtypes, errcheck = row
        assert isinstance(name, type("")) and re.match(r"^[A-Z][A-Za-z0-9]+$", name), row
        assert name not in seen, "duplicate row %s" % name
        seen.add(name)
        assert restype is None or _is_ctype(restype), row
        assert isinstance(argtypes, tuple) and all(_is_ctype(t) for t in argtypes), row
        assert errcheck in _KNOWN_CHECKS, row
    assert module.OPTIONAL <= seen
    assert module.LIBRARY.prototypes == tuple(module.PROTOTYPES)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_structures(module):
    declared = [v for v in vars(module).values()
                if isinstance(v, type) and issubclass(v, ctypes.Structure) and v.__module__ == module.__name__]
    assert set(declared) == set(module.STRUCTURES), "a structure escapes the ABI check"
    for struct in module.STRUCTURES:
        own = vars(struct)
        assert "_fields_" in own, "%s has no _fields_" % struct.__name__
        stray = [k for k in own if k.strip("_") in ("fields", "field", "pack", "anonymous", "argtypes", "restype")
                 and k not in ("_fields_",)]
        assert not stray, "%s has misspelt attributes %s" % (struct.__name__, stray)
        names = [f[0] for f in struct._fields_]
        assert len(names) == len(set(names)), struct.__name__
        for field in struct._fields_:
            assert len(field) == 2 and _is_ctype(field[1]), (struct.__name__, field)
        assert ctypes.sizeof(struct) > 0


def test_no_platform_dependent_ctypes():
    """c_long/c_ulong (8 bytes on Linux, 4 on Windows), c_wchar (4 vs 2) and wintypes are banned in _win."""
    banned = frozenset(["c_long", "c_ulong", "c_wchar", "c_bool", "wintypes", "c_longlong", "c_ulonglong"])
    for path in glob.glob(os.path.join(WIN_DIR, "*.py")):
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Name):
                names.append(node.id)
            elif isinstance(node, ast.Attribute):
                names.append(node.attr)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.extend(alias.name.split(".")[-1] for alias in node.names)
                names.extend((getattr(node, "module", None) or "").split("."))
            hit = banned.intersection(names)
            assert not hit, "%s:%d uses a platform-dependent type: %s" % (path, node.lineno, sorted(hit))


def test_constants_have_no_typos():
    """Every public int is a known kind of constant and fits the 32-bit type it is declared for."""
    for module in MODULES:
        for name, value in constants(module).items():
            assert -0x80000000 <= value <= 0xFFFFFFFF, name
            if name.startswith(("SEC_E_", "CERT_E_", "CRYPT_E_", "TRUST_E_", "NTE_", "E_")):
                assert name == "SEC_E_OK" or value < 0 and (value & 0xFFFFFFFF) >> 16 in (0x8009, 0x800B, 0x8007), name
            if name.startswith("SEC_I_"):
                assert 0x00090300 <= value <= 0x000903FF, name


def test_status_names():
    assert _types.status_name(_secur32.SEC_E_OUT_OF_SEQUENCE) == "SEC_E_OUT_OF_SEQUENCE"
    assert _types.status_name(0x80090318) == "SEC_E_INCOMPLETE_MESSAGE"
    assert _types.status_name(_secur32.SEC_I_RENEGOTIATE) == "SEC_I_RENEGOTIATE"
    assert _types.status_name(_crypt32.CERT_E_UNTRUSTEDROOT) == "CERT_E_UNTRUSTEDROOT"
    err = _types.SecurityStatusError("DecryptMessage", _secur32.SEC_E_DECRYPT_FAILURE)
    assert "SEC_E_DECRYPT_FAILURE" in str(err) and "0x80090330" in str(err)


# ---- importing on Linux ----

_IMPORT_PROBE = r"""
import ctypes
def _refuse(*args, **kwargs):
    raise AssertionError("a DLL was loaded at import time: %r" % (args,))
ctypes.CDLL.__init__ = _refuse
ctypes.WinDLL = _refuse
ctypes.cdll.LoadLibrary = _refuse
import nativetls._win, nativetls._win._secur32 as s, nativetls._win._crypt32 as c
assert s.LIBRARY._functions is None and c.LIBRARY._functions is None
try:
    nativetls._win.load_backend()
except ImportError as exc:
    assert "needs Windows" in str(exc), exc
else:
    raise AssertionError("load_backend() worked off Windows")
print("ok")
"""


def test_imports_without_loading_dlls():
    """Run by this tox env's own interpreter (the py27 env covers Python 2.7): never a bare pyenv one, which holds
    none of nativetls's dependencies (enum34 on 2.7) on a fresh machine."""
    if sys.platform == "win32":
        pytest.skip("this checks the off-Windows behaviour")
    python = sys.executable
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([python, "-c", _IMPORT_PROBE], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.communicate()[0].decode("utf-8", "replace")
    assert proc.returncode == 0 and out.strip().endswith("ok"), out


# --- the pure-Python ClientHello reader the server backends use for SNI (nativetls._wire) ---------------------

def _stdlib_client_hello(server_hostname):
    """A real ClientHello (bytes) from the stdlib ssl module, for *server_hostname* (None: no SNI)."""
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    with pytest.raises(ssl.SSLWantReadError):
        conn.do_handshake()
    return outgoing.read()


@pytest.mark.skipif(sys.version_info < (3, 5), reason="ssl.MemoryBIO")
def test_client_hello_server_name():
    from nativetls._wire import NeedMoreData, client_hello_server_name
    hello = _stdlib_client_hello(u"b\u00fccher.example")
    assert client_hello_server_name(hello) == "xn--bcher-kva.example"
    assert client_hello_server_name(bytearray(hello) + b"\x16\x03\x03") == "xn--bcher-kva.example"
    assert client_hello_server_name(_stdlib_client_hello(None)) is None
    for cut in range(len(hello)):  # every prefix: wait for more, never a wrong answer
        with pytest.raises(NeedMoreData):
            client_hello_server_name(hello[:cut])
    # The same ClientHello split over two records, and fragmented one byte per record.
    body = hello[5:]
    two = hello[:3] + struct.pack(">H", 100) + body[:100] + hello[:3] + struct.pack(">H", len(body) - 100) + body[100:]
    assert client_hello_server_name(two) == "xn--bcher-kva.example"
    tiny = b"".join(hello[:3] + b"\x00\x01" + body[i:i + 1] for i in range(len(body)))
    assert client_hello_server_name(tiny) == "xn--bcher-kva.example"


@pytest.mark.skipif(sys.version_info < (3, 5), reason="ssl.MemoryBIO")
def test_client_hello_reader_rejects_garbage_cleanly():
    import random
    from nativetls._wire import NeedMoreData, client_hello_server_name
    hello = bytearray(_stdlib_client_hello("example.com"))
    for bad in (b"\x17\x03\x03\x00\x01x", b"\x16\x03\x03\x00\x00", b"\x16\x03\x03\x00\x04\x02\x00\x00\x00",
                b"\x80\x2e\x01\x03\x01", b"GET / HTTP/1.1\r\n\r\n"):
        with pytest.raises(ValueError):
            client_hello_server_name(bad)
    rng = random.Random(543)
    for _ in range(3000):
        mutated = bytearray(hello)
        for _ in range(rng.randint(1, 6)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            name = client_hello_server_name(bytes(mutated))
        except (ValueError, NeedMoreData):
            continue
        assert name is None or isinstance(name, type(u""))


def test_handshake_types_and_alert():
    from nativetls._wire import fatal_alert, handshake_types
    flight = (b"\x16\x03\x03\x00\x08" + b"\x02\x00\x00\x00" + b"\x0b\x00\x00\x00" +
              b"\x16\x03\x03\x00\x08" + b"\x0d\x00\x00\x00" + b"\x0e\x00\x00\x00" + b"\x14\x03\x03\x00\x01\x01")
    assert handshake_types(flight) == [2, 11, 13, 14]
    assert fatal_alert(80) == b"\x15\x03\x03\x00\x02\x02\x50"

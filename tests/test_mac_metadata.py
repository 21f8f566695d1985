# -*- coding: utf-8 -*-
"""The macOS backend's declarations against machine-readable metadata: PyObjC's macOS wheels, read as data.

PyObjC generates ``Security/_metadata.py`` and ``CoreFoundation/_metadata.py`` from Apple's SDK headers: every
function as an Objective-C type encoding (return type first; ``SSLRead`` is ``i@o^vLo^L``) with notes on ownership
(``already_cfretained``) and callbacks, every enum value, every data constant. The wheels are downloaded once with
pip (hash-pinned below) into ``.cache/pyobjc/``; the files are parsed with ``ast`` and only their literal
assignments are evaluated (never imported: they import ``objc``). A machine without the index skips, saying so.

Checked: every row of ``_security.PROTOTYPES``/``_corefoundation.PROTOTYPES`` (argument and result widths and
signedness, pointer directions, the pointee widths of out-pointers, the I/O callback signatures), every constant of
both modules, and the Create/Copy/Get ownership of every function that hands back a CF object. What the metadata
lacks is checked against :data:`HEADER_VALUES`, transcribed from Apple's headers with the header named per row.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ast
import ctypes
import hashlib
import io
import os
import re
import subprocess
import sys
import zipfile

import pytest

from nativetls._mac import _corefoundation, _security, _types

WHEELS = {
    # name -> (pip requirement, file name, sha256)
    "Security": ("pyobjc-framework-Security==12.2.2",
                 "pyobjc_framework_security-12.2.2-cp312-cp312-macosx_10_13_universal2.whl",
                 "266f41995f2fc80660c8451bdb199a7e259a6cad02fbc1e0e2f69dd5576e2203"),
    "CoreFoundation": ("pyobjc-framework-Cocoa==13.0",
                       "pyobjc_framework_cocoa-13.0-cp312-cp312-macosx_10_13_universal2.whl",
                       "e1618d315939c9fae57cb858d4db496ec61f82495ce6a877398131ee494fc19d"),
}
CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache", "pyobjc")

#: Values the metadata does not have, transcribed from Apple's headers (apple-oss-distributions/Security and
#: CoreFoundation). (name, value, header): for types, the value is the width in bytes.
HEADER_VALUES = (
    ("SSLCipherSuite@arm64", 2, "CipherSuite.h lines 39-45: typedef uint16_t SSLCipherSuite (__arm64__)"),
    ("SSLCipherSuite@x86_64", 4, "CipherSuite.h lines 39-45: typedef uint32_t SSLCipherSuite (otherwise)"),
    ("kCFTypeArrayCallBacks", "data", "CFArray.h: CF_EXPORT const CFArrayCallBacks kCFTypeArrayCallBacks"),
    ("kCFTypeDictionaryValueCallBacks", "data",
     "CFDictionary.h: CF_EXPORT const CFDictionaryValueCallBacks kCFTypeDictionaryValueCallBacks"),
    ("kCFTypeDictionaryKeyCallBacks", "data",
     "CFDictionary.h: CF_EXPORT const CFDictionaryKeyCallBacks kCFTypeDictionaryKeyCallBacks"),
    ("kCFStringEncodingUTF8", 0x08000100, "CFString.h: kCFStringEncodingUTF8 = 0x08000100"),
    ("kCFStringEncodingASCII", 0x0600, "CFString.h: kCFStringEncodingASCII = 0x0600"),
    ("errSSLClientAuthCompleted", -9841, "SecureTransport.h: errSSLClientAuthCompleted = errSSLPeerAuthCompleted"),
)
_HEADER = dict((row[0], row[1]) for row in HEADER_VALUES)


def _download(requirement, name, digest):
    path = os.path.join(CACHE, name)
    if not os.path.exists(path):
        if not os.path.isdir(CACHE):
            os.makedirs(CACHE)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--platform",
                   "macosx_11_0_universal2", "--python-version", "3.12", "-d", CACHE, requirement]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = proc.communicate()[0].decode("utf-8", "replace")
        if proc.returncode != 0 or not os.path.exists(path):
            pytest.skip("cannot download %s (no package index here?): %s" % (requirement, output[-300:]))
    with open(path, "rb") as handle:
        data = handle.read()
    assert hashlib.sha256(data).hexdigest() == digest, "%s does not have the pinned sha256" % name
    return data


def _literal_assignments(source):
    """The module-level literal assignments of a PyObjC _metadata.py (``functions``, ``enums``, ...)."""
    result = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                result[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return result


@pytest.fixture(scope="module")
def metadata():
    result = {}
    for framework, (requirement, name, digest) in WHEELS.items():
        with zipfile.ZipFile(io.BytesIO(_download(requirement, name, digest))) as wheel:
            source = wheel.read("%s/_metadata.py" % framework).decode("utf-8")
        data = _literal_assignments(source)
        enums = dict((k, v) for k, v in re.findall(r"\$([A-Za-z_0-9]+)@([^$]*)", data.get("enums", "")))
        constants = set(re.findall(r"\$([A-Za-z_0-9]+)", data.get("constants", "")))
        result[framework] = {"functions": data["functions"], "enums": enums, "constants": constants,
                             "aliases": data.get("aliases", {})}
    return result


# --- Objective-C type encodings -------------------------------------------------------------------------------
_MODIFIERS = "rnNoORV"
_INTEGERS = {"c": (1, True), "C": (1, False), "s": (2, True), "S": (2, False), "i": (4, True), "I": (4, False),
             "l": (4, True), "L": (8, False), "q": (8, True), "Q": (8, False), "Z": (1, False), "B": (1, False)}


def _split(encoding):
    """Split an encoding into its types, each as ``(modifier, type)``."""
    text = encoding.decode("ascii") if isinstance(encoding, bytes) else encoding
    items, index = [], 0
    while index < len(text):
        modifier = ""
        while text[index] in _MODIFIERS:
            modifier += text[index]
            index += 1
        start = index
        index = _skip(text, index)
        items.append((modifier, text[start:index]))
    return items


def _skip(text, index):
    char = text[index]
    if char == "^":
        return _skip(text, index + 1)
    if char in "{([":
        depth = 0
        while True:
            if text[index] in "{([":
                depth += 1
            elif text[index] in "})]":
                depth -= 1
                if depth == 0:
                    return index + 1
            index += 1
    if char == "@" and text[index + 1:index + 2] == "?":
        return index + 2
    if char == "^" or char == "?":
        return index + 1
    return index + 1


def _struct_size(kind):
    """The LP64 size of a structure encoding of integers and pointers (``{name=II@@}``)."""
    size = 0
    for _modifier, field in _split(kind[kind.index("=") + 1:-1]):
        width = ctypes.sizeof(ctypes.c_void_p) if _is_pointer(field) else _INTEGERS[field][0]
        size = (size + width - 1) // width * width + width
    return (size + 7) // 8 * 8


def _is_pointer(kind):
    return kind[0] in "@^*#:"


def _is_cf_object(kind):
    return kind == "@" or bool(re.match(r"\^\{__[A-Za-z]+=\}$", kind))


def _integer_type(ctype):
    return ctype in (ctypes.c_int8, ctypes.c_uint8, ctypes.c_int16, ctypes.c_uint16, ctypes.c_int32,
                     ctypes.c_uint32, ctypes.c_int64, ctypes.c_uint64, ctypes.c_long, ctypes.c_ulong,
                     ctypes.c_size_t, ctypes.c_bool)


def _signed(ctype):
    return ctype(-1).value == -1 if ctype is not ctypes.c_bool else False


def _check_value(where, kind, ctype, cipher=False):
    """One argument or result: *kind* from the metadata, *ctype* ours (Arg markers already removed)."""
    if kind == "v":
        assert ctype is None, "%s: void, declared %r" % (where, ctype)
        return
    if _is_pointer(kind):
        assert ctype is not None and ctypes.sizeof(ctype) == ctypes.sizeof(ctypes.c_void_p), \
            "%s: a pointer (%s), declared %r" % (where, kind, ctype)
        assert not _integer_type(ctype), \
            "%s: a pointer (%s) declared as an integer %r" % (where, kind, ctype)
        return
    size, signed = _INTEGERS[kind]
    if cipher:  # SSLCipherSuite: one 32-bit encoding in the metadata; its width is the header's (HEADER_VALUES)
        size = _HEADER["SSLCipherSuite@arm64" if _types.ARM64 else "SSLCipherSuite@x86_64"]
        signed = False
    assert ctype is not None and _integer_type(ctype), "%s: an integer (%s), declared %r" % (where, kind, ctype)
    assert ctypes.sizeof(ctype) == size, "%s: %d bytes (%s), declared %r" % (where, size, kind, ctype)
    if kind == "B":
        assert ctype is ctypes.c_bool, "%s: C99 bool, declared %r" % (where, ctype)
    else:
        assert _signed(ctype) == signed, "%s: signedness of %s, declared %r" % (where, kind, ctype)


_CIPHER_FUNCTIONS = ("SSLGetNegotiatedCipher", "SSLSetEnabledCiphers", "SSLGetSupportedCiphers")


def _check_argument(name, index, modifier, kind, ours, meta):
    where = "%s argument %d" % (name, index)
    info = meta.get("arguments", {}).get(index, {})
    modifier = info.get("type_modifier", modifier) or modifier
    direction = modifier[-1:] if modifier else ""
    if isinstance(ours, _types.Arg):
        assert direction in ("n", "o", "N") or kind.startswith("^"), where
        if direction:
            assert ours.direction == direction, "%s: direction %r in the metadata, %r declared" % (
                where, direction, ours.direction)
        ctype = ours.ctype
        pointee = kind[1:]
        assert ctypes.sizeof(ctype) == ctypes.sizeof(ctypes.c_void_p), "%s: not pointer-sized" % where
        target = getattr(ctype, "_type_", None)
        if pointee.startswith("{") and isinstance(target, type) and issubclass(target, ctypes.Structure):
            assert ctypes.sizeof(target) == _struct_size(pointee), "%s: %s is %d bytes" % (
                where, pointee, _struct_size(pointee))
        elif pointee.startswith("{"):  # an opaque structure passed by address (kCFTypeArrayCallBacks)
            assert ours.direction == "n", where
        elif pointee in ("v", "t") or target is None or isinstance(target, str):  # a byte buffer: void*/char*
            assert pointee in ("v", "t", "?") or pointee.startswith("{") or _is_pointer(pointee), (
                "%s: %s declared as a plain buffer" % (where, kind))
        else:
            _check_value(where + " (pointee)", pointee, target, cipher=name in _CIPHER_FUNCTIONS and pointee == "i")
        if _is_cf_object(pointee) and direction == "o":
            expected = _types.OWNED if info.get("already_cfretained") else _types.BORROWED
            assert ours.owner == expected, "%s: the reference written there is %s" % (where, expected)
        return
    assert not direction, "%s: a pointer with direction %r, declared %r without one" % (where, direction, ours)
    _check_value(where, kind, ours)


def _rows():
    for module in (_security, _corefoundation):
        for row in module.PROTOTYPES:
            yield module, row


def _framework(module):
    return "Security" if module is _security else "CoreFoundation"


@pytest.mark.parametrize("row", [row for _m, row in _rows()], ids=[row[0] for _m, row in _rows()])
def test_prototype_matches_metadata(metadata, row):
    name, restype, argtypes, errcheck, returns = row
    module = _security if row in _security.PROTOTYPES else _corefoundation
    entry = tuple(metadata[_framework(module)]["functions"][name])
    encoding, meta = entry[0], (entry[2] if len(entry) > 2 else {})
    types = _split(encoding)
    assert len(types) - 1 == len(argtypes), "%s: %d arguments in the metadata, %d declared" % (
        name, len(types) - 1, len(argtypes))
    _check_value(name + " result", types[0][1], restype)
    for index, ((modifier, kind), ours) in enumerate(zip(types[1:], argtypes)):
        if name == "SSLSetIOFuncs" and index > 0:
            _check_callback(name, index, ours, meta["arguments"][index]["callable"])
            continue
        _check_argument(name, index, modifier, kind, ours, meta)
    if _is_cf_object(types[0][1]) and name != "CFRetain":  # CFRetain: +1 on its argument, returned as is
        expected = _types.OWNED if meta.get("retval", {}).get("already_cfretained") else _types.BORROWED
        assert returns == expected, "%s returns a CF object the caller %s" % (
            name, "owns (Create/Copy)" if expected == _types.OWNED else "does not own (Get)")
    else:
        assert returns is None or name == "CFRetain", "%s returns no CF object" % name
    assert errcheck in (None, _types.check_status, _types.check_not_null), name


def _check_callback(name, index, ours, callable_meta):
    where = "%s callback %d" % (name, index)
    restype = ours._restype_
    _check_value(where + " result", callable_meta["retval"]["type"].decode("ascii"), restype)
    arguments = callable_meta["arguments"]
    assert len(arguments) == len(ours._argtypes_), where
    for position, ctype in enumerate(ours._argtypes_):
        modifier, kind = _split(arguments[position]["type"])[0]
        if modifier:  # o^v / n^v data buffer, N^L length in and out
            assert ctypes.sizeof(ctype) == ctypes.sizeof(ctypes.c_void_p), where
            target = getattr(ctype, "_type_", None)
            if kind != "^v":
                _check_value("%s argument %d (pointee)" % (where, position), kind[1:], target)
        else:
            _check_value("%s argument %d" % (where, position), kind, ctype)


def test_every_function_is_in_the_metadata(metadata):
    missing = [row[0] for module, row in _rows() if row[0] not in metadata[_framework(module)]["functions"]]
    assert not missing


def _our_constants(module):
    for key, value in sorted(vars(module).items()):
        if re.match(r"^(k[A-Z]|err[A-Z]|SEC_)", key) and isinstance(value, int) and not isinstance(value, bool):
            yield key, value


@pytest.mark.parametrize("module", [_security, _corefoundation], ids=["Security", "CoreFoundation"])
def test_constants_match_metadata_or_headers(metadata, module):
    data = metadata[_framework(module)]
    unchecked = []
    for key, value in _our_constants(module):
        name = data["aliases"].get(key, key)
        if name in data["enums"]:
            assert int(data["enums"][name]) == value, "%s = %r; the metadata says %s" % (key, value,
                                                                                       data["enums"][name])
        elif key in _HEADER:
            assert _HEADER[key] == value, "%s = %r; the header says %r" % (key, value, _HEADER[key])
        else:
            unchecked.append(key)
    assert not unchecked, "constants neither in the metadata nor in HEADER_VALUES: %s" % unchecked


def test_aliases_match(metadata):
    aliases = metadata["Security"]["aliases"]
    assert aliases["errSSLServerAuthCompleted"] == "errSSLPeerAuthCompleted"
    assert _security.errSSLServerAuthCompleted == _security.errSSLPeerAuthCompleted


def test_data_symbols(metadata):
    """The data symbols we read: in the metadata's constants, or (the callback structures) in HEADER_VALUES."""
    for symbol in _corefoundation.DATA_SYMBOLS:
        assert symbol in metadata["CoreFoundation"]["constants"] or _HEADER.get(symbol) == "data", symbol
    for symbol in _security.DATA_SYMBOLS:  # the SecPKCS12Import keys: const CFStringRef (SecImportExport.h)
        assert symbol in metadata["Security"]["constants"], symbol


def test_cipher_suite_width():
    """SSLCipherSuite: 16 bits on arm64, 32 elsewhere (CipherSuite.h) - never the metadata's single encoding."""
    expected = _HEADER["SSLCipherSuite@arm64" if _types.ARM64 else "SSLCipherSuite@x86_64"]
    assert ctypes.sizeof(_types.SSLCipherSuite) == expected


def test_header_rows_name_their_header():
    for name, _value, header in HEADER_VALUES:
        assert re.match(r"^[A-Za-z]+\.h", header), name


def test_no_typo_can_hide():
    """Every row is a 5-tuple applied by the one binder, so no misspelt attribute (``argstypes``) can exist."""
    for _module, row in _rows():
        assert len(row) == 5 and isinstance(row[2], list), row[0]

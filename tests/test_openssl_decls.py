"""The OpenSSL declarations: constants against the installed headers, the prototype tables' shape, and the
version read as a number (never parsed from the version string)."""
from __future__ import absolute_import, division, print_function

import ctypes
import os
import subprocess
import sys
import tempfile

import pytest

pytest.importorskip("nativetls._openssl._lowlevel")
from nativetls._openssl import _libssl as L  # noqa: E402
from nativetls._openssl import _lowlevel  # noqa: E402
from nativetls._compat import int_types as six_ints  # noqa: E402

# Constants whose value in our table is deliberately not the installed 3.x header's, with the reason.
VERSION_SPECIFIC = {
    "SSL_OP_NO_SSLv2": "0x01000000 is OpenSSL 1.0.2's value; from 1.1.0 it is 0 (SSLv2 is gone), so or-ing it is "
                       "harmless there",
    "SSL_CTRL_SET_ECDH_AUTO": "1.0.2 only; the 1.1.0+ headers dropped it (automatic there)",
    "SSL_CTRL_OPTIONS": "1.0.2's SSL_CTX_set_options macro; 1.1.0 made it a function and 3.0 dropped the value",
    "SSL_CTRL_GET_SESSION_REUSED": "1.0.2's SSL_session_reused macro; a function from 1.1.0, gone from 3.0 headers",
}

HEADERS = ["ssl.h", "tls1.h", "x509.h", "x509_vfy.h", "x509v3.h", "err.h", "bio.h", "evp.h", "pem.h"]


def _constants():
    return sorted((name, value) for name, value in vars(L).items()
                  if name.isupper() and isinstance(value, six_ints) and not name.startswith("_"))


def _header_values(names):
    if not os.path.exists("/usr/include/openssl/ssl.h"):
        if os.environ.get("CI"):
            pytest.fail("the OpenSSL headers are missing on this CI machine (Debian libssl-dev)")
        pytest.skip("no OpenSSL headers (Debian libssl-dev)")
    source = ["#include <stdio.h>"] + ["#include <openssl/%s>" % h for h in HEADERS] + ["int main(void) {"]
    for name in names:
        source.append('#ifdef %s\n printf("%s %%llu\\n", (unsigned long long)(%s));\n#else\n printf("%s -\\n");\n'
                      '#endif' % (name, name, name, name))
    source.append("return 0; }")
    workdir = tempfile.mkdtemp()
    c_file, exe = os.path.join(workdir, "consts.c"), os.path.join(workdir, "consts")
    with open(c_file, "w") as handle:
        handle.write("\n".join(source))
    try:
        subprocess.check_call(["cc", "-w", "-o", exe, c_file])
    except OSError:
        pytest.skip("no C compiler")
    out = subprocess.check_output([exe]).decode("ascii")
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_constants_match_the_installed_headers():
    constants = _constants()
    values = _header_values([name for name, _ in constants])
    mismatches = []
    for name, ours in constants:
        theirs = values[name].strip()
        if name in VERSION_SPECIFIC:
            continue
        if theirs == "-":
            mismatches.append("%s: not in the headers" % name)
        elif int(theirs) & 0xFFFFFFFFFFFFFFFF != ours & 0xFFFFFFFFFFFFFFFF:
            mismatches.append("%s: ours %#x, header %#x" % (name, ours, int(theirs)))
    assert not mismatches, mismatches
    assert len(constants) > 70


def _rows():
    for table in (L.CRYPTO_REQUIRED, L.CRYPTO_STACK_110, L.CRYPTO_STACK_102, L.SSL_REQUIRED, L.SSL_OPTIONAL,
                  L.CRYPTO_OPTIONAL):
        for row in table:
            yield row
    for pyname, names, restype, argtypes, check, note in L.SSL_ALTERNATIVES:
        for name in names:
            yield (name, restype, argtypes, check, note)


def _is_ctypes_type(value):
    return value is None or (isinstance(value, type) and issubclass(value, ctypes._SimpleCData)) or (
        isinstance(value, type) and issubclass(value, (ctypes._Pointer, ctypes._CFuncPtr)))


def test_prototype_tables_are_well_formed():
    seen = set()
    for row in _rows():
        assert len(row) == 5, row
        name, restype, argtypes, check, note = row
        assert name not in seen, "%s declared twice" % name
        seen.add(name)
        assert _is_ctypes_type(restype), (name, restype)
        assert isinstance(argtypes, list) and all(_is_ctypes_type(a) and a is not None for a in argtypes), name
        assert check in (None, "ptr", "one", "pos"), (name, check)
        if check == "ptr":
            assert restype is ctypes.c_void_p, "%s: a NULL check needs a pointer result" % name


def test_bound_functions_carry_their_declarations():
    lib = _lowlevel.lib
    for name, restype, argtypes, check, _note in L.SSL_REQUIRED + L.CRYPTO_REQUIRED:
        func = getattr(lib, name)
        assert func.restype is (restype if restype is not None else func.restype), name
        assert list(func.argtypes) == argtypes, name
        assert (func.errcheck is not None and func.errcheck is not ctypes.CFUNCTYPE(None)) == (check is not None) \
            or check is None, name
    assert lib.SSL_read.errcheck is not _lowlevel._check_ptr


def test_no_misspelt_ctypes_attributes():
    here = os.path.join(os.path.dirname(os.path.abspath(_lowlevel.__file__)), os.pardir)
    for root, _dirs, files in os.walk(here):
        for filename in files:
            if filename.endswith(".py"):
                with open(os.path.join(root, filename)) as handle:
                    text = handle.read()
                for typo in (".arg_types", ".argtype =", ".res_type", ".restypes"):
                    assert typo not in text, "%s in %s" % (typo, filename)


def test_version_is_a_number_not_a_parsed_string():
    version = _lowlevel.VERSION
    assert isinstance(version, six_ints) and version >= 0x10002000
    major = version >> 28
    assert _lowlevel.VERSION_TEXT.startswith("OpenSSL %d." % major)
    if "NATIVETLS_LIBSSL" not in os.environ and sys.version_info[0] >= 3:
        import ssl
        if ssl.OPENSSL_VERSION_NUMBER >> 20 == version >> 20:  # the same library as the stdlib links
            assert ssl.OPENSSL_VERSION_NUMBER == version


def test_missing_library_is_a_clear_import_error(tmp_path):
    env = dict(os.environ, NATIVETLS_LIBSSL=str(tmp_path / "libssl.so.404"),
               NATIVETLS_LIBCRYPTO=str(tmp_path / "libcrypto.so.404"))
    code = "import nativetls; nativetls.backend('openssl')"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    err = proc.communicate()[1].decode("utf-8", "replace")
    assert proc.returncode != 0
    assert "ImportError" in err and "libssl.so.404" in err and "NATIVETLS_LIBSSL" in err


def test_error_queue_is_left_empty_after_a_failure(pki):
    import nativetls
    from _tls import client_context, handshake, server_context
    with pytest.raises(nativetls.CertificateVerificationError):
        handshake(client_context(pki).wrap_buffers("wrong.example"), server_context(pki).wrap_buffers())
    assert _lowlevel.lib.ERR_peek_error() == 0


def test_errors_left_in_the_queue_by_others_neither_fail_nor_survive_a_call(pki):
    # The per-record calls do not clear the queue first (_buffer._get_error): an earlier call's leftovers must not
    # turn "want read" into a failure, must not hide a ragged EOF, and must be gone afterwards.
    import nativetls
    from _tls import client_context, handshake, pump, server_context
    lib = _lowlevel.lib
    ctx = lib.SSL_CTX_new(lib.TLS_method())

    def leave_an_error():
        assert lib.SSL_CTX_set_cipher_list(ctx, b"no-such-cipher") == 0
        assert lib.ERR_peek_error() != 0

    try:
        c, s = client_context(pki).wrap_buffers("localhost"), server_context(pki).wrap_buffers()
        leave_an_error()
        with pytest.raises(nativetls.WantReadError):
            c.do_handshake()
        assert lib.ERR_peek_error() == 0
        handshake(c, s)
        leave_an_error()
        with pytest.raises(nativetls.WantReadError):
            s.read()
        assert lib.ERR_peek_error() == 0
        c.write(b"x")
        pump(c, s)
        leave_an_error()
        assert s.read() == b"x"
        s.process_incoming(b"")
        leave_an_error()
        with pytest.raises(nativetls.RaggedEOF):
            s.read()
        assert lib.ERR_peek_error() == 0
    finally:
        lib.ERR_clear_error()
        lib.SSL_CTX_free(ctx)


def test_the_library_under_test():
    """Under ``tox -e libssl102|libssl11|libssl35`` the whole suite runs against that real OpenSSL (tests/support)."""
    import nativetls
    wanted = os.environ.get("NATIVETLS_TEST_OPENSSL")
    version = nativetls.backend("openssl").native_version
    if wanted:
        assert version.startswith("OpenSSL " + wanted), version
    else:
        assert version.startswith("OpenSSL ")

"""``python -m nativetls``: selftest, info, connect and --help, run as users run them (subprocesses)."""
from __future__ import absolute_import, division, print_function

import json
import re
import subprocess
import sys

import pytest

import nativetls

import _peers
from _peers import require_tool


def run_cli(*args, **kwargs):
    proc = subprocess.Popen([sys.executable, "-m", "nativetls"] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)
    out, err = proc.communicate()
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _best_version():
    return "TLSv1.3" if "tls1_3" in nativetls.backend().features else "TLSv1.2"


def test_selftest():
    code, out, err = run_cli("selftest")
    assert code == 0, out + err
    for label in ("backend:", "native library:", "protocol:", "cipher:", "key exchange:", "ALPN:", "peer subject:",
                  "verdict:"):
        assert label in out
    assert _best_version() in out and "h2" in out and "verdict:          OK" in out
    assert "rejected (hostname_mismatch)" in out


def test_info_plain_and_json():
    code, out, _ = run_cli("info")
    assert code == 0 and "backend:" in out and "supported versions:" in out and "root certificate" in out
    code, out, _ = run_cli("info", "--json")
    info = json.loads(out)
    assert code == 0 and info["backend"] == "openssl" and "TLSv1.2" in info["supported_versions"]
    assert ("tls1_3" in info["features"]) == (_best_version() == "TLSv1.3") and info["trust_store"]["roots"] > 0
    assert "key_exchange" in info


def test_info_names_the_key_exchange_group_where_the_library_tells():
    """OpenSSL 3.0+ report the group; with itself (both ends on the same library), 3.5+ negotiate the hybrid
    post-quantum X25519MLKEM768 by default, 3.0-3.4 X25519. 1.0.2 and 1.1.1 cannot tell."""
    code, out, _ = run_cli("info", "--json")
    info = json.loads(out)
    version = tuple(int(x) for x in re.match(r"OpenSSL (\d+)\.(\d+)", info["native_version"]).groups())
    if version >= (3, 5):
        assert info["key_exchange"] == "X25519MLKEM768", info
    elif version >= (3, 0):
        assert info["key_exchange"] in ("X25519", "x25519"), info
    else:
        assert info["key_exchange"] is None, info
    code, out, _ = run_cli("info")
    assert "key exchange:" in out


@pytest.mark.parametrize("command", ["selftest", "info", "connect", "serve"])
def test_help_on_every_subcommand(command):
    code, out, _ = run_cli(command, "--help")
    assert code == 0 and "usage:" in out


def test_no_command_is_a_usage_error():
    code, _out, err = run_cli()
    assert code == 2 and "usage:" in err


def test_connect_verified(pki):
    require_tool("openssl")
    with _peers.openssl_s_server(pki.server, alpn=["h2"]) as server:
        code, out, err = run_cli("connect", "localhost:%d" % server.port, "--cafile", pki.ca.cert_path,
                                 "--alpn", "h2", "http/1.1")
    assert code == 0, out + err
    assert "protocol:   %s" % _best_version() in out and "ALPN:       h2" in out and "key exchange: " in out
    assert "0 subject: " in out and "1 subject: " in out and "expires in" in out
    assert "verdict:    OK" in out


def test_connect_untrusted_exits_nonzero_and_says_why(pki):
    require_tool("openssl")
    with _peers.openssl_s_server(pki.server) as server:
        code, out, _ = run_cli("connect", "127.0.0.1:%d" % server.port, "--json")
    report = json.loads(out)
    assert code == 1
    assert report["verified"] is False and report["reason"] == "untrusted_root"
    assert report["chain"] and report["protocol"] == _best_version()


def test_connect_wrong_name(pki):
    require_tool("openssl")
    with _peers.openssl_s_server(pki.server) as server:
        code, out, _ = run_cli("connect", "127.0.0.1:%d" % server.port, "--cafile", pki.ca.cert_path,
                               "--servername", "wrong.example")
    assert code == 1 and "hostname_mismatch" in out


def test_connect_refused():
    port = _peers.free_port()
    code, out, _ = run_cli("connect", "127.0.0.1:%d" % port, "--timeout", "5")
    assert code == 1 and "verdict:    FAILED" in out

# -*- coding: utf-8 -*-
"""The backend-neutral TLSBuffer tests (tests/test_buffer.py) run as-is on SChannel, client and server joined by
the in-memory wire of tests/_tls.py.

Both ends are SChannel, so most tests need AcceptSecurityContext: under Wine 8 they are skipped, saying so, and
they run under Wine 10 (.ci/wine/test-wine10.sh) and on Windows. Every other skip below is a difference of the
SChannel backend or of Wine that the reason names; the table is the complete list.

Wine (8 and 10) difference handled without skipping: Wine's SChannel server sends only its leaf certificate, so
under Wine the shared ``client_context`` trusts the root *and* the intermediate (a trusted intermediate anchors a
chain on every backend). On Windows it trusts the root alone, as in tests/.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import pytest

from conftest import UNDER_WINE

import test_buffer as _shared  # noqa: E402  (tests/ is on sys.path, see conftest)
from test_buffer import pair  # noqa: E402,F401  (the shared fixture)

for _name in dir(_shared):
    if _name.startswith("test_"):
        globals()[_name] = getattr(_shared, _name)

# Tests that need nothing but a client: they run everywhere, Wine 8 included.
CLIENT_ONLY = frozenset([
    "test_eof_during_handshake", "test_context_manager", "test_shutdown_before_handshake_is_an_error",
    "test_ssl_versions_are_configuration_errors", "test_unknown_cipher_is_a_configuration_error",
    "test_wrong_session_type", "test_bad_server_hostname",
])

# name -> (feature or condition the test needs, the reason when it is missing)
NEEDS = {
    "test_handshake_reports_what_was_negotiated": (
        "tls1_3+cipher", "it expects TLS 1.3 and a CipherSuite: this SChannel offers no TLS 1.3 or does not answer "
        "SECPKG_ATTR_CIPHER_INFO (Wine 8 and 10 neither); tests/win/test_schannel_client.py covers what is there"),
    "test_tls13_ticket_arrives_through_a_read_that_wants_more": (
        "tls1_3", "it needs TLS 1.3 session tickets"),
    "test_session_resumption": ("session_resumption", "feature \"session_resumption\" is absent here"),
    "test_session_survives_connections_closed_without_close_notify": (
        "session_resumption", "feature \"session_resumption\" is absent here"),
    "test_tickets_are_private_to_a_server_context": (
        "session_resumption", "feature \"session_resumption\" is absent here"),
    "test_keylog": ("keylog", "feature \"keylog\" is absent: SChannel has no key log callback"),
    "test_cipher_selection": (
        "ciphers", "the SChannel backend cannot restrict cipher suites (ConfigurationError by design, see "
        "docs/backend-windows.md)"),
    "test_version_mismatch_fails": (
        "tls1_3", "it makes a TLS 1.3-only server, which this SChannel cannot be (ConfigurationError)"),
    "test_old_versions_must_be_explicit_and_warn": (
        "tls1_0", "TLS 1.0/1.1 are not enabled in this SChannel"),
}


def _has(backend, need, version=None):
    from nativetls import TLSVersion
    if need == "tls1_3+cipher":
        return TLSVersion.TLSv1_3 in backend.supported_versions and not UNDER_WINE
    if need == "tls1_3":
        return TLSVersion.TLSv1_3 in backend.supported_versions
    if need == "ciphers":
        return False
    if need == "tls1_0":
        return TLSVersion.TLSv1 in backend.supported_versions and TLSVersion.TLSv1_1 in backend.supported_versions
    return need in backend.features


@pytest.fixture(autouse=True)
def _schannel_differences(request, backend, monkeypatch):
    name = getattr(request.node, "originalname", None) or request.node.name
    version = request.node.callspec.params.get("version") if hasattr(request.node, "callspec") else None
    if name in NEEDS and not _has(backend, NEEDS[name][0]):
        pytest.skip("SChannel difference: " + NEEDS[name][1])
    if version is not None and version not in backend.supported_versions and name != "test_ssl_versions_are_configuration_errors":
        pytest.skip("SChannel difference: %s is not offered by this SChannel (Wine 8 and 10: TLS 1.0-1.2)"
                    % version.value)
    if name not in CLIENT_ONLY and "server" not in backend.features:
        assert UNDER_WINE, "AcceptSecurityContext must work on Windows"
        pytest.skip("Wine 8 difference: the test joins an SChannel client to an SChannel server, and Wine 8 has "
                    "no server side (AcceptSecurityContext answers SEC_E_UNSUPPORTED_FUNCTION); Wine 10 runs it")
    if UNDER_WINE:
        import _tls
        original = _shared.client_context

        def client_context(pki, **fields):
            fields.setdefault("trust_store", _tls.trust_of(pki.ca, pki.intermediate))
            return original(pki, **fields)
        monkeypatch.setattr(_shared, "client_context", client_context)

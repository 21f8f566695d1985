"""The backend contract: every backend available here subclasses the abstract classes, exports the same names and
reports features by the documented names; the public constructors dispatch to the default backend."""
from __future__ import absolute_import, division, print_function

import importlib
import inspect
import os
import subprocess
import sys

import pytest

import nativetls
from nativetls._backend import BACKEND_NAMES, FEATURE_NAMES


def available_backends():
    found = []
    for name in sorted(BACKEND_NAMES):
        try:
            found.append(nativetls.backend(name))
        except ImportError:
            pass
    return found


@pytest.fixture(params=[b.name for b in available_backends()])
def backend(request):
    return nativetls.backend(request.param)


def test_openssl_is_available_on_linux():
    if sys.platform.startswith("linux"):
        assert "openssl" in [b.name for b in available_backends()]


def test_backend_shape(backend):
    assert backend.name in BACKEND_NAMES
    assert backend.native_version
    assert issubclass(backend.client_context, nativetls.ClientContext)
    assert issubclass(backend.server_context, nativetls.ServerContext)
    assert backend.certificate is nativetls.Certificate
    assert backend.private_key is nativetls.PrivateKey
    assert backend.trust_store is nativetls.TrustStore
    assert backend.features <= FEATURE_NAMES
    assert backend.supported_versions <= set(nativetls.TLSVersion)
    assert nativetls.TLSVersion.TLSv1_2 in backend.supported_versions
    assert not inspect.isabstract(backend.client_context) and not inspect.isabstract(backend.server_context)
    assert ("tls1_3" in backend.features) == (nativetls.TLSVersion.TLSv1_3 in backend.supported_versions)


def test_backend_is_a_pep748_implementation(backend, pki):
    assert isinstance(backend, nativetls.TLSImplementation)
    assert backend.validate_config(nativetls.TLSClientConfiguration()) is None
    with pytest.raises(nativetls.ConfigurationError):  # a server needs a chain: checked as a server's by its class
        backend.validate_config(nativetls.TLSServerConfiguration())
    with pytest.raises(nativetls.ConfigurationError):
        backend.validate_config(nativetls.TLSConfiguration(), server=True)
    with pytest.raises(nativetls.ConfigurationError):
        backend.validate_config(nativetls.TLSConfiguration(trust_store=nativetls.TrustStore.from_id(b"ROOT")))
    with pytest.raises(TypeError):
        backend.validate_config("not a configuration")


def test_buffers_implement_the_contract(backend, pki):
    from _tls import chain_of, trust_of
    client = backend.client_context(nativetls.TLSConfiguration(trust_store=trust_of(pki.ca)))
    server = backend.server_context(nativetls.TLSConfiguration(certificate_chain=chain_of(pki.server)))
    for buffer in (client.wrap_buffers("localhost"), client.create_buffer("localhost"), server.wrap_buffers(),
                   server.create_buffer()):
        assert isinstance(buffer, nativetls.TLSBuffer)
        assert not inspect.isabstract(type(buffer))
        assert buffer.context in (client, server)
        assert buffer.negotiated_tls_version is None and buffer.cipher() is None
        assert buffer.session is None and buffer.session_reused is False
        buffer.close()
        buffer.close()  # idempotent


def test_public_constructors_dispatch_to_the_default_backend(pki):
    ctx = nativetls.ClientContext(nativetls.TLSConfiguration())
    assert type(ctx) is nativetls.backend().client_context
    assert isinstance(ctx, nativetls.ClientContext)
    from _tls import chain_of
    server = nativetls.ServerContext(nativetls.TLSConfiguration(certificate_chain=chain_of(pki.server)))
    assert type(server) is nativetls.backend().server_context
    with pytest.raises(TypeError):
        nativetls.ClientContext("not a configuration")
    with pytest.raises(nativetls.ConfigurationError):
        nativetls.ServerContext(nativetls.TLSConfiguration())  # no certificate chain


def test_unknown_backend_name():
    with pytest.raises(ValueError):
        nativetls.backend("gnutls")


@pytest.mark.parametrize("name", ["schannel", "securetransport"])
def test_foreign_backends_raise_import_error_with_a_reason(name):
    if {"schannel": "win32", "securetransport": "darwin"}[name] == sys.platform:
        pytest.skip("this is the backend's own OS")
    if name == "securetransport" and os.environ.get("NATIVETLS_MAC_FRAMEWORKS"):
        pytest.skip("NATIVETLS_MAC_FRAMEWORKS loads the SecureTransport double here")
    with pytest.raises(ImportError) as info:
        nativetls.backend(name)
    assert str(info.value)
    importlib.import_module(BACKEND_NAMES[name])  # the package itself imports anywhere


def test_environment_override_and_bad_override():
    code = "import nativetls; print(nativetls.backend().name)"
    env = dict(os.environ, NATIVETLS_BACKEND="openssl")
    out = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE).communicate()[0]
    assert out.strip() == b"openssl"
    env["NATIVETLS_BACKEND"] = "securetransport" if sys.platform != "darwin" else "schannel"
    env.pop("NATIVETLS_MAC_FRAMEWORKS", None)  # the test-only override would load the SecureTransport double
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _out, err = proc.communicate()
    assert proc.returncode != 0 and b"ImportError" in err


def test_public_names_match_the_contract():
    expected = set("""Backend backend Certificate CertificateVerificationError CipherSuite ClientContext
        ConfigurationError NextProtocol PrivateKey RaggedEOF SecurityWarning ServerContext SigningChain TLSBuffer
        TLSClientConfiguration TLSConfiguration TLSError TLSServerConfiguration TLSSession TLSSocket TLSVersion
        TLSWrappedBuffer TLSWrappedSocket TrustStore WantReadError WantWriteError
        DEFAULT_CIPHER_LIST TLSImplementation""".split())
    assert set(nativetls.__all__) == expected
    for name in expected:
        assert getattr(nativetls, name).__doc__, name
    for error in ("WantReadError", "WantWriteError", "RaggedEOF", "ConfigurationError",
                  "CertificateVerificationError"):
        assert issubclass(getattr(nativetls, error), nativetls.TLSError)
    assert issubclass(nativetls.TLSError, Exception)


def test_every_public_method_has_a_docstring():
    for cls in (nativetls.TLSBuffer, nativetls.ClientContext, nativetls.ServerContext, nativetls.TLSSocket,
                nativetls.TLSConfiguration, nativetls.TrustStore, nativetls.Certificate, nativetls.PrivateKey,
                nativetls.SigningChain):
        for name, member in vars(cls).items():
            if name.startswith("_") or not (callable(member) or isinstance(member, property)):
                continue
            assert getattr(member, "__doc__", None), "%s.%s" % (cls.__name__, name)


def test_features_are_detected_not_versioned():
    backend = nativetls.backend()
    # Feature detection drives behaviour: asking for TLS 1.3 works exactly when the backend says it can.
    config = nativetls.TLSConfiguration(lowest_supported_version=nativetls.TLSVersion.TLSv1_3)
    if "tls1_3" in backend.features:
        nativetls.ClientContext(config)
    else:
        with pytest.raises(nativetls.ConfigurationError):
            nativetls.ClientContext(config)

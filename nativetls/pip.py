# -*- coding: utf-8 -*-
"""Run pip over nativetls: ``python -m nativetls.pip install SOMETHING``.

For a Python whose ``ssl`` module is missing or too old to reach a modern package index. This runs the pip
installed in this interpreter, with nativetls injected into pip's vendored urllib3 (``pip._vendor.urllib3``), so
every HTTPS request pip makes goes through the operating system's TLS library. Everything else is pip's own:
the arguments, ``--cert`` (a CA bundle that replaces the default trust), ``--client-cert``, ``PIP_*`` variables.

Certificate verification stays on. When pip is not given ``--cert``, it verifies against the CA bundle it ships
(certifi), as it always has. pip's ``--trusted-host`` still turns verification off for that host, because
the user asked for it.

What else is changed, and only in this process: pip's warning that "the ssl module in Python is not available" is
silenced (HTTPS works), and pip's ``truststore`` integration (pip 22.2+), which needs the ``ssl`` module and would
bypass nativetls, is turned off.

The module never runs anything when imported; :func:`main` does the work.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import importlib
import sys

__all__ = [str("main"), str("prepare_pip")]

# Modules of the supported pip versions (20.3 to current) whose names are patched by prepare_pip.
_TRUSTSTORE_MODULES = ("pip._internal.cli.index_command", "pip._internal.cli.req_command")
_HAS_TLS_MODULES = ("pip._internal.models.search_scope",)


def _import(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _no_truststore(*args, **kwargs):
    """pip's truststore SSLContext factory, replaced: None means "use the default (now nativetls) context"."""
    return None


def _has_tls():
    """What pip's has_tls() answers for its "ssl module is not available" warning: nativetls provides TLS."""
    return True


def prepare_pip():
    """Inject nativetls into ``pip._vendor.urllib3`` and adjust pip's ssl checks (see the module docstring).

    Raises:
        ImportError: pip is not installed in this interpreter.
    """
    import pip  # noqa: F401  (absolute_import: the installed pip, not this module)
    from .contrib.urllib3 import inject_into_urllib3, prepare
    prepare("pip._vendor.urllib3")  # before anything of pip imports it (see contrib.urllib3.prepare)
    # pip's vendored requests may try pyOpenSSL injection when it is imported without ssl: import it first, so
    # that ours is the injection in force.
    _import("pip._vendor.requests")
    inject_into_urllib3(targets=["pip._vendor.urllib3"])
    for name in _TRUSTSTORE_MODULES:
        module = _import(name)
        if module is not None and hasattr(module, "_create_truststore_ssl_context"):
            module._create_truststore_ssl_context = _no_truststore
    for name in _HAS_TLS_MODULES:
        module = _import(name)
        if module is not None and hasattr(module, "has_tls"):
            module.has_tls = _has_tls


def _pip_main():
    for name in ("pip._internal.cli.main", "pip._internal.main", "pip._internal"):
        module = _import(name)
        if module is not None and hasattr(module, "main"):
            return module.main
    raise ImportError("this pip has no known entry point (pip 20.3 or later is supported)")


def main(argv=None):
    """Run pip with *argv* (default ``sys.argv[1:]``) over nativetls; returns pip's exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        prepare_pip()
        pip_main = _pip_main()
    except ImportError as exc:
        sys.stderr.write("nativetls.pip: pip cannot be used here: %s\n" % (exc,))
        return 2
    return pip_main(args)


if __name__ == "__main__":
    sys.argv[0] = "python -m nativetls.pip"
    sys.exit(main())

"""The conformance and security lab (see docs/security-lab.md): shared helpers for tests/lab.

``tests/conftest.py`` (the parent) already puts ``tests/`` on sys.path and provides ``pki``, ``cert_factory``
and the peers; this adds ``tests/lab`` so the lab's private modules (``_limbo``, ``_lab``) import by name.
"""
from __future__ import absolute_import, division, print_function

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def lab_ns():
    """A loopback-only network namespace shared by this process's servers (see _servers.py)."""
    import _lab
    import _servers
    reason = _servers.available()
    _lab.need(reason is None, reason or "")
    ns = _servers.LoopbackNamespace()
    try:
        yield ns
    finally:
        ns.close()


def pytest_terminal_summary(terminalreporter):
    """Print the figures lab tests attach to their reports (endurance RSS, counts), also under pytest-xdist."""
    lines = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name.startswith("lab_") and getattr(report, "when", "call") == "call":
                    lines.append("%s: %s" % (name[4:], value))
    if lines:
        terminalreporter.write_sep("-", "nativetls lab figures")
        for line in sorted(set(lines)):
            terminalreporter.write_line(line)


def _lab_requested(config):
    """The lab runs when asked for by path (``pytest tests/lab``) or with NATIVETLS_LAB=1, not in every run of
    ``tests/``: it needs peers (nginx, tlslite-ng, unshare) and time that the main matrix does not budget for."""
    if os.environ.get("NATIVETLS_LAB") == "1":
        return True
    for arg in config.args:
        path = os.path.abspath(str(arg).split("::")[0])
        if path == HERE or path.startswith(HERE + os.sep):
            return True
    return False


def pytest_collection_modifyitems(config, items):
    if _lab_requested(config):
        return
    lab = [item for item in items if str(getattr(item, "fspath", "")).startswith(HERE + os.sep)]
    if lab:
        config.hook.pytest_deselected(items=lab)
        items[:] = [item for item in items if item not in lab]


def _ignored(path, config):
    path = os.path.abspath(str(path))
    return path.startswith(HERE + os.sep) and path.endswith(".py") and not _lab_requested(config) or None


if int(pytest.__version__.split(".")[0]) >= 7:
    def pytest_ignore_collect(collection_path, config):
        """Outside a lab run, the lab's modules are not even imported (no skips for its optional modules)."""
        return _ignored(collection_path, config)
else:  # pragma: no cover - pytest 4.6 on Python 2.7
    def pytest_ignore_collect(path, config):
        """Outside a lab run, the lab's modules are not even imported (no skips for its optional modules)."""
        return _ignored(path, config)

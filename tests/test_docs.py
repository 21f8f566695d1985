"""Every code example in docs/ runs, and the API reference names every public name.

The examples are taken from the Markdown sources (``docs/*.md``, the single source of each page), the way a reader
sees them:

* a ```` ```python ```` block is a complete program, run in a fresh interpreter (this one) in an empty temporary
  directory, and must exit 0 within the time limit. The examples talk to real peers on 127.0.0.1 that they start
  themselves: none needs the internet.
* a ```` ```console ```` block holds shell commands, each on a line starting with ``$ ``; ``python`` means this
  interpreter. Every command must exit 0.

A MyST comment line (``% ...``, not rendered) just before a block changes that:

* ``% test: skip (REASON)``: not run; the reason is required and is reported as the skip reason.
* ``% test: continue``: this Python block continues the page's previous Python block (they run as one program).
* ``% test: requires MODULE [MODULE ...]``: skipped when a module cannot be imported here; a ``python>=3.7``
  item skips on older interpreters (``asyncio.run``, ``http.server``'s ``directory=`` are 3.7+).

The literal examples (``::`` blocks) of the module docstrings the reference renders are fragments (they start
mid-program, or use ``await`` outside a function): they are compiled, so at least their syntax is right.

Python 3 only: the examples are written in Python 3 (``print()``, keyword-only ``daemon=``, asyncio, f-strings in
places); the Python 2.7 paths of the same APIs are covered by the rest of the suite.
"""
from __future__ import absolute_import, division, print_function

import io
import os
import re
import subprocess
import sys

import pytest

if sys.version_info[0] < 3:
    pytest.skip("the documentation's examples are Python 3 programs; the rest of the suite covers Python 2.7",
                allow_module_level=True)

import nativetls  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(os.path.dirname(HERE), "docs")
TIMEOUT = 240  # seconds per block; the slowest (pip downloading from a local index) takes a few
PYTHON_LANGS = ("python", "py", "python3")
CONSOLE_LANGS = ("console", "shell-session")

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)")
_MARKER = re.compile(r"^%\s*test:\s*(?P<what>skip|continue|requires)\b\s*(?P<rest>.*)$")


class Block(object):
    def __init__(self, page, line, lang, code, markers):
        self.page, self.line, self.lang, self.code, self.markers = page, line, lang, code, markers
        self.previous = None  # the page's previous Python block, for "% test: continue"

    @property
    def id(self):
        return "%s:%d" % (self.page, self.line)

    def marker(self, what):
        for kind, rest in self.markers:
            if kind == what:
                return rest
        return None


def _pages():
    if not os.path.isdir(DOCS):
        return []
    return sorted(name for name in os.listdir(DOCS) if name.endswith(".md") and not name.startswith("_"))


def parse_blocks(text, page):
    """The fenced code blocks of a Markdown page, with the ``% test:`` markers written just before each."""
    lines = text.splitlines()
    blocks, markers, index = [], [], 0
    while index < len(lines):
        line = lines[index]
        match = _FENCE.match(line)
        if not match:
            marker = _MARKER.match(line.strip())
            if marker:
                markers.append((marker.group("what"), marker.group("rest").strip()))
            elif line.strip():
                markers = []  # markers belong to the block right after them (blank lines allowed)
            index += 1
            continue
        fence, info = match.group("fence"), match.group("info").strip("{}").lower()
        if info in ("code-block", "code"):  # ```{code-block} python
            info = line[match.end():].strip().split()[0].lower() if line[match.end():].strip() else ""
        body, index = [], index + 1
        while index < len(lines) and not lines[index].strip().startswith(fence[0] * len(fence)):
            body.append(lines[index])
            index += 1
        index += 1
        blocks.append(Block(page, index - len(body) - 1, info, "\n".join(body) + "\n", markers))
        markers = []
    previous = None
    for block in blocks:
        if block.lang in PYTHON_LANGS:
            block.previous = previous
            previous = block
    return blocks


def all_blocks():
    blocks = []
    for page in _pages():
        with io.open(os.path.join(DOCS, page), encoding="utf-8") as handle:
            blocks.extend(parse_blocks(handle.read(), page))
    return blocks


BLOCKS = all_blocks()
PYTHON_BLOCKS = [b for b in BLOCKS if b.lang in PYTHON_LANGS]
CONSOLE_BLOCKS = [b for b in BLOCKS if b.lang in CONSOLE_LANGS]


def _environment():
    env = dict(os.environ)
    # The examples import the nativetls this test imported (the installed one under tox).
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(nativetls.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in [env.get("PYTHONPATH")] if p])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("SSLKEYLOGFILE", None)
    return env


def _check_markers(block):
    skip = block.marker("skip")
    if skip is not None:
        assert skip.strip("() "), "%s: '%% test: skip' needs a reason" % block.id
        pytest.skip("%s: %s" % (block.id, skip.strip("() ")))
    requires = block.marker("requires")
    if requires:
        for item in requires.split():
            version = re.match(r"^python>=(\d+)\.(\d+)$", item)
            if version:
                if sys.version_info[:2] < (int(version.group(1)), int(version.group(2))):
                    pytest.skip("%s needs Python %s.%s or later" % ((block.id,) + version.groups()))
            else:
                pytest.importorskip(item, reason="%s needs %s" % (block.id, item))


def _program(block):
    parts = [block]
    while parts[0].marker("continue") is not None:
        assert parts[0].previous is not None, "%s: '%% test: continue' with no Python block before it" % block.id
        parts.insert(0, parts[0].previous)
    return "\n".join(part.code for part in parts)


def _run(argv, tmp_path, label, **kwargs):
    try:
        proc = subprocess.run(argv, cwd=str(tmp_path), env=_environment(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=TIMEOUT, **kwargs)
    except subprocess.TimeoutExpired as exc:
        pytest.fail("%s did not finish in %d s; output so far:\n%s"
                    % (label, TIMEOUT, (exc.output or b"").decode("utf-8", "replace")))
    output = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, "%s exited %d:\n%s" % (label, proc.returncode, output)
    return output


def test_the_docs_have_examples():
    assert PYTHON_BLOCKS and CONSOLE_BLOCKS, "no examples found in %s" % DOCS


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.id for b in PYTHON_BLOCKS])
def test_python_example(block, tmp_path):
    _check_markers(block)
    script = tmp_path / "example.py"
    script.write_text(_program(block), encoding="utf-8")
    _run([sys.executable, str(script)], tmp_path, "the example at docs/%s" % block.id)


def _commands(block):
    commands = [line[2:].strip() for line in block.code.splitlines() if line.startswith("$ ")]
    assert commands, "%s: a console block without '$ ' commands" % block.id
    return commands


@pytest.mark.parametrize("block", CONSOLE_BLOCKS, ids=[b.id for b in CONSOLE_BLOCKS])
def test_console_example(block, tmp_path):
    _check_markers(block)
    for command in _commands(block):
        argv = command.split()
        if argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        _run(argv, tmp_path, "docs/%s: %s" % (block.id, command))


def test_markers_are_understood():
    """A misspelt marker would silently run (or not skip) a block: every '% test:' line must parse."""
    for page in _pages():
        with io.open(os.path.join(DOCS, page), encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if re.match(r"^%\s*test", line.strip()):
                    assert _MARKER.match(line.strip()), "docs/%s:%d: unknown marker %r" % (page, number, line)


def test_no_python_hides_in_untagged_blocks():
    """An untagged fence (```) is shown as text and not run: it must not hold a Python example."""
    for block in BLOCKS:
        if not block.lang:
            assert "import nativetls" not in block.code, "docs/%s: tag this block ```python" % block.id


# --- the API reference -----------------------------------------------------------------------------------------
def _reference():
    with io.open(os.path.join(DOCS, "reference.rst"), encoding="utf-8") as handle:
        return handle.read()


def _documented(text, module):
    """Names documented in reference.rst under ``currentmodule``/``automodule`` *module*."""
    names, current = set(), None
    for line in text.splitlines():
        match = re.match(r"^\.\. (?:currentmodule|automodule):: (\S+)", line)
        if match:
            current = match.group(1)
            continue
        match = re.match(r"^\.\. (?:auto\w+|py:\w+):: ([\w.]+)", line)
        if match and current == module:
            names.add(match.group(1))
        match = re.match(r"^\s+:members: (.+)$", line)
        if match and current == module:
            names.update(n.strip() for n in match.group(1).split(","))
    return names


@pytest.mark.parametrize("module", ["nativetls", "nativetls.contrib.urllib3", "nativetls.asyncio", "nativetls.pip",
                                    "nativetls.insecure"])
def test_reference_documents_every_public_name(module):
    imported = __import__(module, fromlist=["__all__"])
    missing = set(imported.__all__) - _documented(_reference(), module)
    assert not missing, "docs/reference.rst does not document %s.%s" % (module, ", ".join(sorted(missing)))


def _docstring_examples(obj):
    """The literal blocks (after a line ending in ``::``) of *obj*'s docstring."""
    doc = obj.__doc__ or ""
    lines = doc.expandtabs().splitlines()
    examples, index = [], 0
    while index < len(lines):
        if lines[index].rstrip().endswith("::"):
            index += 1
            while index < len(lines) and not lines[index].strip():
                index += 1
            if index == len(lines):
                break
            indent = len(lines[index]) - len(lines[index].lstrip())  # the literal block's own indentation
            body = []
            while index < len(lines) and (not lines[index].strip() or
                                          len(lines[index]) - len(lines[index].lstrip()) >= indent):
                body.append(lines[index])
                index += 1
            code = "\n".join(body).strip("\n")
            if code:
                examples.append(_dedent(code))
        else:
            index += 1
    return examples


def _dedent(code):
    import textwrap
    return textwrap.dedent(code)


@pytest.mark.parametrize("module", ["nativetls", "nativetls.contrib.urllib3", "nativetls.asyncio", "nativetls.pip",
                                    "nativetls.insecure"])
def test_docstring_examples_compile(module):
    imported = __import__(module, fromlist=["__all__"])
    objects = [imported] + [getattr(imported, name) for name in imported.__all__]
    flags = getattr(__import__("ast"), "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    for obj in objects:
        for code in _docstring_examples(obj):
            if not flags and "await" in code:
                continue  # Python < 3.8 cannot compile a top-level await
            compile(code, "<docstring of %s>" % getattr(obj, "__name__", module), "exec", flags=flags)

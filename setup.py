# -*- coding: utf-8 -*-
"""nativetls: TLS over the operating system's own TLS stack; pure Python + ctypes, no compiler needed."""
import io
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
with io.open(os.path.join(HERE, "nativetls", "__init__.py"), encoding="utf-8") as handle:
    VERSION = re.search(r'^__version__ = "([^"]+)"', handle.read(), re.M).group(1)
with io.open(os.path.join(HERE, "README.md"), encoding="utf-8") as handle:
    LONG_DESCRIPTION = handle.read()

setup(
    name="nativetls",
    version=VERSION,
    description="PEP 543-style TLS over the OS's native TLS stack (OpenSSL, SChannel, SecureTransport) via ctypes",
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/markdown",
    license="MIT",
    packages=find_packages(include=["nativetls", "nativetls.*"]),
    package_data={"nativetls": ["py.typed", "*.pyi"], "nativetls.contrib": ["*.pyi"]},  # PEP 561 (tox -e stubs)
    python_requires=">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*",
    install_requires=["asn1crypto>=1.0", "enum34; python_version<'3.4'"],
    zip_safe=True,
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Intended Audience :: Developers",
        "License :: OSI Approved :: MIT License",
        "Operating System :: POSIX :: Linux",
        "Programming Language :: Python :: 2",
        "Programming Language :: Python :: 2.7",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.6",
        "Programming Language :: Python :: 3.7",
        "Programming Language :: Python :: 3.8",
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Security :: Cryptography",
    ],
)

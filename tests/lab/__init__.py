"""The conformance and security lab (docs/security-lab.md). A package so that its conftest and test modules do
not shadow tests/conftest.py ("from conftest import ...") under pytest's default import mode."""

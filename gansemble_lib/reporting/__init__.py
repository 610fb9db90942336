"""Reporting: figures of the verdicts, the report document, RESULTS.md and the README's
answer, the colophon, and ``verify``. Imports only the layers below."""

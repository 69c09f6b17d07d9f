"""Publishable copies: redaction, encoding, metadata scrubbing and the export of files and folders."""

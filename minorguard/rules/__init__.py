"""Rule 5 and its policy: pure decisions from plain data (no register, model or file reader is imported here)."""

"""Training scripts for minorguard's learned parts (run from the repository root)."""

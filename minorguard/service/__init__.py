"""The web service (``minorguard serve``): check and export endpoints for publishing tools, on the application layer."""

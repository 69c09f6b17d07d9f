"""The review page: its web application, server, lookups of reviewers' decisions and people rows."""

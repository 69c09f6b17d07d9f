"""The review page: its web application and server, where reviewers decide what the models could not."""

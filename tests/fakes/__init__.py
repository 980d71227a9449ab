"""TEST DOUBLES of vendor APIs (GitLab, Harbor, Jenkins) and the plumbing that serves them over
HTTPS on 127.0.0.1. None of this is the vendors' software, and ``src/`` never imports it."""

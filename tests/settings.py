"""Test settings: production settings with a throwaway key, so tests run with DEBUG off like production.

Each run gets its own var directory (database file, analytics store, outbox), so two suites on one machine —
two worktrees, or a suite next to a benchmark — never share files. pytest-xdist workers inherit the
controller's directory through the environment (set before they start), and the run that made it removes it
at exit. An explicit GRIDCARE_VAR_DIR is honoured and left alone.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "gridcare-tests-not-secret")
if not os.environ.get("GRIDCARE_VAR_DIR"):
    _var_dir = tempfile.mkdtemp(prefix="gridcare-test-var-")
    os.environ["GRIDCARE_VAR_DIR"] = _var_dir
    atexit.register(shutil.rmtree, _var_dir, ignore_errors=True)

from gridcare.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
# Tests build the network and call at once: prediction must see every change (production looks once a second).
GRIDCARE_TOPOLOGY_RECHECK_MS = 0

"""Test settings: production settings with a throwaway key, so tests run with DEBUG off like production."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "gridcare-tests-not-secret")
os.environ.setdefault("GRIDCARE_VAR_DIR", os.path.join(tempfile.gettempdir(), "gridcare-test-var"))

from gridcare.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests

"""Django configured once per test process, for tests/adapters/test_django.py and the guide.

``settings.configure`` may run only once in a process, so every Django test (and
tests/test_docs.py for docs/guides/django.md) goes through :func:`setup`; each test then sets
its own ``COGNITO_JWT``, ``MIDDLEWARE`` and ``ROOT_URLCONF`` with ``override_settings``.
"""

from __future__ import annotations

import django
from django.conf import settings


def setup() -> None:
    """Configure Django for the tests (idempotent): no database, DRF and drf-spectacular."""
    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-only-not-a-secret",
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        ROOT_URLCONF="tests.adapters.django_views",
        MIDDLEWARE=["cognito_jwt.adapters.django.BearerAuthMiddleware"],
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "drf_spectacular",
        ],
        DATABASES={},
        USE_TZ=True,
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "cognito_jwt.adapters.django.CognitoJwtAuthentication"
            ],
            "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        },
    )
    django.setup()

"""Django configured once per test process, for tests/adapters/test_django.py and the guide.

``settings.configure`` may run only once in a process, so every Django test (and
tests/test_docs.py for docs/guides/django.md) goes through :func:`setup`; each test then sets
its own ``COGNITO_JWT``, ``MIDDLEWARE`` and ``ROOT_URLCONF`` with ``override_settings``.
"""

from __future__ import annotations

import django
from django.conf import settings

_migrated: list[bool] = []


def setup(*, database: bool = False) -> None:
    """Configure Django for the tests (idempotent): DRF, drf-spectacular, an in-memory database.

    Args:
        database: Also create the tables of ``django.contrib.auth`` (once per process).
    """
    if not settings.configured:
        _configure()
    if database and not _migrated:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        _migrated.append(True)


def _configure() -> None:
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
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "cognito_jwt.adapters.django.CognitoJwtAuthentication"
            ],
            "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        },
    )
    django.setup()

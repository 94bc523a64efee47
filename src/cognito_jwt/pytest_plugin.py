"""pytest fixtures for testing your own protected code against a local issuer.

Installed with the package and registered under the ``pytest11`` entry point
``cognito_jwt``, so the fixtures are available in every test once ``cognito-jwt`` is
installed (disable with ``-p no:cognito_jwt``; load explicitly with
``-p cognito_jwt.pytest_plugin`` or ``pytest_plugins = ["cognito_jwt.pytest_plugin"]``):

* ``jwt_issuer``: a started :class:`~cognito_jwt.testing.LocalIssuer` (RS256, on 127.0.0.1),
  new for each test and stopped after it; rotate, retire, fail or slow it down freely.
* ``jwt_issuer_session``: one issuer shared by the whole test session (faster when many tests
  only mint tokens). Tests that change its state (rotate, fail, slow) should use
  ``jwt_issuer`` instead, or call ``recover()`` when done.

```python
def test_orders_needs_a_token(jwt_issuer):
    verifier = jwt_issuer.cognito_verifier(
        user_pool_id="eu-west-1_AbCdEf123", client_id="my-client", token_use="access"
    )
    app = create_app(verifier)  # your app, built around the verifier it is given
    token = jwt_issuer.cognito_access_token(
        user_pool_id="eu-west-1_AbCdEf123", client_id="my-client", scope="orders/read"
    )
    ...
```

No network beyond loopback and no cloud account: the issuer serves OpenID Connect discovery
and its JWKS from a background thread, and mints the tokens it is asked for.

This is the only module of the package that imports pytest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .testing import LocalIssuer

__all__ = ["jwt_issuer", "jwt_issuer_session"]


@pytest.fixture
def jwt_issuer() -> Iterator[LocalIssuer]:
    """A started :class:`~cognito_jwt.testing.LocalIssuer`, stopped after the test."""
    with LocalIssuer() as issuer:
        yield issuer


@pytest.fixture(scope="session")
def jwt_issuer_session() -> Iterator[LocalIssuer]:
    """One started :class:`~cognito_jwt.testing.LocalIssuer` for the whole test session."""
    with LocalIssuer() as issuer:
        yield issuer

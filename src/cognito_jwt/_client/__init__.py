"""The client side: what a relying party uses to *get* tokens, never to verify them.

* ``_sign``: compact JWS signing (also used by :mod:`cognito_jwt.testing` to issue tokens).
* ``_private_keys``: private keys from PEM and JWK, and which algorithms fit a key.
* ``_assertion``: ``private_key_jwt`` client assertions (RFC 7523), :class:`ClientAssertionSigner`.
* ``_keygen``: :func:`generate_client_key` (a key pair and what to register with a provider).
* ``_oauth``: :class:`TokenClient`, PKCE and authorization URLs.

The verifier side never imports this package on the verification path; the public names are
exported (lazily) by :mod:`cognito_jwt`. It imports from the shared lower floors (``_algorithms``,
``_jwk``, ``_b64``, ``_errors``, ``_url_policy``, ``_discovery``, ``_http``), never from the
verifiers.
"""

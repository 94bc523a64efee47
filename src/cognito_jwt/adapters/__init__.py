"""Integrations with web platforms.

Each adapter uses only the public API of ``cognito_jwt``, and the core never imports an
adapter: pay only for what you use.
"""

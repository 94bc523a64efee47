"""boto3 clients bound to a local emulator (MiniStack, moto's server) and nothing else.

Built on a botocore session that reads no profile, config or credentials file of the
developer's or CI's, with dummy credentials, the local endpoint, no proxies and no retries.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

ISOLATED_SESSION_VARS: dict[str, tuple[Any, Any, Any, Any]] = {
    "profile": (None, None, None, None),
    "config_file": (None, None, os.devnull, None),
    "credentials_file": (None, None, os.devnull, None),
    "ca_bundle": (None, None, None, None),
    "data_path": (None, None, None, None),
}


def isolated_client(
    service: str,
    *,
    region: str,
    endpoint_url: str,
    read_timeout: float = 60,
    access_key: str = "testing",
    session_token: str | None = "testing",  # noqa: S107 - a local emulator's dummy token
) -> Any:
    """A boto3 client for *service* at *endpoint_url* (``access_key`` is also the secret)."""
    session = boto3.session.Session(
        botocore_session=botocore.session.Session(session_vars=ISOLATED_SESSION_VARS)
    )
    return session.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=access_key,
        aws_session_token=session_token,
        config=Config(
            proxies={},
            ignore_configured_endpoint_urls=True,
            connect_timeout=5,
            read_timeout=read_timeout,
            retries={"total_max_attempts": 1},
        ),
    )

"""``FetchOptions`` and ``RefreshPolicy``: validation, max-age clamping and backoff."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from cognito_jwt import ConfigurationError, FetchOptions, RefreshPolicy

BAD_NUMBERS: list[Any] = [0, -1, -0.5, math.nan, math.inf, -math.inf, True, False, "5", None]


# === FetchOptions =================================================================================
def test_fetch_options_defaults() -> None:
    options = FetchOptions()
    assert options.timeout == 5.0
    assert options.connect_timeout == 3.0
    assert options.retries == 1
    assert options.max_bytes == 512 * 1024
    assert options.follow_redirects is False
    assert options.allow_insecure_http is False
    assert dict(options.headers) == {}
    assert options.client is None
    assert options.async_client is None


@pytest.mark.parametrize("name", ["timeout", "connect_timeout", "max_bytes"])
@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_fetch_options_positive_numbers(name: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=f"FetchOptions.{name} must be a positive"):
        FetchOptions(**{name: value})


@pytest.mark.parametrize("name", ["timeout", "connect_timeout", "max_bytes"])
def test_fetch_options_small_positive_numbers_are_fine(name: str) -> None:
    assert getattr(FetchOptions(**{name: 1}), name) == 1


@pytest.mark.parametrize("retries", [0, 1, 5])
def test_fetch_options_retries_in_range(retries: int) -> None:
    assert FetchOptions(retries=retries).retries == retries


@pytest.mark.parametrize("retries", [-1, 6, 100, 1.0, 1.5, True, False, "1", None])
def test_fetch_options_retries_out_of_range(retries: Any) -> None:
    with pytest.raises(ConfigurationError, match="retries"):
        FetchOptions(retries=retries)


def test_fetch_options_headers_of_strings() -> None:
    options = FetchOptions(headers={"x-api-key": "k", "Accept-Language": "en"})
    assert options.headers["x-api-key"] == "k"


@pytest.mark.parametrize(
    "headers",
    [{"x-api-key": 1}, {1: "v"}, {"x": None}, {"x": b"v"}, {b"x": "v"}],
)
def test_fetch_options_headers_must_map_strings_to_strings(headers: Any) -> None:
    with pytest.raises(ConfigurationError, match="headers"):
        FetchOptions(headers=headers)


@pytest.mark.parametrize("headers", [[("x-api-key", "k")], None, "x-api-key: k"])
def test_fetch_options_headers_not_a_mapping_is_a_configuration_error(headers: Any) -> None:
    # Anything but a mapping must be refused with the library's own error (not AttributeError).
    with pytest.raises(ConfigurationError, match="headers"):
        FetchOptions(headers=headers)


def test_fetch_options_are_frozen_and_compare_without_clients() -> None:
    options = FetchOptions()
    with pytest.raises(AttributeError):
        options.timeout = 1  # type: ignore[misc]
    with httpx.Client() as client:
        assert FetchOptions(client=client) == FetchOptions()


# === RefreshPolicy: validation ====================================================================
POLICY_FIELDS = [
    "max_age",
    "min_max_age",
    "max_max_age",
    "max_stale",
    "stale_if_error",
    "cooldown",
    "negative_kid_ttl",
    "negative_kid_max",
    "backoff_initial",
    "backoff_max",
    "failure_rate",
    "failure_window",
    "failure_min_samples",
]


def test_refresh_policy_defaults() -> None:
    policy = RefreshPolicy()
    assert (policy.min_max_age, policy.max_age, policy.max_max_age) == (60, 3600, 6 * 3600)
    assert (policy.max_stale, policy.stale_if_error) == (12 * 3600, 24 * 3600)
    assert (policy.cooldown, policy.negative_kid_ttl, policy.negative_kid_max) == (30, 60, 1024)
    assert (policy.backoff_initial, policy.backoff_max) == (5, 300)
    assert (policy.failure_rate, policy.failure_window, policy.failure_min_samples) == (
        0.10,
        60,
        20,
    )


@pytest.mark.parametrize("name", POLICY_FIELDS)
@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_refresh_policy_every_field_positive(name: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=f"RefreshPolicy.{name} must be a positive"):
        RefreshPolicy(**{name: value})


ORDERED = ["min_max_age", "max_age", "max_max_age", "max_stale", "stale_if_error"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"min_max_age": 3601},  # min_max_age > max_age
        {"max_age": 59},  # max_age < min_max_age
        {"max_age": 6 * 3600 + 1},  # max_age > max_max_age
        {"max_age": 13 * 3600, "max_max_age": 13 * 3600},  # max_age > max_stale
        {"max_stale": 24 * 3600 + 1},  # max_stale > stale_if_error
        {"stale_if_error": 3600},  # stale_if_error < max_stale
        {"max_stale": 1800, "stale_if_error": 1800},  # max_stale < max_age
    ],
)
def test_refresh_policy_ordering(overrides: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError, match=r"RefreshPolicy needs .*<="):
        RefreshPolicy(**overrides)


def test_refresh_policy_equal_bounds_are_allowed() -> None:
    policy = RefreshPolicy(
        min_max_age=10, max_age=10, max_max_age=10, max_stale=10, stale_if_error=10
    )
    assert [getattr(policy, name) for name in ORDERED] == [10] * 5


def test_refresh_policy_max_max_age_above_max_stale_is_clamped_to_max_stale() -> None:
    # The issuer's max-age may not keep keys "fresh" past max_stale, whatever max_max_age says.
    policy = RefreshPolicy(max_age=600, max_max_age=7200, max_stale=3600, stale_if_error=3600)
    assert policy.effective_max_age(10**6) == 3600
    assert policy.effective_max_age(1800) == 1800
    assert policy.effective_max_age(None) == 600


@pytest.mark.parametrize("rate", [1.0001, 2, 100])
def test_refresh_policy_failure_rate_at_most_one(rate: float) -> None:
    with pytest.raises(ConfigurationError, match="failure_rate"):
        RefreshPolicy(failure_rate=rate)


@pytest.mark.parametrize("rate", [0.0001, 0.5, 1])
def test_refresh_policy_failure_rate_share(rate: float) -> None:
    assert RefreshPolicy(failure_rate=rate).failure_rate == rate


# === effective_max_age ============================================================================
@pytest.mark.parametrize(
    ("issuer_max_age", "expected"),
    [
        (None, 3600),
        (0.0, 60),  # no-cache / no-store: the lower bound
        (1, 60),
        (59.9, 60),
        (60, 60),
        (600, 600),
        (6 * 3600, 6 * 3600),
        (6 * 3600 + 1, 6 * 3600),
        (10**10, 6 * 3600),
    ],
)
def test_effective_max_age_clamps(issuer_max_age: float | None, expected: float) -> None:
    assert RefreshPolicy().effective_max_age(issuer_max_age) == expected


def test_effective_max_age_uses_custom_bounds() -> None:
    policy = RefreshPolicy(min_max_age=5, max_age=30, max_max_age=100)
    assert policy.effective_max_age(None) == 30
    assert policy.effective_max_age(1) == 5
    assert policy.effective_max_age(1000) == 100


# === backoff ======================================================================================
def test_backoff_doubles_and_caps() -> None:
    policy = RefreshPolicy()
    assert [policy.backoff(n) for n in range(8)] == [0.0, 5, 10, 20, 40, 80, 160, 300]
    assert policy.backoff(100) == 300
    assert policy.backoff(10**9) == 300  # the exponent is capped: no overflow
    assert policy.backoff(-3) == 0.0
    assert isinstance(policy.backoff(2), float)


def test_backoff_custom() -> None:
    policy = RefreshPolicy(backoff_initial=1.5, backoff_max=4)
    assert [policy.backoff(n) for n in range(1, 5)] == [1.5, 3.0, 4.0, 4.0]


# === Hostile values (hardening 2.5) ===============================================================
@pytest.mark.parametrize(
    "value",
    [10**5000, -(10**5000), float("nan"), [10**5000], 1e308 * 10],
    ids=["huge", "-huge", "nan", "list", "inf"],
)
@pytest.mark.parametrize("cls", [FetchOptions, RefreshPolicy])
def test_unprintable_and_non_finite_values_are_configuration_errors(cls: Any, value: Any) -> None:
    name = "timeout" if cls is FetchOptions else "cooldown"
    with pytest.raises(ConfigurationError) as info:
        cls(**{name: value})
    assert len(str(info.value)) < 200

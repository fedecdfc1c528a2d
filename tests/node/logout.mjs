// An app's side of logout with panva's libraries, against b2b-idp:
// openid-client builds the RP-initiated logout URL from discovery, and
// the app's back-channel endpoint verifies the logout token with jose
// (the tenant's JWKS, iss, aud, typ logout+jwt), as OIDC Back-Channel
// Logout 1.0 §2.6 says.
//
//   node logout.mjs ISSUER CLIENT_ID SECRET ID_TOKEN POST_LOGOUT_REDIRECT_URI PORT
//     → {"logout_url"} once listening on 127.0.0.1:PORT (POST /logout),
//     → {"claims", "header"} of the first logout token, verified; then exits.
//
// TLS trust through NODE_EXTRA_CA_CERTS.
import http from 'node:http';
import * as client from 'openid-client';
import * as jose from 'jose';

const [issuer, clientId, secret, idToken, postLogout, port] = process.argv.slice(2);
const config = await client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretBasic(secret));
const metadata = config.serverMetadata();
if (!metadata.backchannel_logout_supported || !metadata.backchannel_logout_session_supported) {
  throw new Error('discovery does not offer back-channel logout with sid');
}
const jwks = jose.createRemoteJWKSet(new URL(metadata.jwks_uri));
const session = jose.decodeJwt(idToken).sid;
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', async () => {
    try {
      const token = new URLSearchParams(body).get('logout_token');
      const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
        issuer: metadata.issuer,
        audience: clientId,
        typ: 'logout+jwt',
        requiredClaims: ['iat', 'exp', 'jti', 'events'],
      });
      if (typeof payload.events?.[EVENT] !== 'object' || 'nonce' in payload || payload.sid !== session) {
        throw new Error(`not a logout token for this session: ${JSON.stringify(payload)}`);
      }
      res.writeHead(200).end();
      console.log(JSON.stringify({ claims: payload, header: protectedHeader }));
      server.close();
    } catch (e) {
      res.writeHead(400).end();
      console.error(String(e));
      process.exit(1);
    }
  });
});
server.listen(Number(port), '127.0.0.1', () => {
  const url = client.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: postLogout, state: 'bye' });
  console.log(JSON.stringify({ logout_url: url.href }));
});

// panva's openid-client (v6) against b2b-idp: a pushed authorization
// request (RFC 9126), then the code grant with its checks (PKCE, state,
// nonce, the ID token's signature and claims, RFC 9207's iss).
//
//   node par.mjs push ISSUER CLIENT_ID SECRET REDIRECT_URI SCOPE
//     → {"url": the authorization URL (client_id and request_uri only), "verifier", "state", "nonce"}
//   node par.mjs callback ISSUER CLIENT_ID SECRET CALLBACK_URL VERIFIER STATE NONCE
//     → {"claims": the verified ID token's claims, "access_token"}
//
// TLS trust through NODE_EXTRA_CA_CERTS.
import * as client from 'openid-client';

const [mode, issuer, clientId, secret, ...rest] = process.argv.slice(2);
const config = await client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretBasic(secret));

if (mode === 'push') {
  const [redirectUri, scope] = rest;
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri,
    scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  console.log(JSON.stringify({ url: url.href, verifier, state, nonce }));
} else if (mode === 'callback') {
  const [callback, verifier, state, nonce] = rest;
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  console.log(JSON.stringify({ claims: tokens.claims(), access_token: tokens.access_token }));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}

"""MSAL for Python's on-behalf-of flow against b2b-idp, as against Entra.

Usage: msal_on_behalf_of.py BASE_URL TENANT_ID CLIENT_ID SECRET ASSERTION SCOPE
(TLS trust through REQUESTS_CA_BUNDLE). The middle-tier API CLIENT_ID
exchanges the user's access token ASSERTION for a token to SCOPE with
ConfidentialClientApplication.acquire_token_on_behalf_of. Prints what MSAL
returned, as JSON: the tokens, or the error with its claims challenge.
"""
import json
import sys

import msal

base, tenant_id, client_id, secret, assertion, scope = sys.argv[1:7]
app = msal.ConfidentialClientApplication(
    client_id, authority=f"{base}/{tenant_id}", client_credential=secret, instance_discovery=False
)
got = app.acquire_token_on_behalf_of(assertion, scopes=[scope])
print(json.dumps({k: got.get(k) for k in ("access_token", "refresh_token", "scope", "error", "error_description", "claims")}))

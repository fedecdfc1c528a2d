"""MSAL for Python's device code flow against b2b-idp, as against Entra.

Usage: msal_device_flow.py BASE_URL TENANT_ID CLIENT_ID
(TLS trust through REQUESTS_CA_BUNDLE). PublicClientApplication starts the
flow (initiate_device_flow) and prints it as one JSON line; the caller
signs in at the page it names; acquire_token_by_device_flow polls until
then and its result is printed as a second JSON line.
"""
import json
import sys

import msal

base, tenant_id, client_id = sys.argv[1:4]
app = msal.PublicClientApplication(client_id, authority=f"{base}/{tenant_id}", instance_discovery=False)
flow = app.initiate_device_flow(scopes=[])
print(json.dumps({k: flow.get(k) for k in ("user_code", "verification_uri", "verification_uri_complete", "message", "interval", "error", "error_description")}), flush=True)
if "user_code" not in flow:
    sys.exit(0)
got = app.acquire_token_by_device_flow(flow)
keys = ("access_token", "refresh_token", "id_token_claims", "error", "error_description")
print(json.dumps({k: got.get(k) for k in keys}), flush=True)

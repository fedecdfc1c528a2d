"""MSAL for Python's certificate credential against b2b-idp, as against Entra.

Usage: msal_certificate.py BASE_URL TENANT_ID ADMIN_TOKEN SCOPE
(TLS trust through REQUESTS_CA_BUNDLE). Makes an RSA key and a self-signed
certificate, registers the certificate on a new application through the
admin API (Graph's keyCredentials), then acquires a token for the client
twice: with the SHA-1 thumbprint (MSAL signs RS256 with x5t) and with the
public certificate (PS256 with x5t#S256 and x5c). Prints JSON: the client
id and, per way, the algorithm MSAL signed with and what it got.
"""
import base64
import datetime
import json
import sys

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

base, tenant_id, admin_token, scope = sys.argv[1:5]

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nightly-export")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (
    x509.CertificateBuilder()
    .subject_name(name)
    .issuer_name(name)
    .public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(minutes=5))
    .not_valid_after(now + datetime.timedelta(days=30))
    .sign(key, hashes.SHA256())
)
key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()

registered = requests.post(
    f"{base}/{tenant_id}/v1.0/applications",
    headers={"Authorization": f"Bearer {admin_token}"},
    json={
        "displayName": "Nightly export (MSAL)",
        "requiredResourceAccess": [
            {"resourceAppId": "api://b2b-idp-admin", "resourceAccess": [{"id": "AuditLog.Read.All", "type": "Role"}]}
        ],
        "keyCredentials": [
            {
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "key": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(),
            }
        ],
    },
    timeout=30,
)
registered.raise_for_status()
client_id = registered.json()["appId"]


class Recording(requests.Session):
    """The HTTP client MSAL is given: remembers the assertion it sends."""

    assertion = None

    def post(self, url, data=None, **kwargs):
        if isinstance(data, dict) and "client_assertion" in data:
            Recording.assertion = data["client_assertion"]
        return super().post(url, data=data, **kwargs)


def header_alg(jwt):
    head = (jwt.decode() if isinstance(jwt, bytes) else jwt).split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["alg"]


results = {"client_id": client_id}
credentials = {
    "thumbprint": {"private_key": key_pem, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()},
    "public_certificate": {"private_key": key_pem, "public_certificate": cert_pem},
}
for way, credential in credentials.items():
    http = Recording()
    app = msal.ConfidentialClientApplication(
        client_id,
        authority=f"{base}/{tenant_id}",
        client_credential=credential,
        http_client=http,
        instance_discovery=False,
    )
    got = app.acquire_token_for_client(scopes=[scope])
    results[way] = {
        "alg": header_alg(Recording.assertion) if Recording.assertion else None,
        "access_token": got.get("access_token"),
        "error": got.get("error"),
        "error_description": got.get("error_description"),
    }
print(json.dumps(results))

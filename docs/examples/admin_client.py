"""The admin API through a client generated from /openapi.json
(openapi-python-client): register an app, give it a secret, list the
guests. Run: python admin_client.py BASE_URL TOKEN (tests/it/openapi.rs
runs it against a demo server)."""

import sys

from b2b_idp_admin import AuthenticatedClient
from b2b_idp_admin.api.default import get_users, post_applications, post_applications_id_add_password
from b2b_idp_admin.models import AddPassword, ApplicationFields, GraphApplication, NewPassword, RedirectUris, Tenant

base_url, token = sys.argv[1], sys.argv[2]
client = AuthenticatedClient(base_url=base_url, token=token)

app = post_applications.sync(
    Tenant.CONTOSO,
    client=client,
    body=ApplicationFields(display_name="Payroll", web=RedirectUris(redirect_uris=["https://payroll.contoso.example/callback"])),
)
assert isinstance(app, GraphApplication), app
secret = post_applications_id_add_password.sync(
    Tenant.CONTOSO, app.app_id, client=client, body=AddPassword(password_credential=NewPassword(display_name="CI"))
)
print("registered", app.app_id, "with a secret ending", secret.end_date_time)

page = get_users.sync(Tenant.CONTOSO, client=client, top=50, filter_="userType eq 'Member'")
print("members:", ", ".join(user.mail for user in page.value))

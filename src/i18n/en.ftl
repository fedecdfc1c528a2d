# Pages and messages people read, in English (the fallback of the others).
# Arguments are text: templates escape the whole message.

## Sign-in
sign-in = Sign in
sign-in-to = to { $app } · { $tenant }
email = Email
next = Next
guest-hint = Guests: enter your email and you continue at your own organisation.
enter-password = Enter password
password = Password
forgot-password = Forgot your password?
use-another-account = Use another account
error-enter-email = Enter your email address.
error-enter-password = Enter your password.
error-incorrect-password = Incorrect email or password.
error-account-disabled = Your account has been disabled. Contact your administrator to enable it.
error-locked-out = Too many failed sign-ins. Wait a few minutes, then try again.
account = Account

## Consent
consent-title = Permissions requested
consent-publisher = Publisher domain: { $domain }
consent-intro = { $app } would like to:
signed-in-as = Signed in as { $email }.
accept = Accept
cancel = Cancel
scope-openid = Sign you in
scope-profile = Read your profile (name and organisation)
scope-email = See your email address
scope-offline_access = Keep access when you are not present
scope-resource-default = Use { $app } as you
scope-resource = Use { $app } as you: { $permission }

## Common
continue = Continue
verify = Verify
code = Code
form-post-noscript = Press Continue to return to the application.
request-id = Request id:

## Errors
error-title = Something went wrong
invalid-request-title = This sign-in request is not valid
access-blocked-title = Access blocked
access-blocked = { $tenant } does not allow you to use { $app } (conditional access policy “{ $policy }”). Contact its administrators if you need access.
not-found-title = Page not found
not-found = There is nothing at this address. Check the link you followed.
unknown-tenant-title = Organisation not found
unknown-tenant = There is no such organisation here. Check the link you followed.
internal-error = Something went wrong on our side. If it happens again, give the request id below to the administrators.

## Sign-out
sign-out = Sign out
sign-out-question = Sign out?
sign-out-intro = An application asked to sign you out of { $tenant }.
signed-out-title = You have signed out
signed-out = You can close this window.

## Second factor
mfa-enrol-title = Set up your authenticator app
mfa-prompt-title = Enter code
mfa-required = { $tenant } requires a second sign-in step.
mfa-scan = Scan this QR code with an authenticator app, or type the key in by hand.
mfa-qr-label = QR code to add { $email } to an authenticator app
mfa-key = Key
mfa-code-from-app = Code from the app
mfa-code-from-your-app = Code from your authenticator app
mfa-lost-phone = Lost your phone? Use a recovery code
mfa-use-recovery = Use recovery code
mfa-wrong-code = That code is not right.
mfa-wrong-enrolment-code = That code is not right. Check the time on your phone and enter the current code.
mfa-wrong-recovery-code = That recovery code is not valid.
mfa-old-app-removed = Your old authenticator app is removed. Set up the new one now.
recovery-title = Save your recovery codes
recovery-intro = If you lose your phone, each of these codes lets you in once and removes the old app. They are shown only now.

## One-time passcode
passcode-title = Enter code
passcode-sent = We sent a code to { $email }. It is valid for a limited time.
passcode-wrong = { $left ->
    [one] That code is not right. One attempt left.
   *[other] That code is not right. { $left } attempts left.
}
passcode-resend = Send a new code
passcode-resent = We sent a new code. Codes sent before no longer work.

## Invitations
redeem-page-title = Invitation from { $tenant }
redeem-title = You're invited
redeem-invited = { $tenant } invited { $email } to collaborate as a guest.
redeem-next = Next you sign in with your own organisation's account (or, if you have none, with a code we mail to you).
redeem-consent-title = Review permissions
redeem-accepting = You are accepting an invitation from { $tenant } as { $email }, signed in with { $home }.
redeem-home-passcode = a one-time passcode sent to your email
redeem-will-see = { $tenant } will be able to see:
redeem-see-name = your name and email address
redeem-see-home = the organisation or identity provider you signed in with
privacy-statement-of = Read the privacy statement of { $tenant }
no-privacy-statement = { $tenant } has not published a privacy statement.
already-redeemed-title = Invitation already accepted
already-redeemed = This invitation to { $tenant } has already been accepted. Sign in to the application with the account that accepted it.
leave-title = Leave { $tenant }
leave-intro = You are a guest of { $tenant } as { $email }. Leaving removes your guest account there: you lose access to its applications, and it keeps no profile of yours.
left-title = You have left { $tenant }
left = Your guest account there is gone.

## Password reset
reset-title = Reset your password
reset-choose = Choose a new password for { $email }.
new-password = New password
set-password = Set password
reset-intro = Members of { $tenant } get a link by mail. Guests reset their password at their own organisation.
send-link = Send link
password-changed-title = Password changed
password-changed = Sign in with your new password. Every other session of yours has ended.
check-mail-title = Check your mail
check-mail = If this address belongs to a member with a password here, a reset link is on its way.

## Mail
mail-message-from = Message from { $inviter }:
mail-invitation-subject = You're invited to collaborate with { $tenant }
mail-invitation-intro = { $inviter } invited you to collaborate with { $tenant }.
mail-invitation-accept = Accept the invitation here:
mail-invitation-button = Accept the invitation
mail-invitation-how = You will sign in with your own organisation's account (or, if you have none, with a one-time passcode sent to this address). { $tenant } will then see your name and email address.
mail-invitation-unexpected = If you did not expect this invitation, you can ignore this message.
mail-invitation-cc-subject = { $invitee } was invited to { $tenant }
mail-invitation-cc-intro = { $inviter } invited { $invitee } to collaborate with { $tenant }, and asked that you be told.
mail-invitation-cc-only = The invitation itself went to { $invitee } only.
mail-passcode-subject = { $tenant } account verification code
mail-passcode-intro = Your verification code for { $tenant }:
mail-passcode-valid = It is valid for { $minutes } minutes. Enter it on the page that asked for it.
mail-passcode-unexpected = If you did not try to sign in to { $tenant }, ignore this message; nobody can sign in without this code.
mail-reset-subject = { $tenant } password reset
mail-reset-intro = Someone (hopefully you) asked to reset the password of your { $tenant } account.
mail-reset-choose = Choose a new password here:
mail-reset-button = Choose a new password
mail-reset-valid = The link works once, for { $minutes } minutes. If you did not ask for it, ignore this message; your password stays as it is.

## Portal: My Apps and the admin console
portal-expired-title = This sign-in has expired
portal-expired = Open the page again to sign in.
portal-sign-in-failed = Sign-in did not complete
myapps-title = My Apps
myapps-apps = Apps
myapps-no-apps = There are no apps for you here yet.
myapps-organisations = Organisations
myapps-current = current
myapps-member = Member
myapps-guest = Guest
myapps-security = Security info
myapps-sign-out-everywhere = Sign out everywhere
myapps-sign-out-everywhere-hint = Ends your sessions in every browser and app of { $tenant }, this one included.
myapps-leave = Leave this organisation
signed-out-everywhere-title = Signed out everywhere
signed-out-everywhere = Every session of yours has ended. Sign in again to continue.
admin-title = Admin console
admin-overview = Overview
admin-users = Users
admin-invite = Invite
admin-partners = Cross-tenant access
admin-signed-in-as = Signed in as { $email }
admin-members = Members
admin-guests-pending = Guests awaiting acceptance
admin-guests-accepted = Guests
admin-counted-more = Counting stopped at 100,000 users.
admin-recent-sign-ins = Recent sign-ins
admin-no-sign-ins = No sign-ins yet.
admin-when = When
admin-who = Who
admin-app = App
admin-result = Result
admin-success = Succeeded
admin-failure = Failed
admin-search = Search
admin-search-hint = Start of a name or email address
admin-all = All
admin-name = Name
admin-type = Type
admin-state = State
admin-home = Home organisation
admin-created = Created
admin-actions = Actions
admin-disabled = disabled
admin-no-users = No users match.
admin-next-page = Next page
admin-resend = Resend invitation
admin-reset = Reset redemption
admin-resent = A new invitation was sent to { $email }.
admin-reset-done = The redemption of { $email } was reset and a new invitation sent.
admin-done = Done
admin-invite-one = Invite a guest
admin-invite-email = Email address
admin-invite-name = Display name (optional)
admin-invite-message = Message in the invitation (optional)
admin-invite-redirect = Where they land after accepting (optional; My Apps when empty)
admin-invite-send = Send invitation
admin-invited = An invitation was sent to { $email }.
admin-bulk = Invite many guests
admin-bulk-hint = A CSV file with one guest per row: email, display name, redirect URL, send the invitation mail (true or false), message.
admin-bulk-file = CSV file
admin-bulk-upload = Upload and invite
admin-bulk-uploading = Inviting…
admin-bulk-summary = { $rows } rows: { $created } invited, { $again } invited again, { $refused } refused.
admin-bulk-report = Download the report
admin-bulk-failed = The upload failed: { $why }
admin-bulk-empty = The CSV file has no rows to invite.
admin-no-file = Choose a file to upload.
admin-partners-intro = Guests from a partner organisation sign in at home. If you trust that organisation's multi-factor authentication, its guests are not asked for a second factor again here; otherwise they may be asked twice, at home and here.
admin-partner = Organisation
admin-trust-mfa = Trust their MFA
admin-default = All other organisations
admin-yes = Yes
admin-no = No
admin-trust-on = Trust MFA
admin-trust-off = Stop trusting MFA
admin-partner-add = Add or change a partner
admin-partner-id = Organisation (tenant id, name, or issuer)
admin-save = Save
admin-groups = Groups
admin-policies = Conditional access
admin-identity-providers = Identity providers
admin-branding = Company branding
admin-sign-ins = Sign-ins
admin-address = Address
admin-description = Description
admin-membership = Membership
admin-assigned = Assigned
admin-no-groups = No groups yet.
admin-group-new = New group
admin-no-members = No members yet.
admin-member-add = Add a member by email address
admin-add = Add
admin-remove = Remove
admin-delete = Delete
admin-danger = Delete
admin-group-delete = Delete this group
admin-optional = optional
admin-policy-users = Users
admin-policy-apps = Applications
admin-policy-control = Grant
admin-control-mfa = Require MFA
admin-control-block = Block access
admin-no-policies = No conditional access policies.
admin-policy-new = New policy for guests
admin-all-apps = All applications
admin-policy-mfa-guests = Require MFA for guests
admin-policy-block-guests = Block guests
admin-idp-intro = Guests whose email domain belongs to one of these providers sign in there (OpenID Connect).
admin-no-providers = No identity providers.
admin-idp-add = Add a provider
admin-idp-issuer = Issuer
admin-idp-client-id = Client id
admin-idp-client-secret = Client secret
admin-idp-domains = Email domains
admin-idp-domains-hint = Separated by commas, e.g. partner.example, partner.org
admin-branding-color = Background colour
admin-branding-color-hint = Six hex digits, e.g. #0f6cbd; empty for none.
admin-branding-hint = Username hint
admin-branding-text = Sign-in page text
admin-branding-logo = Banner logo
admin-branding-logo-file = PNG or JPEG image, at most 300 KB
admin-branding-logo-upload = Upload
admin-branding-logo-remove = Remove the logo
admin-branding-preview = Preview
myapps-authenticator = Authenticator app
myapps-authenticator-since = Set up on { $date }.
myapps-authenticator-none = Not set up.
myapps-authenticator-current = Code from your current app
myapps-authenticator-new = Set up a new app
myapps-authenticator-set-up = Set up an authenticator app

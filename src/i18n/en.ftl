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

# Seiten und Meldungen auf Deutsch.

## Sign-in
sign-in = Anmelden
sign-in-to = bei { $app } · { $tenant }
email = E-Mail
next = Weiter
guest-hint = Gäste: Geben Sie Ihre E-Mail-Adresse ein, dann geht es bei Ihrer eigenen Organisation weiter.
enter-password = Kennwort eingeben
password = Kennwort
forgot-password = Kennwort vergessen?
use-another-account = Anderes Konto verwenden
error-enter-email = Geben Sie Ihre E-Mail-Adresse ein.
error-enter-password = Geben Sie Ihr Kennwort ein.
error-incorrect-password = E-Mail-Adresse oder Kennwort ist falsch.
error-account-disabled = Ihr Konto wurde deaktiviert. Wenden Sie sich an Ihren Administrator, um es zu aktivieren.
error-locked-out = Zu viele fehlgeschlagene Anmeldungen. Warten Sie einige Minuten und versuchen Sie es dann erneut.
account = Konto

## Consent
consent-title = Angeforderte Berechtigungen
consent-publisher = Domäne des Herausgebers: { $domain }
consent-intro = { $app } möchte:
signed-in-as = Angemeldet als { $email }.
accept = Akzeptieren
cancel = Abbrechen
scope-openid = Sie anmelden
scope-profile = Ihr Profil lesen (Name und Organisation)
scope-email = Ihre E-Mail-Adresse sehen
scope-offline_access = Zugriff behalten, auch wenn Sie nicht anwesend sind
scope-resource-default = { $app } in Ihrem Namen verwenden
scope-resource = { $app } in Ihrem Namen verwenden: { $permission }

## Common
continue = Weiter
verify = Überprüfen
code = Code
form-post-noscript = Klicken Sie auf „Weiter“, um zur Anwendung zurückzukehren.
request-id = Anforderungs-ID:

## Errors
error-title = Etwas ist schiefgegangen
invalid-request-title = Diese Anmeldeanforderung ist ungültig
access-blocked-title = Zugriff blockiert
access-blocked = { $tenant } erlaubt Ihnen nicht, { $app } zu verwenden (Richtlinie für bedingten Zugriff „{ $policy }“). Wenden Sie sich an die Administratoren, wenn Sie Zugriff benötigen.
not-found-title = Seite nicht gefunden
not-found = Unter dieser Adresse gibt es nichts. Prüfen Sie den Link, dem Sie gefolgt sind.
unknown-tenant-title = Organisation nicht gefunden
unknown-tenant = Diese Organisation gibt es hier nicht. Prüfen Sie den Link, dem Sie gefolgt sind.
internal-error = Bei uns ist etwas schiefgegangen. Wenn es wieder passiert, nennen Sie den Administratoren die Anforderungs-ID unten.

## Sign-out
sign-out = Abmelden
sign-out-question = Abmelden?
sign-out-intro = Eine Anwendung möchte Sie von { $tenant } abmelden.
signed-out-title = Sie haben sich abgemeldet
signed-out = Sie können dieses Fenster schließen.

## Second factor
mfa-enrol-title = Authentifizierungs-App einrichten
mfa-prompt-title = Code eingeben
mfa-required = { $tenant } verlangt einen zweiten Anmeldeschritt.
mfa-scan = Scannen Sie diesen QR-Code mit einer Authentifizierungs-App, oder geben Sie den Schlüssel von Hand ein.
mfa-qr-label = QR-Code, um { $email } zu einer Authentifizierungs-App hinzuzufügen
mfa-key = Schlüssel
mfa-code-from-app = Code aus der App
mfa-code-from-your-app = Code aus Ihrer Authentifizierungs-App
mfa-lost-phone = Telefon verloren? Verwenden Sie einen Wiederherstellungscode
mfa-use-recovery = Wiederherstellungscode verwenden
mfa-wrong-code = Dieser Code ist nicht richtig.
mfa-wrong-enrolment-code = Dieser Code ist nicht richtig. Prüfen Sie die Uhrzeit Ihres Telefons und geben Sie den aktuellen Code ein.
mfa-wrong-recovery-code = Dieser Wiederherstellungscode ist ungültig.
mfa-old-app-removed = Ihre alte Authentifizierungs-App wurde entfernt. Richten Sie jetzt die neue ein.
recovery-title = Speichern Sie Ihre Wiederherstellungscodes
recovery-intro = Falls Sie Ihr Telefon verlieren, lässt Sie jeder dieser Codes einmal herein und entfernt die alte App. Sie werden nur jetzt angezeigt.

## One-time passcode
passcode-title = Code eingeben
passcode-sent = Wir haben einen Code an { $email } gesendet. Er ist für begrenzte Zeit gültig.
passcode-wrong = { $left ->
    [one] Dieser Code ist nicht richtig. Noch ein Versuch.
   *[other] Dieser Code ist nicht richtig. Noch { $left } Versuche.
}
passcode-resend = Neuen Code senden
passcode-resent = Wir haben einen neuen Code gesendet. Früher gesendete Codes gelten nicht mehr.

## Invitations
redeem-page-title = Einladung von { $tenant }
redeem-title = Sie sind eingeladen
redeem-invited = { $tenant } hat { $email } eingeladen, als Gast mitzuarbeiten.
redeem-next = Als Nächstes melden Sie sich mit dem Konto Ihrer eigenen Organisation an (oder, wenn Sie keines haben, mit einem Code, den wir Ihnen per E-Mail senden).
redeem-consent-title = Berechtigungen prüfen
redeem-accepting = Sie nehmen eine Einladung von { $tenant } als { $email } an, angemeldet mit { $home }.
redeem-home-passcode = einem Einmalcode, der an Ihre E-Mail-Adresse gesendet wurde
redeem-will-see = { $tenant } kann Folgendes sehen:
redeem-see-name = Ihren Namen und Ihre E-Mail-Adresse
redeem-see-home = die Organisation oder den Identitätsanbieter, mit dem Sie sich angemeldet haben
privacy-statement-of = Datenschutzerklärung von { $tenant } lesen
no-privacy-statement = { $tenant } hat keine Datenschutzerklärung veröffentlicht.
already-redeemed-title = Einladung bereits angenommen
already-redeemed = Diese Einladung zu { $tenant } wurde bereits angenommen. Melden Sie sich bei der Anwendung mit dem Konto an, das sie angenommen hat.
leave-title = { $tenant } verlassen
leave-intro = Sie sind Gast bei { $tenant } als { $email }. Wenn Sie die Organisation verlassen, wird Ihr Gastkonto dort entfernt: Sie verlieren den Zugriff auf ihre Anwendungen, und sie behält kein Profil von Ihnen.
left-title = Sie haben { $tenant } verlassen
left = Ihr Gastkonto dort wurde entfernt.

## Password reset
reset-title = Kennwort zurücksetzen
reset-choose = Wählen Sie ein neues Kennwort für { $email }.
new-password = Neues Kennwort
set-password = Kennwort festlegen
reset-intro = Mitglieder von { $tenant } erhalten einen Link per E-Mail. Gäste setzen ihr Kennwort bei ihrer eigenen Organisation zurück.
send-link = Link senden
password-changed-title = Kennwort geändert
password-changed = Melden Sie sich mit Ihrem neuen Kennwort an. Alle anderen Sitzungen von Ihnen wurden beendet.
check-mail-title = Prüfen Sie Ihre E-Mails
check-mail = Wenn diese Adresse zu einem Mitglied mit Kennwort gehört, ist ein Link zum Zurücksetzen unterwegs.

## Mail
mail-message-from = Nachricht von { $inviter }:
mail-invitation-subject = Sie sind eingeladen, mit { $tenant } zusammenzuarbeiten
mail-invitation-intro = { $inviter } hat Sie eingeladen, mit { $tenant } zusammenzuarbeiten.
mail-invitation-accept = Nehmen Sie die Einladung hier an:
mail-invitation-button = Einladung annehmen
mail-invitation-how = Sie melden sich mit dem Konto Ihrer eigenen Organisation an (oder, wenn Sie keines haben, mit einem Einmalcode, der an diese Adresse gesendet wird). { $tenant } sieht dann Ihren Namen und Ihre E-Mail-Adresse.
mail-invitation-unexpected = Wenn Sie diese Einladung nicht erwartet haben, können Sie diese Nachricht ignorieren.
mail-invitation-cc-subject = { $invitee } wurde zu { $tenant } eingeladen
mail-invitation-cc-intro = { $inviter } hat { $invitee } eingeladen, mit { $tenant } zusammenzuarbeiten, und gebeten, Sie zu informieren.
mail-invitation-cc-only = Die Einladung selbst ging nur an { $invitee }.
mail-passcode-subject = Bestätigungscode für Ihr Konto bei { $tenant }
mail-passcode-intro = Ihr Bestätigungscode für { $tenant }:
mail-passcode-valid = Er ist { $minutes } Minuten gültig. Geben Sie ihn auf der Seite ein, die danach gefragt hat.
mail-passcode-unexpected = Wenn Sie nicht versucht haben, sich bei { $tenant } anzumelden, ignorieren Sie diese Nachricht; ohne diesen Code kann sich niemand anmelden.
mail-reset-subject = Kennwort zurücksetzen bei { $tenant }
mail-reset-intro = Jemand (hoffentlich Sie) hat darum gebeten, das Kennwort Ihres Kontos bei { $tenant } zurückzusetzen.
mail-reset-choose = Wählen Sie hier ein neues Kennwort:
mail-reset-button = Neues Kennwort wählen
mail-reset-valid = Der Link funktioniert einmal, { $minutes } Minuten lang. Wenn Sie nicht darum gebeten haben, ignorieren Sie diese Nachricht; Ihr Kennwort bleibt, wie es ist.

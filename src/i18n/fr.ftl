# Pages et messages en français.

## Sign-in
sign-in = Se connecter
sign-in-to = à { $app } · { $tenant }
email = E-mail
next = Suivant
guest-hint = Invités : saisissez votre adresse e-mail et vous continuerez auprès de votre propre organisation.
enter-password = Entrer le mot de passe
password = Mot de passe
forgot-password = Mot de passe oublié ?
use-another-account = Utiliser un autre compte
error-enter-email = Saisissez votre adresse e-mail.
error-enter-password = Saisissez votre mot de passe.
error-incorrect-password = Adresse e-mail ou mot de passe incorrect.
error-account-disabled = Votre compte a été désactivé. Contactez votre administrateur pour le réactiver.
error-locked-out = Trop de connexions ont échoué. Attendez quelques minutes, puis réessayez.
account = Compte

## Consent
consent-title = Autorisations demandées
consent-publisher = Domaine de l’éditeur : { $domain }
consent-intro = { $app } souhaite :
signed-in-as = Connecté en tant que { $email }.
accept = Accepter
cancel = Annuler
scope-openid = Vous connecter
scope-profile = Lire votre profil (nom et organisation)
scope-email = Voir votre adresse e-mail
scope-offline_access = Conserver l’accès quand vous n’êtes pas là
scope-resource-default = Utiliser { $app } en votre nom
scope-resource = Utiliser { $app } en votre nom : { $permission }

## Common
continue = Continuer
verify = Vérifier
code = Code
form-post-noscript = Appuyez sur Continuer pour revenir à l’application.
request-id = Identifiant de la requête :

## Errors
error-title = Un problème est survenu
invalid-request-title = Cette demande de connexion n’est pas valide
access-blocked-title = Accès bloqué
access-blocked = { $tenant } ne vous autorise pas à utiliser { $app } (stratégie d’accès conditionnel « { $policy } »). Contactez ses administrateurs si vous avez besoin d’un accès.
not-found-title = Page introuvable
not-found = Il n’y a rien à cette adresse. Vérifiez le lien que vous avez suivi.
unknown-tenant-title = Organisation introuvable
unknown-tenant = Cette organisation n’existe pas ici. Vérifiez le lien que vous avez suivi.
internal-error = Un problème est survenu de notre côté. Si cela se reproduit, donnez l’identifiant de requête ci-dessous aux administrateurs.

## Sign-out
sign-out = Se déconnecter
sign-out-question = Se déconnecter ?
sign-out-intro = Une application demande à vous déconnecter de { $tenant }.
signed-out-title = Vous êtes déconnecté
signed-out = Vous pouvez fermer cette fenêtre.

## Second factor
mfa-enrol-title = Configurer votre application d’authentification
mfa-prompt-title = Entrer le code
mfa-required = { $tenant } exige une deuxième étape de connexion.
mfa-scan = Scannez ce code QR avec une application d’authentification, ou saisissez la clé à la main.
mfa-qr-label = Code QR pour ajouter { $email } à une application d’authentification
mfa-key = Clé
mfa-code-from-app = Code de l’application
mfa-code-from-your-app = Code de votre application d’authentification
mfa-lost-phone = Téléphone perdu ? Utilisez un code de récupération
mfa-use-recovery = Utiliser un code de récupération
mfa-wrong-code = Ce code n’est pas correct.
mfa-wrong-enrolment-code = Ce code n’est pas correct. Vérifiez l’heure de votre téléphone et saisissez le code actuel.
mfa-wrong-recovery-code = Ce code de récupération n’est pas valide.
mfa-old-app-removed = Votre ancienne application d’authentification a été supprimée. Configurez la nouvelle maintenant.
recovery-title = Enregistrez vos codes de récupération
recovery-intro = Si vous perdez votre téléphone, chacun de ces codes vous permet d’entrer une fois et supprime l’ancienne application. Ils ne sont affichés que maintenant.

## One-time passcode
passcode-title = Entrer le code
passcode-sent = Nous avons envoyé un code à { $email }. Il est valable pendant une durée limitée.
passcode-wrong = { $left ->
    [one] Ce code n’est pas correct. Il reste une tentative.
   *[other] Ce code n’est pas correct. Il reste { $left } tentatives.
}
passcode-resend = Envoyer un nouveau code
passcode-resent = Nous avons envoyé un nouveau code. Les codes envoyés avant ne fonctionnent plus.

## Invitations
redeem-page-title = Invitation de { $tenant }
redeem-title = Vous êtes invité
redeem-invited = { $tenant } a invité { $email } à collaborer en tant qu’invité.
redeem-next = Ensuite, vous vous connectez avec le compte de votre propre organisation (ou, si vous n’en avez pas, avec un code que nous vous envoyons par e-mail).
redeem-consent-title = Vérifier les autorisations
redeem-accepting = Vous acceptez une invitation de { $tenant } en tant que { $email }, connecté avec { $home }.
redeem-home-passcode = un code à usage unique envoyé à votre adresse e-mail
redeem-will-see = { $tenant } pourra voir :
redeem-see-name = votre nom et votre adresse e-mail
redeem-see-home = l’organisation ou le fournisseur d’identité avec lequel vous vous êtes connecté
privacy-statement-of = Lire la déclaration de confidentialité de { $tenant }
no-privacy-statement = { $tenant } n’a pas publié de déclaration de confidentialité.
already-redeemed-title = Invitation déjà acceptée
already-redeemed = Cette invitation à { $tenant } a déjà été acceptée. Connectez-vous à l’application avec le compte qui l’a acceptée.
leave-title = Quitter { $tenant }
leave-intro = Vous êtes invité de { $tenant } en tant que { $email }. Partir supprime votre compte invité : vous perdez l’accès à ses applications, et elle ne garde aucun profil de vous.
left-title = Vous avez quitté { $tenant }
left = Votre compte invité y a été supprimé.

## Password reset
reset-title = Réinitialiser votre mot de passe
reset-choose = Choisissez un nouveau mot de passe pour { $email }.
new-password = Nouveau mot de passe
set-password = Définir le mot de passe
reset-intro = Les membres de { $tenant } reçoivent un lien par e-mail. Les invités réinitialisent leur mot de passe auprès de leur propre organisation.
send-link = Envoyer le lien
password-changed-title = Mot de passe modifié
password-changed = Connectez-vous avec votre nouveau mot de passe. Toutes vos autres sessions ont pris fin.
check-mail-title = Consultez vos e-mails
check-mail = Si cette adresse appartient à un membre disposant d’un mot de passe ici, un lien de réinitialisation est en route.

## Mail
mail-message-from = Message de { $inviter } :
mail-invitation-subject = Vous êtes invité à collaborer avec { $tenant }
mail-invitation-intro = { $inviter } vous a invité à collaborer avec { $tenant }.
mail-invitation-accept = Acceptez l’invitation ici :
mail-invitation-button = Accepter l’invitation
mail-invitation-how = Vous vous connecterez avec le compte de votre propre organisation (ou, si vous n’en avez pas, avec un code à usage unique envoyé à cette adresse). { $tenant } verra alors votre nom et votre adresse e-mail.
mail-invitation-unexpected = Si vous n’attendiez pas cette invitation, vous pouvez ignorer ce message.
mail-invitation-cc-subject = { $invitee } a été invité à { $tenant }
mail-invitation-cc-intro = { $inviter } a invité { $invitee } à collaborer avec { $tenant } et a demandé que vous en soyez informé.
mail-invitation-cc-only = L’invitation elle-même n’a été envoyée qu’à { $invitee }.
mail-passcode-subject = Code de vérification du compte { $tenant }
mail-passcode-intro = Votre code de vérification pour { $tenant } :
mail-passcode-valid = Il est valable { $minutes } minutes. Saisissez-le sur la page qui l’a demandé.
mail-passcode-unexpected = Si vous n’avez pas essayé de vous connecter à { $tenant }, ignorez ce message ; personne ne peut se connecter sans ce code.
mail-reset-subject = Réinitialisation du mot de passe { $tenant }
mail-reset-intro = Quelqu’un (vous, espérons-le) a demandé la réinitialisation du mot de passe de votre compte { $tenant }.
mail-reset-choose = Choisissez un nouveau mot de passe ici :
mail-reset-button = Choisir un nouveau mot de passe
mail-reset-valid = Le lien fonctionne une fois, pendant { $minutes } minutes. Si vous ne l’avez pas demandé, ignorez ce message ; votre mot de passe reste inchangé.

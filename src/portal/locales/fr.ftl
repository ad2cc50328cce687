# La page des titulaires en français (premier jet : à relire avant de la publier).
language-name = Français
decimal-separator = ,
date = { $day } { $month ->
        [1] janv.
        [2] févr.
        [3] mars
        [4] avr.
        [5] mai
        [6] juin
        [7] juil.
        [8] août
        [9] sept.
        [10] oct.
        [11] nov.
       *[12] déc.
    } { $year }
date-time = { $date } à { $time }
language-switch = Langue
skip-to-content = Aller au contenu
nav-label = Compte
nav-account = Compte
nav-calls = Appels
nav-numbers = Numéros
nav-password = Mot de passe
nav-redeem = Utiliser une carte
sign-out = Se déconnecter
meta-description = { $brand } : votre compte de carte téléphonique. Solde, appels, numéros, mot de passe et nouvelles cartes.
download-app = Téléchargez l’application pour appeler depuis votre téléphone
just-a-moment = Un instant
being-fetched = Nous consultons votre compte. Cette page se recharge d’elle-même dans un instant.
sign-in = Se connecter
signin-with-code = Avec le code de votre carte
access-code = Code d’accès
access-code-help = Les chiffres sous la zone à gratter de votre carte. Tapez-les comme ils sont imprimés : espaces et tirets sont acceptés.
signin-with-login = Avec un identifiant et un mot de passe
login = Identifiant
login-help = Si votre carte indique un identifiant et un mot de passe, tapez les deux.
password = Mot de passe
your-account = Votre compte
balance = Solde
account-blocked = Ce compte est bloqué : il ne peut pas passer d’appels. Contactez l’assistance.
ready-to-call = Prêt à appeler.
name-card = Carte { $name }
name-account = Compte { $name }
your-numbers = Vos numéros
no-number-yet = Aucun numéro pour l’instant.
add-phone = Ajoutez le téléphone depuis lequel vous appelez
purchases = Achats
no-card-redeemed = Aucune carte utilisée pour l’instant.
col-date = Date
col-card = Carte
col-credit = Crédit
being-confirmed = (en cours de confirmation)
as-of = Valeur d’il y a { $ago } ; une plus récente arrive.
dur-s = { $s } s
dur-min = { $m } min
dur-min-s = { $m } min { $s } s
dur-h = { $h } h
dur-h-min = { $h } h { $m } min
download-calls = Télécharger tous les appels (CSV)
no-calls = Aucun appel pour l’instant.
no-earlier-calls = Aucun appel plus ancien.
calls-caption = Les plus récents d’abord, heures de { $zone }
col-when = Quand
col-number = Numéro appelé
col-duration = Durée
col-cost = Coût ({ $currency })
earlier-calls = Appels plus anciens
back-to-newest = Revenir aux plus récents
numbers-intro = Les appels depuis ces numéros n’ont pas besoin de code d’accès.
remove = Retirer
remove-number = Retirer { $number }
add-number = Ajouter un numéro
phone-number = Numéro de téléphone
number-help = Au format international (+44 20 7946 0958), ou tel qu’il se compose dans le pays choisi ci-dessous.
country-of-number = Pays du numéro
international-form = Format international (+…)
add = Ajouter
change-password = Changer votre mot de passe
current-password = Mot de passe actuel
new-password = Nouveau mot de passe
code-only-password = Vous vous connectez avec le code de votre carte et continuerez ainsi : ce mot de passe sert aux applications qui en demandent un (un softphone).
new-password-again = Nouveau mot de passe, à nouveau
change-the-password = Changer le mot de passe
redeem-intro = Vous avez acheté une nouvelle carte ? Son crédit passe sur ce compte et la carte est épuisée.
redeem-code = Le code d’accès sous la zone à gratter
redeem = Utiliser
back-to-start = Retour à l’accueil
signin-failed = Connexion impossible. Vérifiez le code d’accès (et le mot de passe, si votre carte en a un) et réessayez. S’ils sont justes, le service est peut-être occupé : réessayez dans une minute.
busy = Le service est occupé pour le moment. Réessayez dans une minute.
too-many-attempts = { $minutes ->
    [one] Trop de tentatives. Attendez une minute et réessayez.
   *[other] Trop de tentatives. Attendez { $minutes } minutes et réessayez.
}
type-the-code = Tapez le code d’accès imprimé sur votre carte.
notice-added = Le numéro a été ajouté.
notice-removed = Le numéro a été retiré.
notice-password = Votre mot de passe a été changé.
country-not-listed = Ce pays n’est pas dans la liste : choisissez-en un.
number-unreadable = Nous ne savons pas lire ce numéro. Écrivez-le au format international (+44 20 7946 0958) ou choisissez son pays.
number-refused = Ce numéro n’a pas pu être changé. Vérifiez-le ou contactez l’assistance.
nothing-changed = Le service n’a pas répondu, rien n’a donc été changé. Réessayez dans une minute.
change-confirming = Votre modification est en cours de confirmation. Revenez vérifier dans une minute.
passwords-differ = Les deux nouveaux mots de passe diffèrent. Tapez deux fois le même.
password-too-short = Le nouveau mot de passe est trop court : au moins { $min } caractères.
password-unusable = Ce mot de passe ne peut pas être utilisé : { $why }.
current-password-wrong = Le mot de passe actuel n’est pas le bon.
password-refused = Ce mot de passe ne peut pas être utilisé. Choisissez-en un autre.
password-not-answered = Le service n’a pas répondu, votre mot de passe n’a donc pas changé. Réessayez dans une minute.
password-failed = Votre mot de passe n’a pas pu être changé. Contactez l’assistance.
password-confirming = Votre modification est en cours de confirmation. Essayez de vous connecter avec le nouveau mot de passe dans une minute.
code-cannot-redeem = Ce code ne peut pas être utilisé. Vérifiez-le et réessayez.
card-redeemed-already = Cette carte a déjà été utilisée : son crédit est sur votre compte.
redeem-added = { $amount } ont été ajoutés à votre compte. La carte est épuisée.
redeem-overdrawn = ({ $amount } de moins : des appels passés avec la carte ont été facturés après sa lecture.)
redeem-remainder = ({ $amount }, moins d’un centime, ne peut pas être déplacé et reste sur la carte.)
redeem-not-answered = Le service n’a pas répondu à temps. Votre carte vous est gardée : réessayez dans une minute.
redeem-confirming = Votre carte est en cours de confirmation : son crédit sera sur votre compte d’ici quelques minutes. Inutile de l’utiliser à nouveau.
redeem-failed = Cette carte n’a pas pu être utilisée. Contactez l’assistance.
try-again-title = Veuillez réessayer
not-found-title = Introuvable
not-found-text = Cette page n’existe pas.
expired-title = Ce formulaire a expiré
expired-text = Pour votre sécurité, les formulaires ne valent qu’un temps. Revenez en arrière, rechargez la page et réessayez.
unreadable-title = Cette adresse est illisible
unreadable-text = Le lien ou le formulaire a envoyé quelque chose que cette page ne connaît pas. Revenez à l’accueil et réessayez.
proxy-title = Cette demande ne peut pas être servie
proxy-text = Le serveur placé devant cette page n’est pas configuré comme il faut. Réessayez plus tard.
password-policy = De { $min } à { $max } caractères : lettres, chiffres et - _ @ . (sans espace). Pas trois fois de suite le même caractère (aaa, 111), ni trois qui se suivent, en montant ou en descendant (abc, 123, cba, yz0). Pas de - ni de @ au début.
policy-length = { $length } caractères ; un mot de passe en a de { $min } à { $max }
policy-character = le caractère { $position } ne peut pas être utilisé : lettres, chiffres et - _ @ . seulement
policy-start = il commence par { $char } : commencez-le par une lettre, un chiffre, _ ou .
policy-repeat = les caractères { $from } à { $to } sont trois fois le même
policy-sequence = les caractères { $from } à { $to } se suivent (comme abc, 321 ou yz0)
card-valid-months = { $months ->
    [one] Valable 1 mois à partir de l’achat
   *[other] Valable { $months } mois à partir de l’achat
}
card-valid-until = Valable jusqu’au { $date }
date-format = %d/%m/%Y

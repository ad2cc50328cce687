# The card holders' page in English: the reference catalog. Every other catalog has exactly
# these messages (a test checks it).
language-name = English
decimal-separator = .
language-switch = Language
skip-to-content = Skip to the content
nav-label = Account
nav-account = Account
nav-calls = Calls
nav-numbers = Numbers
nav-password = Password
nav-redeem = Redeem a card
sign-out = Sign out
meta-description = { $brand }: your calling card account. Balance, calls, phone numbers, password, and new cards.
download-app = Download the app to call from your phone
just-a-moment = Just a moment
being-fetched = Your account is being fetched. This page loads again by itself in a moment.
sign-in = Sign in
signin-with-code = With the code of your card
access-code = Access code
access-code-help = The digits under the scratch panel of your card. Type them as printed: spaces and dashes are fine.
signin-with-login = With a login and password
login = Login
login-help = If your card shows a login and a password, type both.
password = Password

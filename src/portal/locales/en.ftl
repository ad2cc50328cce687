# The card holders' page in English: the reference catalog. Every other catalog has exactly
# these messages (a test checks it).
language-name = English
decimal-separator = .
date = { $day } { $month ->
        [1] Jan
        [2] Feb
        [3] Mar
        [4] Apr
        [5] May
        [6] Jun
        [7] Jul
        [8] Aug
        [9] Sep
        [10] Oct
        [11] Nov
       *[12] Dec
    } { $year }
date-time = { $date }, { $time }
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
your-account = Your account
balance = Balance
account-blocked = This account is blocked: it cannot make calls. Please contact support.
ready-to-call = Ready to call.
name-card = Card { $name }
name-account = Account { $name }
your-numbers = Your numbers
no-number-yet = No number yet.
add-phone = Add the phone you call from
purchases = Purchases
no-card-redeemed = No card redeemed yet.
col-date = Date
col-card = Card
col-credit = Credit
being-confirmed = (being confirmed)
as-of = As of { $ago } ago; a newer figure is on its way.
dur-s = { $s } s
dur-min = { $m } min
dur-min-s = { $m } min { $s } s
dur-h = { $h } h
dur-h-min = { $h } h { $m } min
download-calls = Download every call (CSV)
no-calls = No calls yet.
no-earlier-calls = No earlier calls.
calls-caption = Newest first, times in { $zone }
col-when = When
col-number = Number called
col-duration = Duration
col-cost = Cost ({ $currency })
earlier-calls = Earlier calls
back-to-newest = Back to the newest
numbers-intro = Calls from these numbers need no access code.
remove = Remove
remove-number = Remove { $number }
add-number = Add a number
phone-number = Phone number
number-help = In international form (+44 20 7946 0958), or as dialled in the country below.
country-of-number = Country of the number
international-form = International form (+…)
add = Add
change-password = Change your password
current-password = Current password
new-password = New password
code-only-password = You sign in with the code of your card, and will go on doing so: this password is for the apps that ask for one (a softphone).
new-password-again = New password again
change-the-password = Change the password
redeem-intro = Bought a new card? Its credit moves onto this account, and the card is used up.
redeem-code = The access code under the scratch panel
redeem = Redeem
back-to-start = Back to the start
signin-failed = Sign-in failed. Check the access code (and the password, if your card has one) and try again. If they are right, the service may be busy: try again in a minute.
busy = The service is busy right now. Please try again in a minute.
too-many-attempts = { $minutes ->
    [one] Too many attempts. Please wait a minute and try again.
   *[other] Too many attempts. Please wait { $minutes } minutes and try again.
}
type-the-code = Type the access code printed on your card.
notice-added = The number was added.
notice-removed = The number was removed.
notice-password = Your password was changed.
country-not-listed = That country is not in the list: choose one from it.
number-unreadable = That is not a phone number we can read. Write it in international form (+44 20 7946 0958), or choose its country.
number-refused = That number could not be changed. Please check it, or contact support.
nothing-changed = The service did not answer, so nothing was changed. Please try again in a minute.
change-confirming = Your change is being confirmed. Please check again in a minute.
passwords-differ = The two new passwords differ. Please type the same one twice.
password-too-short = The new password is too short: give at least { $min } characters.
password-unusable = That password cannot be used: { $why }.
current-password-wrong = The current password is not right.
password-refused = That password cannot be used. Please choose another.
password-not-answered = The service did not answer, so your password was not changed. Please try again in a minute.
password-failed = Your password could not be changed. Please contact support.
password-confirming = Your change is being confirmed. Please try signing in with the new password in a minute.
code-cannot-redeem = This code cannot be redeemed. Check it and try again.
card-redeemed-already = This card was redeemed already: its credit is on your account.
redeem-added = { $amount } were added to your account. The card is used up.
redeem-overdrawn = ({ $amount } less: calls made with the card were billed after it was read.)
redeem-remainder = ({ $amount }, less than a cent, cannot be moved and stays on the card.)
redeem-not-answered = The service did not answer in time. Your card is kept for you: please try again in a minute.
redeem-confirming = Your card is being confirmed: its credit will be on your account within a few minutes. You do not need to redeem it again.
redeem-failed = This card could not be redeemed. Please contact support.
try-again-title = Please try again
not-found-title = Not found
not-found-text = This page does not exist.
expired-title = This form has expired
expired-text = For your safety, forms work for a while only. Please go back, reload the page and try again.
unreadable-title = This address cannot be read
unreadable-text = The link or the form sent something this page does not know. Please go back to the start and try again.
proxy-title = This request cannot be served
proxy-text = The server in front of this page is not set up as it should be. Please try again later.
password-policy = { $min } to { $max } characters: letters, digits and - _ @ . (no spaces). Not the same character three times in a row (aaa, 111), and not three in sequence, up or down (abc, 123, cba, yz0). Not starting with - or @.
policy-length = { $length } characters; a password has { $min } to { $max }
policy-character = character { $position } cannot be used: use letters, digits and - _ @ . only
policy-start = it starts with { $char }: start it with a letter, a digit, _ or .
policy-repeat = characters { $from } to { $to } are the same character three times
policy-sequence = characters { $from } to { $to } are three in sequence (like abc, 321 or yz0)
card-valid-months = { $months ->
    [one] Valid for 1 month from purchase
   *[other] Valid for { $months } months from purchase
}
card-valid-until = Valid until { $date }
date-format = %-d %B %Y

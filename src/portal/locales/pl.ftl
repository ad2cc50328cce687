# Strona posiadaczy kart po polsku (pierwsza wersja: proszę ją sprawdzić przed publikacją).
language-name = Polski
decimal-separator = ,
date = { $day } { $month ->
        [1] sty
        [2] lut
        [3] mar
        [4] kwi
        [5] maj
        [6] cze
        [7] lip
        [8] sie
        [9] wrz
        [10] paź
        [11] lis
       *[12] gru
    } { $year }
date-time = { $date }, { $time }
language-switch = Język
skip-to-content = Przejdź do treści
nav-label = Konto
nav-account = Konto
nav-calls = Połączenia
nav-numbers = Numery
nav-password = Hasło
nav-redeem = Doładuj kartą
sign-out = Wyloguj się
meta-description = { $brand }: Twoje konto karty telefonicznej. Saldo, połączenia, numery telefonów, hasło i nowe karty.
download-app = Pobierz aplikację, aby dzwonić z telefonu
just-a-moment = Chwileczkę
being-fetched = Pobieramy dane Twojego konta. Strona za chwilę sama się odświeży.
sign-in = Zaloguj się
signin-with-code = Kodem z karty
access-code = Kod dostępu
access-code-help = Cyfry pod polem do zdrapania na karcie. Wpisz je tak, jak są wydrukowane: spacje i myślniki nie przeszkadzają.
signin-with-login = Loginem i hasłem
login = Login
login-help = Jeśli na karcie jest login i hasło, wpisz oba.
password = Hasło
your-account = Twoje konto
balance = Saldo
account-blocked = To konto jest zablokowane: nie można z niego dzwonić. Skontaktuj się z pomocą.
ready-to-call = Gotowe do dzwonienia.
name-card = Karta { $name }
name-account = Konto { $name }
your-numbers = Twoje numery
no-number-yet = Nie ma jeszcze żadnego numeru.
add-phone = Dodaj telefon, z którego dzwonisz
purchases = Zakupy
no-card-redeemed = Nie doładowano jeszcze żadnej karty.
col-date = Data
col-card = Karta
col-credit = Środki
being-confirmed = (w trakcie potwierdzania)
as-of = Stan sprzed { $ago }; nowszy jest w drodze.
dur-s = { $s } s
dur-min = { $m } min
dur-min-s = { $m } min { $s } s
dur-h = { $h } godz.
dur-h-min = { $h } godz. { $m } min
download-calls = Pobierz wszystkie połączenia (CSV)
no-calls = Nie ma jeszcze połączeń.
no-earlier-calls = Nie ma wcześniejszych połączeń.
calls-caption = Najnowsze najpierw, czas: { $zone }
col-when = Kiedy
col-number = Wybrany numer
col-duration = Czas trwania
col-cost = Koszt ({ $currency })
earlier-calls = Wcześniejsze połączenia
back-to-newest = Wróć do najnowszych
numbers-intro = Połączenia z tych numerów nie wymagają kodu dostępu.
remove = Usuń
remove-number = Usuń { $number }
add-number = Dodaj numer
phone-number = Numer telefonu
number-help = W formacie międzynarodowym (+44 20 7946 0958) albo tak, jak się go wybiera w kraju wskazanym poniżej.
country-of-number = Kraj numeru
international-form = Format międzynarodowy (+…)
add = Dodaj
change-password = Zmień hasło
current-password = Obecne hasło
new-password = Nowe hasło
code-only-password = Logujesz się kodem z karty i tak pozostanie: to hasło jest dla aplikacji, które o nie proszą (softphone).
new-password-again = Powtórz nowe hasło
change-the-password = Zmień hasło
redeem-intro = Kupiłeś nową kartę? Jej środki przejdą na to konto, a karta zostanie zużyta.
redeem-code = Kod dostępu spod pola do zdrapania
redeem = Doładuj
back-to-start = Wróć na początek
signin-failed = Nie udało się zalogować. Sprawdź kod dostępu (i hasło, jeśli karta je ma) i spróbuj ponownie. Jeśli są poprawne, usługa może być zajęta: spróbuj za minutę.
busy = Usługa jest teraz zajęta. Spróbuj ponownie za minutę.
too-many-attempts = { $minutes ->
    [one] Zbyt wiele prób. Poczekaj minutę i spróbuj ponownie.
    [few] Zbyt wiele prób. Poczekaj { $minutes } minuty i spróbuj ponownie.
   *[other] Zbyt wiele prób. Poczekaj { $minutes } minut i spróbuj ponownie.
}
type-the-code = Wpisz kod dostępu wydrukowany na karcie.
notice-added = Numer został dodany.
notice-removed = Numer został usunięty.
notice-password = Hasło zostało zmienione.
country-not-listed = Tego kraju nie ma na liście: wybierz kraj z listy.
number-unreadable = Nie umiemy odczytać tego numeru. Wpisz go w formacie międzynarodowym (+44 20 7946 0958) albo wybierz jego kraj.
number-refused = Nie udało się zmienić tego numeru. Sprawdź go lub skontaktuj się z pomocą.
nothing-changed = Usługa nie odpowiedziała, więc nic nie zostało zmienione. Spróbuj ponownie za minutę.
change-confirming = Zmiana jest potwierdzana. Sprawdź ponownie za minutę.
passwords-differ = Dwa nowe hasła się różnią. Wpisz dwa razy to samo.
password-too-short = Nowe hasło jest za krótkie: podaj co najmniej { $min } znaków.
password-unusable = Tego hasła nie można użyć: { $why }.
current-password-wrong = Obecne hasło jest nieprawidłowe.
password-refused = Tego hasła nie można użyć. Wybierz inne.
password-not-answered = Usługa nie odpowiedziała, więc hasło nie zostało zmienione. Spróbuj ponownie za minutę.
password-failed = Nie udało się zmienić hasła. Skontaktuj się z pomocą.
password-confirming = Zmiana jest potwierdzana. Spróbuj zalogować się nowym hasłem za minutę.
code-cannot-redeem = Tym kodem nie można doładować. Sprawdź go i spróbuj ponownie.
card-redeemed-already = Ta karta została już wykorzystana: jej środki są na Twoim koncie.
redeem-added = Do konta dodano { $amount }. Karta została zużyta.
redeem-overdrawn = ({ $amount } mniej: połączenia wykonane kartą zostały naliczone po jej odczycie.)
redeem-remainder = ({ $amount }, mniej niż grosz, nie da się przenieść i zostaje na karcie.)
redeem-not-answered = Usługa nie odpowiedziała na czas. Karta czeka na Ciebie: spróbuj ponownie za minutę.
redeem-confirming = Karta jest potwierdzana: jej środki pojawią się na koncie w ciągu kilku minut. Nie trzeba jej doładowywać ponownie.
redeem-failed = Nie udało się wykorzystać tej karty. Skontaktuj się z pomocą.
try-again-title = Spróbuj ponownie
not-found-title = Nie znaleziono
not-found-text = Ta strona nie istnieje.
expired-title = Ten formularz wygasł
expired-text = Dla bezpieczeństwa formularze działają tylko przez pewien czas. Wróć, odśwież stronę i spróbuj ponownie.
unreadable-title = Nie można odczytać tego adresu
unreadable-text = Link lub formularz przesłał coś, czego ta strona nie zna. Wróć na początek i spróbuj ponownie.
proxy-title = Nie można obsłużyć tego żądania
proxy-text = Serwer przed tą stroną nie jest poprawnie skonfigurowany. Spróbuj ponownie później.
password-policy = Od { $min } do { $max } znaków: litery, cyfry oraz - _ @ . (bez spacji). Nie ten sam znak trzy razy z rzędu (aaa, 111) i nie trzy kolejne, rosnąco ani malejąco (abc, 123, cba, yz0). Nie może zaczynać się od - ani @.
policy-length = { $length } znaków; hasło ma od { $min } do { $max }
policy-character = znaku { $position } nie można użyć: tylko litery, cyfry oraz - _ @ .
policy-start = zaczyna się od { $char }: zacznij od litery, cyfry, _ lub .
policy-repeat = znaki od { $from } do { $to } to trzy razy ten sam znak
policy-sequence = znaki od { $from } do { $to } to trzy kolejne (jak abc, 321 lub yz0)
card-valid-months = { $months ->
    [one] Ważna 1 miesiąc od zakupu
    [few] Ważna { $months } miesiące od zakupu
   *[other] Ważna { $months } miesięcy od zakupu
}
card-valid-until = Ważna do { $date }
date-format = %d.%m.%Y

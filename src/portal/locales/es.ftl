# La página de los titulares en español (primer borrador: revísela antes de publicarla).
language-name = Español
decimal-separator = ,
date = { $day } { $month ->
        [1] ene
        [2] feb
        [3] mar
        [4] abr
        [5] may
        [6] jun
        [7] jul
        [8] ago
        [9] sept
        [10] oct
        [11] nov
       *[12] dic
    } { $year }
date-time = { $date }, { $time }
language-switch = Idioma
skip-to-content = Ir al contenido
nav-label = Cuenta
nav-account = Cuenta
nav-calls = Llamadas
nav-numbers = Números
nav-password = Contraseña
nav-redeem = Canjear una tarjeta
sign-out = Cerrar sesión
meta-description = { $brand }: su cuenta de tarjeta telefónica. Saldo, llamadas, números de teléfono, contraseña y tarjetas nuevas.
download-app = Descargue la aplicación para llamar desde su teléfono
just-a-moment = Un momento
being-fetched = Estamos consultando su cuenta. Esta página se volverá a cargar sola en un momento.
sign-in = Entrar
signin-with-code = Con el código de su tarjeta
access-code = Código de acceso
access-code-help = Las cifras bajo la zona para rascar de su tarjeta. Escríbalas tal como están impresas: los espacios y guiones no importan.
signin-with-login = Con un usuario y una contraseña
login = Usuario
login-help = Si su tarjeta muestra un usuario y una contraseña, escriba ambos.
password = Contraseña
your-account = Su cuenta
balance = Saldo
account-blocked = Esta cuenta está bloqueada: no puede hacer llamadas. Contacte con el servicio de ayuda.
ready-to-call = Lista para llamar.
name-card = Tarjeta { $name }
name-account = Cuenta { $name }
your-numbers = Sus números
no-number-yet = Todavía no hay ningún número.
add-phone = Añada el teléfono desde el que llama
purchases = Compras
no-card-redeemed = Todavía no ha canjeado ninguna tarjeta.
col-date = Fecha
col-card = Tarjeta
col-credit = Crédito
being-confirmed = (pendiente de confirmación)
as-of = Dato de hace { $ago }; uno más reciente está en camino.
dur-s = { $s } s
dur-min = { $m } min
dur-min-s = { $m } min { $s } s
dur-h = { $h } h
dur-h-min = { $h } h { $m } min
download-calls = Descargar todas las llamadas (CSV)
no-calls = Todavía no hay llamadas.
no-earlier-calls = No hay llamadas anteriores.
calls-caption = Las más recientes primero, horas en { $zone }
col-when = Cuándo
col-number = Número llamado
col-duration = Duración
col-cost = Coste ({ $currency })
earlier-calls = Llamadas anteriores
back-to-newest = Volver a las más recientes
numbers-intro = Las llamadas desde estos números no necesitan código de acceso.
remove = Quitar
remove-number = Quitar { $number }
add-number = Añadir un número
phone-number = Número de teléfono
number-help = En formato internacional (+44 20 7946 0958), o como se marca en el país elegido abajo.
country-of-number = País del número
international-form = Formato internacional (+…)
add = Añadir
change-password = Cambiar su contraseña
current-password = Contraseña actual
new-password = Nueva contraseña
code-only-password = Usted entra con el código de su tarjeta y lo seguirá haciendo: esta contraseña es para las aplicaciones que la piden (un softphone).
new-password-again = Repita la nueva contraseña
change-the-password = Cambiar la contraseña
redeem-intro = ¿Ha comprado una tarjeta nueva? Su crédito pasa a esta cuenta y la tarjeta queda usada.
redeem-code = El código de acceso bajo la zona para rascar
redeem = Canjear
back-to-start = Volver al inicio
signin-failed = No se pudo entrar. Compruebe el código de acceso (y la contraseña, si su tarjeta la tiene) y vuelva a intentarlo. Si son correctos, puede que el servicio esté ocupado: inténtelo dentro de un minuto.
busy = El servicio está ocupado en este momento. Vuelva a intentarlo dentro de un minuto.
too-many-attempts = { $minutes ->
    [one] Demasiados intentos. Espere un minuto y vuelva a intentarlo.
   *[other] Demasiados intentos. Espere { $minutes } minutos y vuelva a intentarlo.
}
type-the-code = Escriba el código de acceso impreso en su tarjeta.
notice-added = Se ha añadido el número.
notice-removed = Se ha quitado el número.
notice-password = Se ha cambiado su contraseña.
country-not-listed = Ese país no está en la lista: elija uno de ella.
number-unreadable = No podemos leer ese número de teléfono. Escríbalo en formato internacional (+44 20 7946 0958) o elija su país.
number-refused = No se pudo cambiar ese número. Compruébelo o contacte con el servicio de ayuda.
nothing-changed = El servicio no respondió, así que no se ha cambiado nada. Vuelva a intentarlo dentro de un minuto.
change-confirming = Su cambio se está confirmando. Vuelva a comprobarlo dentro de un minuto.
passwords-differ = Las dos contraseñas nuevas no coinciden. Escriba la misma dos veces.
password-too-short = La nueva contraseña es demasiado corta: debe tener al menos { $min } caracteres.
password-unusable = No se puede usar esa contraseña: { $why }.
current-password-wrong = La contraseña actual no es correcta.
password-refused = No se puede usar esa contraseña. Elija otra.
password-not-answered = El servicio no respondió, así que su contraseña no ha cambiado. Vuelva a intentarlo dentro de un minuto.
password-failed = No se pudo cambiar su contraseña. Contacte con el servicio de ayuda.
password-confirming = Su cambio se está confirmando. Intente entrar con la nueva contraseña dentro de un minuto.
code-cannot-redeem = Este código no se puede canjear. Compruébelo y vuelva a intentarlo.
card-redeemed-already = Esta tarjeta ya se canjeó: su crédito está en su cuenta.
redeem-added = Se han añadido { $amount } a su cuenta. La tarjeta queda usada.
redeem-overdrawn = ({ $amount } menos: llamadas hechas con la tarjeta se cobraron después de leerla.)
redeem-remainder = ({ $amount }, menos de un céntimo, no se puede mover y queda en la tarjeta.)
redeem-not-answered = El servicio no respondió a tiempo. Su tarjeta sigue reservada para usted: vuelva a intentarlo dentro de un minuto.
redeem-confirming = Su tarjeta se está confirmando: su crédito estará en su cuenta en unos minutos. No hace falta canjearla otra vez.
redeem-failed = No se pudo canjear esta tarjeta. Contacte con el servicio de ayuda.
try-again-title = Vuelva a intentarlo
not-found-title = No encontrado
not-found-text = Esta página no existe.
expired-title = Este formulario ha caducado
expired-text = Por su seguridad, los formularios solo valen un tiempo. Vuelva atrás, recargue la página e inténtelo de nuevo.
unreadable-title = No se puede leer esta dirección
unreadable-text = El enlace o el formulario enviaron algo que esta página no conoce. Vuelva al inicio e inténtelo de nuevo.
proxy-title = No se puede atender esta petición
proxy-text = El servidor delante de esta página no está configurado como debería. Vuelva a intentarlo más tarde.
password-policy = De { $min } a { $max } caracteres: letras, cifras y - _ @ . (sin espacios). No el mismo carácter tres veces seguidas (aaa, 111), ni tres seguidos en orden, hacia arriba o hacia abajo (abc, 123, cba, yz0). Que no empiece por - ni @.
policy-length = { $length } caracteres; una contraseña tiene de { $min } a { $max }
policy-character = el carácter { $position } no se puede usar: use solo letras, cifras y - _ @ .
policy-start = empieza por { $char }: empiécela con una letra, una cifra, _ o .
policy-repeat = los caracteres { $from } a { $to } son el mismo carácter tres veces
policy-sequence = los caracteres { $from } a { $to } son tres seguidos en orden (como abc, 321 o yz0)
card-valid-months = { $months ->
    [one] Válida 1 mes desde la compra
   *[other] Válida { $months } meses desde la compra
}
card-valid-until = Válida hasta el { $date }
date-format = %d/%m/%Y

//! The request handlers. Each page reads its session (every visitor has one), each form's
//! CSRF token is checked before anything else, and every platform call runs on a blocking
//! thread through the backend's throttle.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;
use serde::Deserialize;

use super::backend::Redeemed;
use super::i18n::Language;
use super::limits::{PER_LOGIN, PER_NETWORK, REDEEM};
use super::observe::Metrics;
use super::pages::{self, Flash};
use super::session::{self, Session, SignedIn};
use super::{BackendError, Peer, Portal};
use crate::config::Secret;
use crate::money::Stop;

type App = State<Arc<Portal>>;

/// The one answer to every failed sign-in: a code or login that does not exist, a wrong
/// password, a card that opens nothing alone, the platform down or the portal over its
/// ceiling all read alike (and take the same time, see [`signin`]).
/// (A message of the catalogs: `portal::i18n`.)
const SIGNIN_FAILED: &str = "signin-failed";
const BUSY: &str = "busy";

/// The largest request body read (a form).
pub const BODY_LIMIT: usize = 16 * 1024;

/// Reads a request's whole body within `timeout` before any handler sees it: a client that
/// sends its body slowly (or never) holds its connection no longer than that, and is
/// answered 408. A body over [`BODY_LIMIT`] is answered 413.
pub async fn whole_body(State(app): App, request: Request, next: Next) -> Response {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONNECTION, "close")],
            "This request is too large.\n",
        )
            .into_response()
    };
    // A body announced larger than the limit is refused before it is waited for.
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > BODY_LIMIT as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(app.body_timeout, axum::body::to_bytes(body, BODY_LIMIT)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => too_large(),
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONNECTION, "close")],
            "This request took too long to arrive. Please try again.\n",
        )
            .into_response(),
    }
}

/// Security headers on every answer.
pub async fn headers(State(app): App, request: Request, next: Next) -> Response {
    let lang = language_of(&app, request.headers());
    let mut response = next.run(request).await;
    // A request the framework could not read (a query string or a form of the wrong shape)
    // gets a page in plain words, not the parser's message.
    let plain_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/plain"));
    if plain_text
        && matches!(
            response.status(),
            StatusCode::BAD_REQUEST
                | StatusCode::UNSUPPORTED_MEDIA_TYPE
                | StatusCode::UNPROCESSABLE_ENTITY
        )
    {
        response = problem(
            &app,
            &lang,
            StatusCode::BAD_REQUEST,
            "unreadable-title",
            "unreadable-text",
        );
    }
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    // No script runs (none is allowed); `connect-src 'self'` lets a crawler's checks fetch
    // robots.txt from the page (Lighthouse does).
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self'; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    if app.tls {
        set(
            h,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// The request's session: a signed-in holder's, or a visitor's (no session: a form cookie
/// and a signed form token), and the cookie to set when the visitor's is new.
struct Visit {
    /// The session id (signed in), or the visitor's form cookie.
    id: String,
    session: Session,
    set_cookie: Option<String>,
    /// The holder's language: chosen on the page (its cookie), else the browser's.
    lang: String,
}

/// The cookie that remembers the language chosen on the page.
const LANG_COOKIE: &str = "lang";

/// The language of a request: its `lang` cookie, else its `Accept-Language`, else English.
fn language_of(app: &Portal, headers: &HeaderMap) -> String {
    let chosen = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == LANG_COOKIE)
        .map(|(_, v)| v);
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    app.languages.choose(chosen, accept).tag.clone()
}

fn cookie_of<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session::from_header(h, name))
}

fn visit(app: &Portal, headers: &HeaderMap) -> Visit {
    let signed_in = cookie_of(headers, session::COOKIE)
        .and_then(|id| app.sessions.get(id).map(|s| (id.to_string(), s)));
    let lang = language_of(app, headers);
    if let Some((id, session)) = signed_in {
        if let Some(user) = &session.user {
            super::observe::signed_in(user.card_id);
        }
        return Visit {
            id,
            session,
            set_cookie: None,
            lang,
        };
    }
    let (form, set_cookie) = match cookie_of(headers, session::FORM_COOKIE) {
        Some(f) => (f.to_string(), None),
        None => {
            let f = session::token();
            let c = session::form_cookie(&f);
            (f, Some(c))
        }
    };
    Visit {
        session: Session {
            csrf: app.sessions.form_token(&form),
            user: None,
        },
        id: form,
        set_cookie,
        lang,
    }
}

fn with_cookie(mut response: Response, cookie: Option<String>) -> Response {
    if let Some(c) = cookie
        && let Ok(v) = HeaderValue::from_str(&c)
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

fn page(visit: &Visit, markup: Markup) -> Response {
    with_cookie(
        axum::response::Html(markup.into_string()).into_response(),
        visit.set_cookie.clone(),
    )
}

fn see_other(to: &str, cookie: Option<String>) -> Response {
    with_cookie(Redirect::to(to).into_response(), cookie)
}

/// A page for an error, in the holder's language (`lang`): a title and a text, each a
/// message of the catalogs.
fn problem(app: &Portal, lang: &str, status: StatusCode, title: &str, text: &str) -> Response {
    let t = app.lang(lang);
    let (title, text) = (t.t(title), t.t(text));
    (
        status,
        axum::response::Html(pages::problem(&app.view(lang), &title, &text).into_string()),
    )
        .into_response()
}

/// The CSRF token of a form must be the session's, or for a visitor, signed for the form
/// cookie the visitor sent.
fn csrf_ok(app: &Portal, visit: &Visit, token: &str) -> bool {
    if visit.session.user.is_some() {
        session::same(&visit.session.csrf, token)
    } else {
        visit.set_cookie.is_none() && app.sessions.form_token_ok(&visit.id, token)
    }
}

fn expired_form(app: &Portal, lang: &str) -> Response {
    problem(
        app,
        lang,
        StatusCode::FORBIDDEN,
        "expired-title",
        "expired-text",
    )
}

/// The way to the sign-in page, for a visitor who is not signed in.
fn to_signin(visit: &Visit) -> Response {
    see_other("/signin", visit.set_cookie.clone())
}

/// The network the limits count a client by ([`super::limits::network`]): the peer's, or with
/// `trust_forwarded_for` the one in the last entry of the last `X-Forwarded-For` header (the
/// entry the trusted proxy wrote). Anything else there (a port, `unknown`, no header) is a
/// proxy set up wrong: refused, with a log line, rather than counted under a name the client
/// chose.
fn client(app: &Portal, headers: &HeaderMap, peer: Option<&Peer>) -> Result<String, Box<Response>> {
    match client_network(app, headers, peer) {
        Ok(net) => Ok(net),
        Err(last) => {
            eprintln!(
                "portal: refused a request whose last X-Forwarded-For entry is not an \
                     address ({} characters): with [portal] trust_forwarded_for, the proxy must \
                     append the client's address alone",
                last.chars().count()
            );
            Err(Box::new(problem(
                app,
                &language_of(app, headers),
                StatusCode::BAD_REQUEST,
                "proxy-title",
                "proxy-text",
            )))
        }
    }
}

/// The client's network as the limits count it, or the last `X-Forwarded-For` entry that is
/// no address.
pub fn client_network(
    app: &Portal,
    headers: &HeaderMap,
    peer: Option<&Peer>,
) -> Result<String, String> {
    let ip = if app.trust_forwarded_for {
        let last = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .unwrap_or("");
        last.parse::<std::net::IpAddr>()
            .map_err(|_| last.to_string())?
    } else {
        match peer {
            Some(p) => p.0.ip(),
            None => std::net::IpAddr::from([0, 0, 0, 0]),
        }
    };
    Ok(super::limits::network(ip, app.v6_prefix))
}

/// How long a page waits for the platform. Past it the read goes on (it fills the backend's
/// cache, holding the account's turn) and the page says the account is being fetched and loads
/// itself again: no page hangs on a slow platform or a long queue.
const PAGE_WAIT: Duration = Duration::from_millis(800);

/// A platform read for a page of account `card_id`: its turn, then `f` on a blocking thread;
/// `None` when it did not end within [`PAGE_WAIT`]. When what the page shows was read already
/// (`held`), `f` answers from it: no turn, no wait (a read of this account still in flight
/// must not hold up a page that needs none).
async fn read_for_page<T: Send + 'static>(
    app: &Portal,
    card_id: i64,
    held: bool,
    f: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Option<Result<T, BackendError>> {
    if held {
        return Some(blocking(f).await);
    }
    let read = async {
        let turn = app.turn(card_id).await;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            f()
        })
        .await
        .unwrap_or_else(|e| Err(crate::runner::RunError::Panic(e.to_string()).into()))
    };
    tokio::time::timeout(PAGE_WAIT, read).await.ok()
}

fn fetching(app: &Portal, v: &Visit, tab: pages::Tab) -> Response {
    page(v, pages::fetching(&app.view(&v.lang), &v.session.csrf, tab))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(crate::runner::RunError::Panic(e.to_string()).into()))
}

/// A change, waited for at most the portal's change wait: longer, the page says it is being
/// confirmed (`Pending`) while the change goes on to its end off the page (a blocking task is
/// never cancelled), under the ledger's lock and the intent protocol as ever.
async fn changing<T: Send + 'static>(
    app: &Portal,
    f: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    // Past the wait the task is only let go of (dropping its handle does not cancel it).
    match tokio::time::timeout(app.change_wait, blocking(f)).await {
        Ok(done) => done,
        Err(_) => Err(BackendError::Confirming),
    }
}

fn wait_text(t: &Language, d: Duration) -> String {
    let minutes = d.as_secs().div_ceil(60).max(1);
    t.t_with("too-many-attempts", &[("minutes", minutes.into())])
}

pub async fn home(State(app): App, headers: HeaderMap) -> Response {
    let v = visit(&app, &headers);
    let to = if v.session.user.is_some() {
        "/account"
    } else {
        "/signin"
    };
    see_other(to, v.set_cookie)
}

pub async fn signin_page(State(app): App, headers: HeaderMap) -> Response {
    let v = visit(&app, &headers);
    if v.session.user.is_some() {
        return see_other("/account", v.set_cookie);
    }
    page(
        &v,
        pages::signin(&app.view(&v.lang), &v.session.csrf, "", Flash::None),
    )
}

#[derive(Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

pub async fn signin(
    State(app): App,
    headers: HeaderMap,
    peer: Option<axum::Extension<Peer>>,
    Form(form): Form<SigninForm>,
) -> Response {
    let start = tokio::time::Instant::now();
    let v = visit(&app, &headers);
    if !csrf_ok(&app, &v, &form.csrf) {
        return expired_form(&app, &v.lang);
    }
    // A code as printed ("4020 5223 3546", dashes, full-width digits) is its digits; any other
    // login as typed.
    let typed = form.login.trim();
    let code = crate::codes::as_typed(typed);
    // A code typed is never written back into a page (it is the key to the credit); a login
    // is, for the holder to correct the password.
    let shown_login: String = if code.is_some() {
        String::new()
    } else {
        typed.chars().take(64).collect()
    };
    let login = code.unwrap_or_else(|| typed.to_string());
    let t = app.lang(&v.lang);
    let fail_page = |text: &str| {
        page(
            &v,
            pages::signin(
                &app.view(&v.lang),
                &v.session.csrf,
                &shown_login,
                Flash::Error(text),
            ),
        )
    };
    if login.is_empty() {
        return fail_page(&t.t("type-the-code"));
    }
    let net = match client(&app, &headers, peer.as_deref()) {
        Ok(net) => net,
        Err(refused) => return *refused,
    };
    let keys = [
        format!("net:{net}"),
        format!("login:{}", login.to_lowercase()),
    ];
    // Both paths share the limits, and every attempt that is not a success counts (one not
    // checked too: the ceiling reached, the platform slow or down). An attempt is counted
    // before it is checked, in the same step as its lockout is looked at, so that attempts
    // sent together cannot slip past the limits; a success takes its count back.
    if let Err(wait) = app
        .limits
        .attempt(&[(&keys[0], PER_NETWORK), (&keys[1], PER_LOGIN)])
    {
        Metrics::add(&app.metrics.lockouts);
        return fail_page(&wait_text(t, wait));
    }
    let checked = app.ceiling.take();
    // Every failure is answered at the same moment after the request came, whatever failed:
    // no code, a wrong password, the platform's answer slow or missing. Past the ceiling the
    // answer comes later still, for everyone.
    let answer_at = start
        + if checked {
            app.failure_answer
        } else {
            app.failure_answer * 3
        };
    let valid_shape = login.len() <= 64
        && form.password.len() <= 64
        && login.bytes().all(|b| b.is_ascii_graphic());
    let opened = if checked && valid_shape {
        let backend = app.backend.clone();
        let password = Secret::new(form.password.clone());
        let name = login.clone();
        let check = blocking(move || {
            let Some(card) = backend.card(&name)? else {
                return Ok(None);
            };
            let ok = if password.expose().is_empty() {
                // A sold retail card's code alone, checked in the ledger: no request at all.
                backend.carries_value(&card)?
            } else {
                backend.validate(&card.customer, &password)?
            };
            Ok(ok.then_some(card))
        });
        // An answer later than the failure's moment counts as none (the check goes on, and
        // is let go of).
        match tokio::time::timeout_at(answer_at, check).await {
            Ok(Ok(card)) => card,
            Ok(Err(_)) | Err(_) => None,
        }
    } else {
        None
    };
    match opened {
        Some(card) => {
            app.limits.undo(&keys[0]);
            app.limits.succeed(&keys[1]);
            // The ceiling counts what fails: a success gives its check back.
            app.ceiling.give_back();
            app.sessions.remove(&v.id);
            Metrics::add(&app.metrics.signins);
            super::observe::signed_in(card.id);
            let (id, _) = app.sessions.create(SignedIn {
                card_id: card.id,
                customer: card.customer.clone(),
                code_only: form.password.is_empty(),
            });
            see_other(
                "/account",
                Some(session::cookie(&id, app.sessions.max_age())),
            )
        }
        None => {
            Metrics::add(&app.metrics.signin_failures);
            tokio::time::sleep_until(answer_at).await;
            fail_page(&t.t(SIGNIN_FAILED))
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn signout(State(app): App, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let v = visit(&app, &headers);
    if !csrf_ok(&app, &v, &form.csrf) {
        return expired_form(&app, &v.lang);
    }
    app.sessions.remove(&v.id);
    see_other("/signin", Some(session::cookie("", 0)))
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    #[serde(default)]
    notice: Option<String>,
}

/// The notices a redirect may ask for (never free text from the URL), as messages.
fn notice_text(t: &Language, code: Option<&str>) -> Option<String> {
    let id = match code? {
        "added" => "notice-added",
        "removed" => "notice-removed",
        "password" => "notice-password",
        _ => return None,
    };
    Some(t.t(id))
}

pub async fn account(State(app): App, headers: HeaderMap) -> Response {
    let v = visit(&app, &headers);
    let Some(u) = v.session.user.clone() else {
        return to_signin(&v);
    };
    let backend = app.backend.clone();
    let held = backend.holds_info(&u.customer);
    let user = u.clone();
    let Some(loaded) = read_for_page(&app, u.card_id, held, move || {
        let card = backend.account(&user)?;
        let (info, age) = backend.user_info(&card.customer)?;
        let currency = backend.currency(&card)?;
        let purchases = backend.purchases(&card)?;
        let retail = backend.is_retail(&card)?;
        Ok((card, info, age, currency, purchases, retail))
    })
    .await
    else {
        return fetching(&app, &v, pages::Tab::Account);
    };
    match loaded {
        Ok((card, info, age, currency, purchases, retail)) => {
            let purchases: Vec<(
                Option<chrono::NaiveDate>,
                String,
                rust_decimal::Decimal,
                bool,
            )> = purchases
                .into_iter()
                .map(|(m, serial)| (app.look.local_date(&m.at), serial, m.amount(), m.is_done()))
                .collect();
            page(
                &v,
                pages::account(
                    &app.view(&v.lang),
                    &v.session.csrf,
                    &pages::AccountView {
                        name: if retail {
                            ("Card", &card.serial)
                        } else {
                            ("Account", &card.customer)
                        },
                        balance: info.exact_balance(),
                        read_ago: age,
                        currency: &currency,
                        blocked: info.blocked,
                        numbers: &info.numbers,
                        purchases: &purchases,
                    },
                    Flash::None,
                ),
            )
        }
        Err(_) => problem(
            &app,
            &v.lang,
            StatusCode::SERVICE_UNAVAILABLE,
            "try-again-title",
            BUSY,
        ),
    }
}

#[derive(Deserialize)]
pub struct CallsQuery {
    before: Option<String>,
    id: Option<u64>,
}

/// Calls per page.
const PAGE: u32 = 20;

pub async fn calls(State(app): App, headers: HeaderMap, Query(q): Query<CallsQuery>) -> Response {
    let v = visit(&app, &headers);
    let Some(u) = v.session.user.clone() else {
        return to_signin(&v);
    };
    let before = match (&q.before, q.id) {
        (Some(d), Some(id)) => {
            match chrono::NaiveDateTime::parse_from_str(d, "%Y-%m-%dT%H:%M:%S") {
                Ok(at) => Some((at, id)),
                Err(_) => {
                    return problem(
                        &app,
                        &v.lang,
                        StatusCode::BAD_REQUEST,
                        "not-found-title",
                        "not-found-text",
                    );
                }
            }
        }
        (None, None) => None,
        _ => {
            return problem(
                &app,
                &v.lang,
                StatusCode::BAD_REQUEST,
                "not-found-title",
                "not-found-text",
            );
        }
    };
    let backend = app.backend.clone();
    let customer = u.customer.clone();
    let held = backend.holds_calls(&customer, before, PAGE);
    let user = u.clone();
    let Some(loaded) = read_for_page(&app, u.card_id, held, move || {
        let card = backend.account(&user)?;
        let page = backend.calls_before(&customer, before, PAGE)?;
        Ok((page, backend.currency(&card)?))
    })
    .await
    else {
        return fetching(&app, &v, pages::Tab::Calls);
    };
    match loaded {
        Ok(((p, age), currency)) => {
            let next = if p.more_data || p.calls.len() >= PAGE as usize {
                p.calls.last().map(|c| {
                    format!(
                        "/calls?before={}&id={}",
                        c.start.format("%Y-%m-%dT%H:%M:%S"),
                        c.call_id
                    )
                })
            } else {
                None
            };
            page(
                &v,
                pages::calls(
                    &app.view(&v.lang),
                    &v.session.csrf,
                    &p.calls,
                    &currency,
                    next,
                    before.is_none(),
                    age,
                ),
            )
        }
        Err(_) => problem(
            &app,
            &v.lang,
            StatusCode::SERVICE_UNAVAILABLE,
            "try-again-title",
            BUSY,
        ),
    }
}

pub async fn calls_csv(State(app): App, headers: HeaderMap) -> Response {
    let v = visit(&app, &headers);
    let Some(u) = v.session.user.clone() else {
        return to_signin(&v);
    };
    // A download waits for its records (a page of "being fetched" is no CSV file).
    let _turn = app.turn(u.card_id).await;
    let backend = app.backend.clone();
    let loaded = blocking(move || backend.all_calls(&u.customer)).await;
    match loaded {
        Ok(calls) => {
            let mut table = crate::table::Table::new([
                "start_utc",
                "destination",
                "duration_seconds",
                "charge",
            ]);
            for c in &calls {
                table.push(crate::lifecycle::call_cells(c).to_vec());
            }
            let body = table.csv();
            let response = (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"calls.csv\"",
                    ),
                ],
                body,
            )
                .into_response();
            with_cookie(response, v.set_cookie)
        }
        Err(_) => problem(
            &app,
            &v.lang,
            StatusCode::SERVICE_UNAVAILABLE,
            "try-again-title",
            BUSY,
        ),
    }
}

/// The numbers page; `typed`: a number kept in its field after an error.
/// The numbers page; `typed` is the number and `region` the country as chosen (the
/// reseller's by default), kept after an error.
async fn numbers_view(
    app: &Portal,
    v: &Visit,
    u: &SignedIn,
    (typed, region): (&str, Option<&str>),
    flash: Flash<'_>,
) -> Response {
    let backend = app.backend.clone();
    let customer = u.customer.clone();
    let held = backend.holds_info(&customer);
    let Some(read) =
        read_for_page(app, u.card_id, held, move || backend.user_info(&customer)).await
    else {
        return fetching(app, v, pages::Tab::Numbers);
    };
    match read {
        Ok((info, _)) => page(
            v,
            pages::numbers(
                &app.view(&v.lang),
                &v.session.csrf,
                &info.numbers,
                region.unwrap_or(app.look.region.as_deref().unwrap_or("")),
                typed,
                flash,
            ),
        ),
        Err(_) => problem(
            app,
            &v.lang,
            StatusCode::SERVICE_UNAVAILABLE,
            "try-again-title",
            BUSY,
        ),
    }
}

pub async fn numbers(
    State(app): App,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let v = visit(&app, &headers);
    let Some(u) = v.session.user.clone() else {
        return to_signin(&v);
    };
    let notice = notice_text(app.lang(&v.lang), q.notice.as_deref());
    let flash = notice.as_deref().map_or(Flash::None, Flash::Notice);
    numbers_view(&app, &v, &u, ("", None), flash).await
}

#[derive(Deserialize)]
pub struct NumberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    region: String,
}

async fn change_number(
    app: Arc<Portal>,
    headers: HeaderMap,
    form: NumberForm,
    add: bool,
) -> Response {
    let v = visit(&app, &headers);
    if !csrf_ok(&app, &v, &form.csrf) {
        return expired_form(&app, &v.lang);
    }
    let Some(u) = v.session.user.clone() else {
        return to_signin(&v);
    };
    let typed: String = form.number.trim().chars().take(40).collect();
    // The country chosen comes back chosen only when it is one of the list ("BELGIUM" is
    // none, and chooses nothing).
    let region = if form.region.trim().is_empty() {
        None
    } else {
        match crate::import::parse_region(form.region.trim()) {
            Ok(r) => Some(r),
            Err(_) => {
                return numbers_view(
                    &app,
                    &v,
                    &u,
                    (typed.as_str(), Some("")),
                    Flash::Error(&app.lang(&v.lang).t("country-not-listed")),
                )
                .await;
            }
        }
    };
    let chosen = form.region.trim().to_ascii_uppercase();
    let kept = (typed.as_str(), Some(chosen.as_str()));
    let number = match crate::import::normalize_number(form.number.trim(), region) {
        Ok(n) => n,
        Err(_) => {
            return numbers_view(
                &app,
                &v,
                &u,
                kept,
                Flash::Error(&app.lang(&v.lang).t("number-unreadable")),
            )
            .await;
        }
    };
    let backend = app.backend.clone();
    let user = u.clone();
    let done = changing(&app, move || {
        let card = backend.account(&user)?;
        if add == card.numbers.contains(&number) {
            return Ok(());
        }
        backend.change_number(&card, &number, add)
    })
    .await;
    let trouble = match done {
        Ok(()) => {
            return see_other(
                if add {
                    "/numbers?notice=added"
                } else {
                    "/numbers?notice=removed"
                },
                v.set_cookie,
            );
        }
        Err(BackendError::Stopped(Stop::Refused(_)) | BackendError::Refused(_)) => "number-refused",
        Err(BackendError::Busy(_)) => BUSY,
        Err(BackendError::Stopped(Stop::NeverSent(_)) | BackendError::Unavailable(_)) => {
            "nothing-changed"
        }
        Err(_) => "change-confirming",
    };
    let trouble = app.lang(&v.lang).t(trouble);
    numbers_view(&app, &v, &u, kept, Flash::Error(&trouble)).await
}

pub async fn number_add(
    State(app): App,
    headers: HeaderMap,
    Form(form): Form<NumberForm>,
) -> Response {
    change_number(app, headers, form, true).await
}

pub async fn number_delete(
    State(app): App,
    headers: HeaderMap,
    Form(form): Form<NumberForm>,
) -> Response {
    change_number(app, headers, form, false).await
}

pub async fn password_page(
    State(app): App,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let v = visit(&app, &headers);
    let Some(u) = v.session.user.clone() else {
        return to_signin(&v);
    };
    let notice = notice_text(app.lang(&v.lang), q.notice.as_deref());
    let flash = notice.as_deref().map_or(Flash::None, Flash::Notice);
    page(
        &v,
        pages::password(&app.view(&v.lang), &v.session.csrf, !u.code_only, flash),
    )
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

pub async fn password(
    State(app): App,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let v = visit(&app, &headers);
    if !csrf_ok(&app, &v, &form.csrf) {
        return expired_form(&app, &v.lang);
    }
    let Some(u) = v.session.user.clone() else {
        return to_signin(&v);
    };
    let again = |text: &str| {
        page(
            &v,
            pages::password(
                &app.view(&v.lang),
                &v.session.csrf,
                !u.code_only,
                Flash::Error(text),
            ),
        )
    };
    let t = app.lang(&v.lang);
    let key = format!("password:{}", u.card_id);
    if let Some(wait) = app.limits.locked(&key) {
        return again(&wait_text(t, wait));
    }
    if form.new != form.confirm {
        return again(&t.t("passwords-differ"));
    }
    if form.new.chars().count() < pages::PASSWORD_MIN {
        return again(&t.t_with("password-too-short", &[("min", pages::PASSWORD_MIN.into())]));
    }
    if let Err(why) = crate::codes::check_password(&form.new) {
        let why = pages::policy_refusal(t, &why);
        return again(&t.t_with("password-unusable", &[("why", why.into())]));
    }
    let backend = app.backend.clone();
    let code_only = u.code_only;
    let current = Secret::new(form.current.clone());
    let new = Secret::new(form.new.clone());
    let user = u.clone();
    let done = changing(&app, move || {
        let card = backend.account(&user)?;
        // Someone at an open session must know the password to change it (a retail card
        // signed in with its code has none).
        if !code_only && current != card.password {
            return Ok(false);
        }
        backend.set_password(&card, &new)?;
        Ok(true)
    })
    .await;
    match done {
        Ok(true) => {
            app.limits.succeed(&key);
            app.sessions.remove_user(u.card_id, &v.id);
            see_other("/password?notice=password", v.set_cookie)
        }
        Ok(false) => {
            app.limits.fail(&key, REDEEM);
            again(&t.t("current-password-wrong"))
        }
        Err(BackendError::Stopped(Stop::Refused(why))) if why.is_password_refused() => {
            again(&t.t("password-refused"))
        }
        Err(BackendError::Busy(_)) => again(&t.t(BUSY)),
        Err(BackendError::Stopped(Stop::NeverSent(_)) | BackendError::Unavailable(_)) => {
            again(&t.t("password-not-answered"))
        }
        Err(BackendError::Stopped(Stop::Refused(_))) | Err(BackendError::Refused(_)) => {
            again(&t.t("password-failed"))
        }
        Err(_) => {
            // It may well be applied: other sessions end as for a change answered.
            app.sessions.remove_user(u.card_id, &v.id);
            again(&t.t("password-confirming"))
        }
    }
}

pub async fn redeem_page(State(app): App, headers: HeaderMap) -> Response {
    let v = visit(&app, &headers);
    if v.session.user.is_none() {
        return to_signin(&v);
    }
    page(
        &v,
        pages::redeem(&app.view(&v.lang), &v.session.csrf, Flash::None),
    )
}

#[derive(Deserialize)]
pub struct RedeemForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

pub async fn redeem(
    State(app): App,
    headers: HeaderMap,
    peer: Option<axum::Extension<Peer>>,
    Form(form): Form<RedeemForm>,
) -> Response {
    let start = tokio::time::Instant::now();
    let v = visit(&app, &headers);
    if !csrf_ok(&app, &v, &form.csrf) {
        return expired_form(&app, &v.lang);
    }
    let Some(u) = v.session.user.clone() else {
        return to_signin(&v);
    };
    let t = app.lang(&v.lang);
    let say = |flash: Flash<'_>| {
        page(
            &v,
            pages::redeem(&app.view(&v.lang), &v.session.csrf, flash),
        )
    };
    let net = match client(&app, &headers, peer.as_deref()) {
        Ok(net) => net,
        Err(refused) => return *refused,
    };
    let keys = [format!("redeem:{}", u.card_id), format!("redeem-net:{net}")];
    // Counted before it is tried, in one step with the lockout (see sign-in); what is not a
    // wrong code takes its count back.
    if let Err(wait) = app
        .limits
        .attempt(&[(&keys[0], REDEEM), (&keys[1], REDEEM)])
    {
        Metrics::add(&app.metrics.lockouts);
        return say(Flash::Error(&wait_text(t, wait)));
    }
    let not_a_guess = || {
        app.limits.undo(&keys[0]);
        app.limits.undo(&keys[1]);
    };
    // A code refused is answered at one moment after the request came, whatever the ledger
    // knows of it (no code, not sold, used up, someone else's): the time tells nothing.
    let refused_at = start + app.failure_answer;
    let cannot = t.t("code-cannot-redeem");
    let code = crate::codes::as_typed(&form.code).unwrap_or_default();
    if code.is_empty() || code.len() > 32 {
        Metrics::add(&app.metrics.redeem_failures);
        tokio::time::sleep_until(refused_at).await;
        return say(Flash::Error(&cannot));
    }
    let backend = app.backend.clone();
    let user = u.clone();
    let done = changing(&app, move || {
        let redeemed = backend.redeem(&code, &user)?;
        let onto = backend.account(&user)?;
        Ok((redeemed, backend.currency(&onto)?))
    })
    .await;
    if !matches!(done, Ok((Redeemed::Added(_), _))) {
        Metrics::add(&app.metrics.redeem_failures);
    }
    match done {
        Err(BackendError::NotMovable(_)) => {
            tokio::time::sleep_until(refused_at).await;
            say(Flash::Error(&cannot))
        }
        Ok((Redeemed::Already(_), _)) => {
            not_a_guess();
            tokio::time::sleep_until(refused_at).await;
            say(Flash::Error(&t.t("card-redeemed-already")))
        }
        Ok((Redeemed::Added(m), currency)) => {
            Metrics::add(&app.metrics.redeems);
            app.limits.succeed(&keys[0]);
            app.limits.undo(&keys[1]);
            // What was loaded, and what did not move, said as the command line says it.
            let money = |amount: String| format!("{amount} {currency}");
            let mut text = t.t_with(
                "redeem-added",
                &[("amount", money(t.amount(m.loads())).into())],
            );
            if let Some(o) = m.overdrawn.filter(|o| !o.is_zero()) {
                text.push(' ');
                text.push_str(
                    &t.t_with("redeem-overdrawn", &[("amount", money(t.amount(o)).into())]),
                );
            }
            if let Some(r) = m.remainder.filter(|r| !r.is_zero()) {
                text.push(' ');
                text.push_str(&t.t_with(
                    "redeem-remainder",
                    &[("amount", money(r.normalize().to_string()).into())],
                ));
            }
            say(Flash::Notice(&text))
        }
        // The truth of each stop: nothing changed, being confirmed, or for support.
        Err(BackendError::Busy(_)) => say(Flash::Error(&t.t(BUSY))),
        Err(BackendError::Stopped(Stop::NeverSent(_)) | BackendError::Unavailable(_)) => {
            not_a_guess();
            say(Flash::Error(&t.t("redeem-not-answered")))
        }
        Err(BackendError::Stopped(Stop::Confirming(_)) | BackendError::Confirming) => {
            not_a_guess();
            say(Flash::Notice(&t.t("redeem-confirming")))
        }
        Err(_) => say(Flash::Error(&t.t("redeem-failed"))),
    }
}

/// A static file by its fingerprinted name (the stylesheet, the logo), cached for a year;
/// any other name is not found.
pub async fn asset(
    State(app): App,
    headers: HeaderMap,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Response {
    let forever = (header::CACHE_CONTROL, "public, max-age=31536000, immutable");
    let path = format!("/static/{file}");
    if path == app.look.assets.css {
        return (
            [(header::CONTENT_TYPE, "text/css; charset=utf-8"), forever],
            app.style.clone(),
        )
            .into_response();
    }
    if path == app.look.assets.logo {
        return (
            [(header::CONTENT_TYPE, "image/png"), forever],
            app.logo.clone(),
        )
            .into_response();
    }
    not_found(State(app), headers).await
}

/// The logo, for browsers that ask for `/favicon.ico` whatever the page says.
pub async fn favicon(State(app): App) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        app.logo.clone(),
    )
        .into_response()
}

/// The sign-in page may be found by search engines; the account pages are nobody's business.
pub async fn robots() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        // Disallowing the account pages would only keep a crawler from the sign-in page it
        // is sent to: they open to a signed-in holder alone (and Lighthouse marks every page
        // a robots.txt disallows as "blocked from indexing").
        "# The account pages open only to a signed-in holder; a crawler sees the sign-in page.\n\
         User-agent: *\nAllow: /\n",
    )
        .into_response()
}

/// Text answers (pages, the stylesheet, CSV) compressed for clients that take `deflate`
/// (zlib), the one encoding the crates already here can write.
pub async fn compressed(request: Request, next: Next) -> Response {
    let takes = request
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| e.trim().split(';').next() == Some("deflate"));
    let response = next.run(request).await;
    let text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/"));
    if !takes || !text || response.headers().contains_key(header::CONTENT_ENCODING) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 16 << 20).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(&bytes, 6);
    parts.headers.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static("deflate"),
    );
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(packed))
}

pub async fn not_found(State(app): App, headers: HeaderMap) -> Response {
    problem(
        &app,
        &language_of(&app, &headers),
        StatusCode::NOT_FOUND,
        "not-found-title",
        "not-found-text",
    )
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    #[serde(default)]
    to: String,
}

/// The language switch: remembers the language chosen (a year, in a cookie that holds
/// nothing else) and goes back to the page's start. An unknown tag changes nothing.
pub async fn choose_language(State(app): App, Query(q): Query<LangQuery>) -> Response {
    let cookie = app.languages.get(&q.to).map(|l| {
        format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; Secure; SameSite=Lax",
            l.tag
        )
    });
    see_other("/", cookie)
}

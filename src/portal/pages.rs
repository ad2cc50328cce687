//! The pages, as compiled maud templates: every value is escaped by the template, no page
//! needs a script, every input has its label. The platform's names appear nowhere.

use fluent_bundle::FluentValue;
use maud::{DOCTYPE, Markup, html};
use rust_decimal::Decimal;

use super::i18n::Language;
use crate::api::CallRecord;

/// A page as one holder sees it: the reseller's look, in the holder's language.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub look: &'a Look,
    pub lang: &'a super::i18n::Language,
    pub languages: &'a super::i18n::Languages,
}

/// What every page shows of the reseller's brand.
#[derive(Debug, Clone)]
pub struct Look {
    pub brand: String,
    pub support: Option<String>,
    pub softphone_url: Option<String>,
    /// The default region for national numbers (ISO code).
    pub region: Option<String>,
    /// The reseller's time zone, that times are shown in (`[portal] time_zone`; UTC).
    pub time_zone: chrono_tz::Tz,
    /// Where the stylesheet and the logo are served (named by their content, cached for a
    /// year) and the logo's size; set by [`super::Portal::new`].
    pub assets: Assets,
}

impl Look {
    /// A platform time (UTC) in the reseller's time zone.
    pub fn local_time(&self, utc: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
        utc.and_utc().with_timezone(&self.time_zone).naive_local()
    }

    /// A ledger time (`2026-12-03T08:00:00Z`) as a date in the reseller's time zone (the
    /// date it names when it is a date alone).
    pub fn local_date(&self, stamp: &str) -> Option<chrono::NaiveDate> {
        match chrono::DateTime::parse_from_rfc3339(stamp) {
            Ok(t) => Some(t.with_timezone(&self.time_zone).date_naive()),
            Err(_) => chrono::NaiveDate::parse_from_str(stamp.get(..10)?, "%Y-%m-%d").ok(),
        }
    }

    /// The time zone's name, as said under a table of times: "Europe/London time (GMT)".
    pub fn zone_name(&self) -> String {
        use chrono::Offset;
        let now = chrono::Utc::now().with_timezone(&self.time_zone);
        let abbreviation = now.format("%Z").to_string();
        let offset = now.offset().fix().local_minus_utc();
        match self.time_zone {
            chrono_tz::UTC => "UTC".into(),
            zone if abbreviation.starts_with(['+', '-']) => {
                format!("{} time (UTC{})", zone.name(), utc_offset(offset))
            }
            zone => format!("{} time ({abbreviation})", zone.name()),
        }
    }
}

/// An offset from UTC in seconds as `+3` or `+5:30`.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let (h, m) = (seconds.abs() / 3600, seconds.abs() / 60 % 60);
    if m == 0 {
        format!("{sign}{h}")
    } else {
        format!("{sign}{h}:{m:02}")
    }
}

/// The addresses of the static files, fingerprinted, and the logo's size in pixels.
#[derive(Debug, Clone, Default)]
pub struct Assets {
    pub css: String,
    pub logo: String,
    pub logo_size: (u32, u32),
}

/// The support line with its phone number tappable (`tel:`): the first run of a `+`, digits,
/// spaces, dashes and brackets at least 8 digits long.
fn support_line(text: &str) -> Markup {
    let bytes: Vec<char> = text.chars().collect();
    let mut start = None;
    for (i, c) in bytes.iter().enumerate() {
        if *c == '+' {
            start = Some(i);
            break;
        }
    }
    if let Some(a) = start {
        let mut b = a + 1;
        while b < bytes.len() && (bytes[b].is_ascii_digit() || " -()".contains(bytes[b])) {
            b += 1;
        }
        let number: String = bytes[a..b]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_string();
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 8 {
            let before: String = bytes[..a].iter().collect();
            let after: String = bytes[a + number.chars().count()..].iter().collect();
            return html! {
                (before) a href=(format!("tel:+{digits}")) dir="ltr" { (number) } (after)
            };
        }
    }
    html! { (text) }
}

/// Which page of the signed-in menu is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Account,
    Calls,
    Numbers,
    Password,
    Redeem,
    None,
}

/// A message at the top of a page.
pub enum Flash<'a> {
    Error(&'a str),
    Notice(&'a str),
    None,
}

pub fn layout(
    view: &View<'_>,
    title: &str,
    tab: Tab,
    csrf: Option<&str>,
    flash: Flash<'_>,
    body: Markup,
) -> Markup {
    layout_refreshing(view, title, tab, csrf, flash, None, body)
}

/// A page that is still waiting for the platform: it shows what it can and loads itself again
/// after `seconds` (no script: a `refresh` meta element).
pub fn fetching(view: &View<'_>, csrf: &str, tab: Tab) -> Markup {
    let t = view.lang;
    layout_refreshing(
        view,
        &t.t("just-a-moment"),
        tab,
        Some(csrf),
        Flash::None,
        Some(2),
        html! {
            div.card role="status" {
                p { (t.t("being-fetched")) }
            }
        },
    )
}

fn layout_refreshing(
    view: &View<'_>,
    title: &str,
    tab: Tab,
    csrf: Option<&str>,
    flash: Flash<'_>,
    refresh: Option<u32>,
    body: Markup,
) -> Markup {
    let (look, t) = (view.look, view.lang);
    let item = |which: Tab, href: &str, label: String| {
        html! {
            li { a href=(href) aria-current=[(tab == which).then_some("page")] { (label) } }
        }
    };
    html! {
        (DOCTYPE)
        html lang=(t.tag) dir=(t.dir()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) " · " (look.brand) }
                meta name="description"
                    content=(t.t_with("meta-description", &[("brand", look.brand.as_str().into())]));
                link rel="icon" type="image/png" href=(look.assets.logo);
                link rel="stylesheet" href=(look.assets.css);
            }
            body {
                a.skip href="#main" { (t.t("skip-to-content")) }
                header {
                    img src=(look.assets.logo) alt="" width=(look.assets.logo_size.0)
                        height=(look.assets.logo_size.1);
                    span.brand { (look.brand) }
                }
                @if let Some(csrf) = csrf {
                    nav aria-label=(t.t("nav-label")) {
                        ul {
                            (item(Tab::Account, "/account", t.t("nav-account")))
                            (item(Tab::Calls, "/calls", t.t("nav-calls")))
                            (item(Tab::Numbers, "/numbers", t.t("nav-numbers")))
                            (item(Tab::Password, "/password", t.t("nav-password")))
                            (item(Tab::Redeem, "/redeem", t.t("nav-redeem")))
                            li {
                                form.inline method="post" action="/signout" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button.secondary type="submit" { (t.t("sign-out")) }
                                }
                            }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    @match flash {
                        Flash::Error(text) => div.error role="alert" { (text) },
                        Flash::Notice(text) => div.notice role="status" { (text) },
                        Flash::None => {},
                    }
                    (body)
                }
                footer {
                    @if let Some(s) = &look.support { p { (support_line(s)) } }
                    @if let Some(url) = &look.softphone_url {
                        p { a href=(url) rel="noopener noreferrer" { (t.t("download-app")) } }
                    }
                    (switch(view))
                }
            }
        }
    }
}

/// `login`: what was typed, kept after a failure: in the code's field when it reads as a
/// code, else in the login's.
/// The sign-in page; `login` is a login typed before (never a code: the code field always
/// comes back empty, and no browser offers to keep it).
pub fn signin(view: &View<'_>, csrf: &str, login: &str, flash: Flash<'_>) -> Markup {
    let t = view.lang;
    layout(
        view,
        &t.t("sign-in"),
        Tab::None,
        None,
        flash,
        html! {
            div.card {
                h2 { (t.t("signin-with-code")) }
                form method="post" action="/signin" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="code" { (t.t("access-code")) }
                    input id="code" name="login" type="text" inputmode="numeric" dir="ltr"
                        autocomplete="off" maxlength="40" aria-describedby="code-help";
                    p.muted id="code-help" { (t.t("access-code-help")) }
                    button type="submit" { (t.t("sign-in")) }
                }
            }
            div.card {
                h2 { (t.t("signin-with-login")) }
                form method="post" action="/signin" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="login" { (t.t("login")) }
                    input id="login" name="login" type="text" autocomplete="username"
                        autocapitalize="none" spellcheck="false" maxlength="64" dir="ltr"
                        value=(login) aria-describedby="login-help";
                    p.muted id="login-help" { (t.t("login-help")) }
                    label for="password" { (t.t("password")) }
                    input id="password" name="password" type="password" dir="ltr"
                        autocomplete="current-password" required;
                    button type="submit" { (t.t("sign-in")) }
                }
            }
        },
    )
}

/// The language switch: each language the page speaks, in its own name (a link that
/// remembers the choice; no script).
fn switch(view: &View<'_>) -> Markup {
    html! {
        nav.languages aria-label=(view.lang.t("language-switch")) {
            ul {
                @for l in view.languages.offered() {
                    li {
                        a href=(format!("/lang?to={}", l.tag)) lang=(l.tag) hreflang=(l.tag)
                            aria-current=[(l.tag == view.lang.tag).then_some("true")] { (l.name) }
                    }
                }
            }
        }
    }
}

pub struct AccountView<'a> {
    /// How the account is named on the page: "Card" and its serial (a retail card: its code
    /// is its key, never shown), or "Account" and the login (a welcome card).
    pub name: (&'static str, &'a str),
    pub balance: Decimal,
    /// How long ago the balance was read, when older than a fresh read (being read again).
    pub read_ago: Option<std::time::Duration>,
    pub currency: &'a str,
    pub blocked: bool,
    pub numbers: &'a [String],
    /// Redeemed cards: when, serial, amount, credited yet.
    pub purchases: &'a [(Option<chrono::NaiveDate>, String, Decimal, bool)],
}

pub fn account(view: &View<'_>, csrf: &str, v: &AccountView<'_>, flash: Flash<'_>) -> Markup {
    let t = view.lang;
    layout(
        view,
        &t.t("your-account"),
        Tab::Account,
        Some(csrf),
        flash,
        html! {
            div.card {
                p.muted { (t.t("balance")) }
                p.balance id="balance" { (t.amount(v.balance)) " " (v.currency) }
                (as_of(t, v.read_ago))
                @if v.blocked {
                    p.error role="status" id="blocked" {
                        (t.t("account-blocked"))
                    }
                } @else {
                    p.muted id="blocked" { (t.t("ready-to-call")) }
                }
                p.muted {
                    (t.t_with(
                        if v.name.0 == "Card" { "name-card" } else { "name-account" },
                        &[("name", v.name.1.into())],
                    ))
                }
            }
            div.card {
                h2 { (t.t("your-numbers")) }
                @if v.numbers.is_empty() {
                    p { (t.t("no-number-yet")) " " a href="/numbers" { (t.t("add-phone")) } }
                } @else {
                    ul.numbers { @for n in v.numbers { li dir="ltr" { (crate::import::for_reading(n)) } } }
                }
            }
            div.card {
                h2 { (t.t("purchases")) }
                @if v.purchases.is_empty() {
                    p { (t.t("no-card-redeemed")) " " a href="/redeem" { (t.t("nav-redeem")) } }
                } @else {
                    table {
                        thead {
                            tr {
                                th scope="col" { (t.t("col-date")) }
                                th scope="col" { (t.t("col-card")) }
                                th.num scope="col" { (t.t("col-credit")) }
                            }
                        }
                        tbody {
                            @for (at, serial, amount, done) in v.purchases {
                                tr {
                                    td { @if let Some(d) = at { (t.date(*d)) } }
                                    td { (serial) }
                                    td.num { (t.amount(*amount)) @if !done { " " (t.t("being-confirmed")) } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A call's length as people say it in the holder's language: "45 s", "2 min 5 s", "1 h 3
/// min".
pub fn duration_words(t: &Language, secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let n = |v: u64| FluentValue::from(v);
    match (h, m, s) {
        (0, 0, s) => t.t_with("dur-s", &[("s", n(s))]),
        (0, m, 0) => t.t_with("dur-min", &[("m", n(m))]),
        (0, m, s) => t.t_with("dur-min-s", &[("m", n(m)), ("s", n(s))]),
        (h, 0, _) => t.t_with("dur-h", &[("h", n(h))]),
        (h, m, _) => t.t_with("dur-h-min", &[("h", n(h)), ("m", n(m))]),
    }
}

/// How old a read is, when it is older than a fresh one (a newer one is being fetched).
fn as_of(t: &Language, read_ago: Option<std::time::Duration>) -> Markup {
    html! {
        @if let Some(ago) = read_ago {
            p.muted.as-of {
                (t.t_with("as-of", &[("ago", duration_words(t, ago.as_secs()).into())]))
            }
        }
    }
}

/// A page of calls, newest first; `read_ago` as in [`AccountView::read_ago`].
pub fn calls(
    view: &View<'_>,
    csrf: &str,
    calls: &[CallRecord],
    currency: &str,
    next: Option<String>,
    first_page: bool,
    read_ago: Option<std::time::Duration>,
) -> Markup {
    let t = view.lang;
    layout(
        view,
        &t.t("nav-calls"),
        Tab::Calls,
        Some(csrf),
        Flash::None,
        html! {
            p { a href="/calls.csv" download { (t.t("download-calls")) } }
            (as_of(t, read_ago))
            @if calls.is_empty() {
                p { @if first_page { (t.t("no-calls")) } @else { (t.t("no-earlier-calls")) } }
            } @else {
                table {
                    caption.muted {
                        (t.t_with("calls-caption", &[("zone", view.look.zone_name().into())]))
                    }
                    thead {
                        tr {
                            th scope="col" { (t.t("col-when")) }
                            th scope="col" { (t.t("col-number")) }
                            th.num scope="col" { (t.t("col-duration")) }
                            th.num scope="col" { (t.t_with("col-cost", &[("currency", currency.into())])) }
                        }
                    }
                    tbody {
                        @for c in calls {
                            tr {
                                td { (view.lang.date_time(view.look.local_time(c.start))) }
                                td.number dir="ltr" title=(crate::text::shortened(&c.destination, 64)) {
                                    (number_called(&c.destination))
                                }
                                td.num { (duration_words(t, u64::from(c.duration_secs))) }
                                td.num { (c.charge.normalize().to_string()) }
                            }
                        }
                    }
                }
            }
            @if let Some(href) = next {
                p { a.button href=(href) rel="next" { (t.t("earlier-calls")) } }
            }
            @if !first_page { p { a href="/calls" { (t.t("back-to-newest")) } } }
        },
    )
}

/// A number called as a holder reads it: grouped as in its country ("+44 20 7946 0958"),
/// hidden characters dropped, shortened past 32 characters; a line may break between its
/// groups, and inside a group only when it is longer than a phone's line can hold.
fn number_called(destination: &str) -> Markup {
    let visible = crate::text::visible(destination);
    let shown = crate::text::shortened(&crate::import::for_reading(visible.trim()), 32);
    html! {
        @for (i, group) in shown.split(' ').enumerate() {
            @if i > 0 { " " }
            @if group.chars().count() > 12 {
                @for (j, piece) in group.chars().collect::<Vec<_>>().chunks(8).enumerate() {
                    @if j > 0 { wbr; }
                    (piece.iter().collect::<String>())
                }
            } @else {
                (group)
            }
        }
    }
}

/// The countries a number can be written nationally for, by name in the holder's language
/// (ISO code, name; English for a language without its list): those of Debian's iso-codes
/// list that the number library knows.
pub fn countries(lang: &str) -> &'static [(&'static str, &'static str)] {
    type List = Vec<(&'static str, &'static str)>;
    static LISTS: std::sync::OnceLock<Vec<(&'static str, List)>> = std::sync::OnceLock::new();
    let lists = LISTS.get_or_init(|| {
        COUNTRY_NAMES
            .iter()
            .map(|(tag, text)| {
                let list = text
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .filter_map(|l| l.split_once('\t'))
                    .filter(|(code, _)| crate::import::parse_region(code).is_ok())
                    .collect();
                (*tag, list)
            })
            .collect()
    });
    let primary = lang.split('-').next().unwrap_or(lang);
    lists
        .iter()
        .find(|(tag, _)| *tag == primary)
        .unwrap_or(&lists[0])
        .1
        .as_slice()
}

/// The country names by language, in the order each lists them (English first: the names of
/// a language without its own list).
const COUNTRY_NAMES: [(&str, &str); 5] = [
    ("en", include_str!("countries/en.tsv")),
    ("es", include_str!("countries/es.tsv")),
    ("fr", include_str!("countries/fr.tsv")),
    ("pl", include_str!("countries/pl.tsv")),
    ("ar", include_str!("countries/ar.tsv")),
];

/// The numbers page; `region` is the country chosen (the reseller's by default) and `typed`
/// the number as typed, both kept after an error.
pub fn numbers(
    view: &View<'_>,
    csrf: &str,
    numbers: &[String],
    region: &str,
    typed: &str,
    flash: Flash<'_>,
) -> Markup {
    let t = view.lang;
    layout(
        view,
        &t.t("your-numbers"),
        Tab::Numbers,
        Some(csrf),
        flash,
        html! {
            div.card {
                p { (t.t("numbers-intro")) }
                @if numbers.is_empty() {
                    p { (t.t("no-number-yet")) }
                } @else {
                    ul.numbers {
                        @for n in numbers {
                            li {
                                span dir="ltr" { (crate::import::for_reading(n)) }
                                form.inline method="post" action="/numbers/delete" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="number" value=(n);
                                    button.secondary type="submit"
                                        aria-label=(t.t_with("remove-number", &[("number", crate::import::for_reading(n).into())]))
                                        { (t.t("remove")) }
                                }
                            }
                        }
                    }
                }
            }
            div.card {
                h2 { (t.t("add-number")) }
                form method="post" action="/numbers/add" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="number" { (t.t("phone-number")) }
                    input id="number" name="number" type="tel" autocomplete="tel" required dir="ltr"
                        maxlength="40" value=(typed) aria-describedby="number-help";
                    p.muted id="number-help" { (t.t("number-help")) }
                    label for="region" { (t.t("country-of-number")) }
                    select id="region" name="region" {
                        option value="" selected[region.is_empty()] { (t.t("international-form")) }
                        @for (code, name) in countries(&t.tag) {
                            option value=(code) selected[region.eq_ignore_ascii_case(code)] { (name) }
                        }
                    }
                    button type="submit" { (t.t("add")) }
                }
            }
        },
    )
}

/// The password policy's hint in the holder's language, its lengths from the policy
/// (`codes::password`; the rules it states are those `codes::check_password` applies).
pub fn policy_hint(t: &Language) -> String {
    t.t_with(
        "password-policy",
        &[
            (
                "min",
                PASSWORD_MIN.max(crate::codes::password::MIN_LENGTH).into(),
            ),
            ("max", crate::codes::password::MAX_LENGTH.into()),
        ],
    )
}

/// Why a password fails the policy, in the holder's language.
pub fn policy_refusal(t: &Language, why: &crate::codes::PolicyViolation) -> String {
    use crate::codes::PolicyViolation::*;
    let n = |v: usize| FluentValue::from(v);
    match why {
        Length(len) => t.t_with(
            "policy-length",
            &[
                ("length", n(*len)),
                ("min", n(crate::codes::password::MIN_LENGTH)),
                ("max", n(crate::codes::password::MAX_LENGTH)),
            ],
        ),
        Character { position } => t.t_with("policy-character", &[("position", n(*position))]),
        Start(c) => t.t_with(
            "policy-start",
            &[("char", FluentValue::from(c.to_string()))],
        ),
        Repeat { position } => t.t_with(
            "policy-repeat",
            &[("from", n(*position)), ("to", n(position + 2))],
        ),
        Sequence { position } => t.t_with(
            "policy-sequence",
            &[("from", n(*position)), ("to", n(position + 2))],
        ),
    }
}

/// The shortest password the page takes (the policy allows shorter; a holder's is worth more).
pub const PASSWORD_MIN: usize = 8;

pub fn password(view: &View<'_>, csrf: &str, ask_current: bool, flash: Flash<'_>) -> Markup {
    let t = view.lang;
    layout(
        view,
        &t.t("change-password"),
        Tab::Password,
        Some(csrf),
        flash,
        html! {
            div.card {
                form method="post" action="/password" {
                    input type="hidden" name="csrf" value=(csrf);
                    @if ask_current {
                        label for="current" { (t.t("current-password")) }
                        input id="current" name="current" type="password" autocomplete="current-password" required;
                    }
                    label for="new" { (t.t("new-password")) }
                    input id="new" name="new" type="password" autocomplete="new-password" required
                        minlength=(PASSWORD_MIN) maxlength="39" aria-describedby="new-help";
                    p.muted id="new-help" { (policy_hint(t)) }
                    @if !ask_current {
                        p.muted { (t.t("code-only-password")) }
                    }
                    label for="confirm" { (t.t("new-password-again")) }
                    input id="confirm" name="confirm" type="password" autocomplete="new-password" required;
                    button type="submit" { (t.t("change-the-password")) }
                }
            }
        },
    )
}

pub fn redeem(view: &View<'_>, csrf: &str, flash: Flash<'_>) -> Markup {
    let t = view.lang;
    layout(
        view,
        &t.t("nav-redeem"),
        Tab::Redeem,
        Some(csrf),
        flash,
        html! {
            div.card {
                p { (t.t("redeem-intro")) }
                form method="post" action="/redeem" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="code" { (t.t("redeem-code")) }
                    input id="code" name="code" type="text" inputmode="numeric" autocomplete="off" required dir="ltr";
                    button type="submit" { (t.t("redeem")) }
                }
            }
        },
    )
}

/// A page for an error: a refused form, a missing page.
pub fn problem(view: &View<'_>, title: &str, text: &str) -> Markup {
    layout(
        view,
        title,
        Tab::None,
        None,
        Flash::None,
        html! {
            p { (text) }
            p { a href="/" { (view.lang.t("back-to-start")) } }
        },
    )
}

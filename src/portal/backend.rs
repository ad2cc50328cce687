//! What the portal asks of the platform and the ledger. Every platform request goes through
//! the one throttle the portal shares with its change runs, so no number of visitors can
//! flood the platform. Changes (numbers, password, a redeem) run on the runner under the
//! intent protocol, holding the ledger's lock only while they run: the reseller's own
//! commands work between them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::api::{ApiError, CallPage, Client, UserInfo, paging};
use crate::config::Secret;
use crate::ledger::{Card, Claim, Ledger, LedgerError, Movement, MovementKind, Platform};
use crate::lifecycle;
use crate::money::{self, Advance};
use crate::runner::throttle::Throttle;
use crate::runner::{Failure, Options, Report, Run, Silent};

/// Why the portal could not do what was asked. Never shown as is: pages say it in the
/// brand's words, without the platform's names.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A read the platform did not answer (or not in time), after its tries: nothing changed,
    /// try again later.
    #[error("the service did not answer: {0}")]
    Unavailable(Failure),
    /// The platform refused a read.
    #[error("refused: {0}")]
    Refused(ApiError),
    /// The signed-in account's card is no longer in the ledger (a ledger replaced under the
    /// portal): the session is over.
    #[error("the card {0} is not in the ledger")]
    NoCard(i64),
    /// The reseller's own command (or another portal) holds the ledger right now.
    #[error("busy: {0}")]
    Busy(LedgerError),
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// The run under a change failed (its ledger, a panicked worker): whatever it claimed
    /// stays in the ledger and is finished later.
    #[error("{0}")]
    Run(#[from] crate::runner::RunError),
    /// The change outlived the page's wait: it goes on off the page and is being confirmed.
    #[error("the change goes on: it is being confirmed")]
    Confirming,
    /// The card's credit cannot move (typed by the money core).
    #[error("{0}")]
    NotMovable(money::Refusal),
    /// A change or a movement stopped at a step, typed: never sent, refused, or being
    /// confirmed (a movement's claim stays in the ledger and is continued later).
    #[error("{0}")]
    Stopped(money::Stop),
}

impl From<ApiError> for BackendError {
    /// A protocol error found above one request (the pager's): the platform's answer cannot
    /// be used, as when it refuses.
    fn from(e: ApiError) -> BackendError {
        BackendError::Refused(e)
    }
}

impl From<money::MoneyError> for BackendError {
    fn from(e: money::MoneyError) -> BackendError {
        match e {
            money::MoneyError::Ledger(e) => BackendError::Ledger(e),
            money::MoneyError::Run(e) => BackendError::Run(e),
            money::MoneyError::Refused(r) => BackendError::NotMovable(r),
        }
    }
}

/// Tries of one read of a page (a visitor waits for them).
const READ_TRIES: u32 = 3;

/// What a redeem came to.
#[derive(Debug, Clone)]
pub enum Redeemed {
    /// This request moved the credit (or finished moving it): the movement as recorded.
    Added(Movement),
    /// The credit was on the account before this request.
    Already(Movement),
}

/// How long a read of an account (its balance, numbers, the newest calls) is shown again
/// before the platform is asked anew; a change this portal makes forgets it at once.
pub const FRESH: Duration = Duration::from_secs(10);
/// How long a read older than [`FRESH`] is still shown while a fresher one is fetched behind
/// it (the page says how old it is).
pub const STALE: Duration = Duration::from_secs(600);
/// How old a read shown again is, when it is older than fresh (a newer one is being fetched).
pub type Stale = Option<Duration>;

/// A read made again behind a stale answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Refresh {
    Info,
    NewestCalls(u32),
}

/// How long a page of older calls is kept: call records do not change once written.
const SETTLED: Duration = Duration::from_secs(600);
/// Reads kept at most (past it the cache starts again empty).
const MOST_CACHED: usize = 20_000;

/// A page of calls: the account, the call it comes before (none: the newest), its length.
type PageKey = (String, Option<(chrono::NaiveDateTime, u64)>, u32);

/// What the portal read of each account lately, so that a holder browsing does not cost a
/// platform request per page.
#[derive(Default)]
struct Cache {
    info: HashMap<String, (Instant, UserInfo)>,
    calls: HashMap<PageKey, (Instant, CallPage)>,
    all_calls: HashMap<String, (Instant, Vec<crate::api::CallRecord>)>,
    /// Reads being made again behind a stale answer.
    refreshing: std::collections::HashSet<(String, Refresh)>,
    /// How often each account was forgotten: a read begun before a change does not put back
    /// what the change made old.
    generation: HashMap<String, u64>,
}

impl Cache {
    fn size(&self) -> usize {
        self.info.len() + self.calls.len() + self.all_calls.len()
    }

    fn forget(&mut self, customer: &str) {
        *self.generation.entry(customer.to_string()).or_default() += 1;
        self.info.remove(customer);
        self.calls.retain(|(c, _, _), _| c != customer);
        self.all_calls.remove(customer);
    }
}

/// The platform and the ledger, shared by every request of the portal.
pub struct Backend {
    cache: Mutex<Cache>,
    client: Client,
    throttle: Arc<Throttle>,
    ledger: PathBuf,
    platform: Platform,
    options: Options,
    /// [`FRESH`], or shorter in tests.
    fresh: Duration,
    /// How long a change waits for the ledger's lock ([`LOCK_WAIT`]): shorter than a page
    /// waits for the change, so that a change that never got the lock (nothing claimed) is
    /// answered "busy, try again", never "being confirmed".
    lock_wait: Duration,
}

/// How long a change waits for the ledger's lock by default.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

impl Backend {
    pub fn new(
        client: Client,
        throttle: Arc<Throttle>,
        platform: Platform,
        ledger: PathBuf,
        options: Options,
    ) -> Backend {
        Backend {
            cache: Mutex::new(Cache::default()),
            throttle,
            client,
            ledger,
            platform,
            options: Options {
                concurrency: 1,
                ..options
            },
            fresh: FRESH,
            lock_wait: LOCK_WAIT,
        }
    }

    /// Changes wait at most `wait` for the ledger's lock: less than the page waits for them.
    pub fn lock_wait_for(self, wait: Duration) -> Backend {
        Backend {
            lock_wait: wait,
            ..self
        }
    }

    /// Reads shown again for `fresh` instead of [`FRESH`] (tests of stale reads).
    pub fn fresh_for(self, fresh: Duration) -> Backend {
        Backend { fresh, ..self }
    }

    /// What the platform's answers to this page have been like.
    pub fn client_health(&self) -> &crate::api::Health {
        self.client.health()
    }

    /// One harmless read through the throttle, for `/health`: its outcome is in
    /// [`Backend::client_health`].
    pub fn probe(&self) {
        let permit = self.throttle.acquire();
        let answer = self.client.check_login_once();
        self.throttle.release(
            permit,
            answer
                .as_ref()
                .err()
                .is_some_and(crate::api::ApiError::is_overload),
        );
    }

    /// The ledger's schema and its changes in flight, or why it does not open.
    pub fn ledger_state(&self) -> Result<(i64, usize), String> {
        let ledger = self.open().map_err(|e| e.to_string())?;
        let schema = ledger.schema().map_err(|e| e.to_string())?.0;
        // The first and last pages of its main tables read (cheap, whatever its size): a
        // damaged file fails here as the page's own reads would.
        ledger.touch().map_err(|e| e.to_string())?;
        let open = ledger
            .pending_intents(None)
            .map_err(|e| e.to_string())?
            .len();
        Ok((schema, open))
    }

    fn open(&self) -> Result<Ledger, BackendError> {
        // The page reads and writes the ledger it started on; one gone is an error, never a
        // new empty ledger (whose /health would say all is well).
        Ok(Ledger::open_existing(&self.ledger)?)
    }

    /// The ledger's card for a login (its customer name), if it is a card of this platform.
    pub fn card(&self, customer: &str) -> Result<Option<Card>, BackendError> {
        let ledger = self.open()?;
        let Some(card) = ledger.find_card(customer)? else {
            return Ok(None);
        };
        if card.customer != customer {
            // A serial is no login.
            return Ok(None);
        }
        let batch = ledger.batch(&card.batch_id)?;
        let ours = batch.is_some_and(|b| b.platform.as_ref().is_none_or(|p| *p == self.platform));
        Ok(ours.then_some(card))
    }

    /// Whether the card's code alone opens it ([`Card::carries_value`]).
    pub fn carries_value(&self, card: &Card) -> Result<bool, BackendError> {
        Ok(card.carries_value(self.is_retail(card)?))
    }

    /// Whether the card is retail stock, its code its key ([`Ledger::is_retail`]).
    pub fn is_retail(&self, card: &Card) -> Result<bool, BackendError> {
        Ok(self.open()?.is_retail(card.id)?)
    }

    /// The card a session is signed in to: its id and its login both, so that a session can
    /// never reach another card under the same id (a ledger restored from a copy numbers its
    /// new cards again).
    pub fn account(&self, user: &super::session::SignedIn) -> Result<Card, BackendError> {
        account_in(&self.open()?, user)
    }

    pub fn card_by_id(&self, id: i64) -> Result<Option<Card>, BackendError> {
        Ok(self.open()?.card_by_id(id)?)
    }

    /// The currency of a card's batch.
    pub fn currency(&self, card: &Card) -> Result<String, BackendError> {
        Ok(self
            .open()?
            .batch(&card.batch_id)?
            .map(|b| b.currency)
            .unwrap_or_default())
    }

    /// One read, through the throttle, repeated by the runner's one rule for reads
    /// ([`crate::runner::read_retrying`]): three tries at most, a page's time budget.
    fn read<T>(&self, f: impl Fn(&Client) -> Result<T, ApiError>) -> Result<T, BackendError> {
        self.read_tries(READ_TRIES, f)
    }

    fn read_tries<T>(
        &self,
        tries: u32,
        f: impl Fn(&Client) -> Result<T, ApiError>,
    ) -> Result<T, BackendError> {
        let once = |_| {
            let permit = self.throttle.acquire();
            let result = f(&self.client);
            let overload = result.as_ref().err().is_some_and(ApiError::is_overload);
            self.throttle.release(permit, overload);
            Some(result)
        };
        let pause = |attempt, _: &ApiError| {
            let random = getrandom::u64().unwrap_or(0);
            std::thread::sleep(crate::runner::throttle::backoff(
                attempt,
                Duration::from_millis(100),
                Duration::from_secs(1),
                random,
            ));
        };
        crate::runner::read_retrying(tries, once, pause).map_err(|f| match f {
            Failure::Refused(e) => BackendError::Refused(e),
            unanswered => BackendError::Unavailable(unanswered),
        })
    }

    /// Whether `password` opens the account (validateuser): one request, never repeated, so
    /// that the platform sees at most one per sign-in check (see `portal::limits`).
    pub fn validate(&self, customer: &str, password: &Secret) -> Result<bool, BackendError> {
        self.read_tries(1, |c| c.validate_user(customer, password))
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.size() > MOST_CACHED {
            *cache = Cache::default();
        }
        cache
    }

    /// The account's balance, numbers and state, and how old the read is: read at most
    /// [`FRESH`] ago; or, up to [`STALE`], the last read while a fresher one is fetched behind
    /// it (the page says how old it is); else read now.
    pub fn user_info(self: &Arc<Self>, customer: &str) -> Result<(UserInfo, Stale), BackendError> {
        let cached = self.cache().info.get(customer).cloned();
        if let Some((at, info)) = cached {
            let age = at.elapsed();
            if age < self.fresh {
                return Ok((info, None));
            }
            if age < STALE {
                self.refresh_later(customer, Refresh::Info);
                return Ok((info, Some(age)));
            }
        }
        Ok((self.user_info_now(customer)?, None))
    }

    /// Whether [`Backend::user_info`] answers from what was read (no wait for the platform).
    pub fn holds_info(&self, customer: &str) -> bool {
        self.cache()
            .info
            .get(customer)
            .is_some_and(|(at, _)| at.elapsed() < STALE)
    }

    /// Whether [`Backend::calls_before`] answers from what was read.
    pub fn holds_calls(
        &self,
        customer: &str,
        before: Option<(chrono::NaiveDateTime, u64)>,
        count: u32,
    ) -> bool {
        let keep = if before.is_some() { SETTLED } else { STALE };
        self.cache()
            .calls
            .get(&(customer.to_string(), before, count))
            .is_some_and(|(at, _)| at.elapsed() < keep)
    }

    fn generation(&self, customer: &str) -> u64 {
        self.cache()
            .generation
            .get(customer)
            .copied()
            .unwrap_or_default()
    }

    /// Keeps a read (`put` it in the cache) unless the account was forgotten (changed) since
    /// the read began.
    fn keep(&self, customer: &str, generation: u64, put: impl FnOnce(&mut Cache)) {
        let mut cache = self.cache();
        if cache.generation.get(customer).copied().unwrap_or_default() == generation {
            put(&mut cache);
        }
    }

    /// Reads the account again on a thread of its own (one at a time per account and kind of
    /// read), through the throttle like every read.
    fn refresh_later(self: &Arc<Self>, customer: &str, what: Refresh) {
        let key = (customer.to_string(), what);
        if !self.cache().refreshing.insert(key.clone()) {
            return;
        }
        let me = self.clone();
        let name = customer.to_string();
        let spawned = std::thread::Builder::new()
            .name("refresh".into())
            .spawn(move || {
                let _ = match what {
                    Refresh::Info => me.user_info_now(&name).map(|_| ()),
                    Refresh::NewestCalls(count) => me.newest_calls_now(&name, count).map(|_| ()),
                };
                me.cache().refreshing.remove(&(name, what));
            });
        if spawned.is_err() {
            self.cache().refreshing.remove(&key);
        }
    }

    fn user_info_now(&self, customer: &str) -> Result<UserInfo, BackendError> {
        let generation = self.generation(customer);
        let info = self.read(|c| c.get_user_info(customer))?;
        self.keep(customer, generation, |cache| {
            cache
                .info
                .insert(customer.to_string(), (Instant::now(), info.clone()));
        });
        Ok(info)
    }

    /// Forgets what was read of an account (it just changed).
    pub fn forget(&self, customer: &str) {
        self.cache().forget(customer);
    }

    /// Up to `count` calls, newest first, before the call (`date`, `call_id`) of an earlier
    /// page (none: from now), and how old the read is. The newest calls may grow: they are
    /// kept like the balance ([`FRESH`], then shown up to [`STALE`] while read again); a page
    /// of older ones is the record as written, kept [`SETTLED`].
    pub fn calls_before(
        self: &Arc<Self>,
        customer: &str,
        before: Option<(chrono::NaiveDateTime, u64)>,
        count: u32,
    ) -> Result<(CallPage, Stale), BackendError> {
        let key = (customer.to_string(), before, count);
        let cached = self.cache().calls.get(&key).cloned();
        if let Some((at, page)) = cached {
            let age = at.elapsed();
            match before {
                Some(_) if age < SETTLED => return Ok((page, None)),
                None if age < self.fresh => return Ok((page, None)),
                None if age < STALE => {
                    self.refresh_later(customer, Refresh::NewestCalls(count));
                    return Ok((page, Some(age)));
                }
                _ => {}
            }
        }
        let page = match before {
            None => self.newest_calls_now(customer, count)?,
            Some(_) => {
                let now = chrono::Utc::now().naive_utc();
                let page = paging::page_before(before, count, now, |q| {
                    self.read(|c| c.call_overview(customer, q))
                })?;
                self.cache()
                    .calls
                    .insert(key, (Instant::now(), page.clone()));
                page
            }
        };
        Ok((page, None))
    }

    fn newest_calls_now(&self, customer: &str, count: u32) -> Result<CallPage, BackendError> {
        let generation = self.generation(customer);
        let now = chrono::Utc::now().naive_utc();
        let page = paging::page_before(None, count, now, |q| {
            self.read(|c| c.call_overview(customer, q))
        })?;
        self.keep(customer, generation, |cache| {
            cache.calls.insert(
                (customer.to_string(), None, count),
                (Instant::now(), page.clone()),
            );
        });
        Ok(page)
    }

    /// Every call of an account, oldest first, paged the one way
    /// ([`crate::api::paging::all_calls`]).
    pub fn all_calls(&self, customer: &str) -> Result<Vec<crate::api::CallRecord>, BackendError> {
        if let Some((at, calls)) = self.cache().all_calls.get(customer)
            && at.elapsed() < self.fresh
        {
            return Ok(calls.clone());
        }
        let calls = paging::all_calls(Some(chrono::NaiveDateTime::default()), |q| {
            self.read(|c| c.call_overview(customer, q))
        })?;
        self.cache()
            .all_calls
            .insert(customer.to_string(), (Instant::now(), calls.clone()));
        Ok(calls)
    }

    /// The ledger held for changes (its lock), waiting a few seconds for a reseller's command
    /// or another portal to finish.
    fn locked(&self, what: &str) -> Result<Ledger, BackendError> {
        let deadline = Instant::now() + self.lock_wait;
        loop {
            match Ledger::open_for_changes(&self.ledger, &format!("cardmint portal: {what}")) {
                Ok(l) => return Ok(l),
                Err(LedgerError::Locked(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e @ LedgerError::Locked(_)) => return Err(BackendError::Busy(e)),
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn run<'a>(&'a self, batch: &'a str) -> Run<'a> {
        Run {
            client: &self.client,
            ledger: &self.ledger,
            batch_id: Some(batch),
            options: &self.options,
            observer: &Silent,
            throttle: Some(&self.throttle),
        }
    }

    /// Adds or deletes a CLI number (E.164) on the card's account.
    pub fn change_number(&self, card: &Card, number: &str, add: bool) -> Result<(), BackendError> {
        self.change_card("numbers", card, |run, fresh, pending| {
            lifecycle::change_number(run, fresh, pending, number, add)
        })
    }

    /// Sets a new password under the intent protocol.
    pub fn set_password(&self, card: &Card, new: &Secret) -> Result<(), BackendError> {
        self.change_card("password", card, |run, fresh, pending| {
            lifecycle::reset_password(run, fresh, pending, new)
        })
    }

    /// One change of one card on the runner, holding the ledger's lock; how it ended is typed
    /// by what the ledger holds afterwards (an open change is being confirmed, whatever stopped
    /// the run) and by the report: never sent, refused, or being confirmed.
    fn change_card(
        &self,
        what: &str,
        card: &Card,
        f: impl FnOnce(
            &Run<'_>,
            Card,
            Vec<crate::ledger::Intent>,
        ) -> Result<Report, crate::runner::RunError>,
    ) -> Result<(), BackendError> {
        let ledger = self.locked(what)?;
        let fresh = ledger.card_by_id(card.id)?.unwrap_or_else(|| card.clone());
        // Whatever comes of it, the page reads the account afresh.
        self.forget(&fresh.customer);
        let pending = money::pending_of(&ledger, std::slice::from_ref(&fresh))?;
        let report = f(&self.run(&fresh.batch_id), fresh.clone(), pending)?;
        match money::stop_of(&ledger, &fresh, &report)? {
            None => Ok(()),
            Some(stop) => Err(BackendError::Stopped(stop)),
        }
    }

    /// Redeems the card whose code is `code` onto the account `onto`, or goes on with that
    /// redeem where it stopped: the money core's claim and steps, under the ledger's lock. A
    /// code that is no card of this platform is refused like any card that cannot move.
    pub fn redeem(
        &self,
        code: &str,
        onto: &super::session::SignedIn,
    ) -> Result<Redeemed, BackendError> {
        // The ledger is taken first: "busy" is then answered whether the code exists or not.
        let ledger = self.locked("redeem")?;
        let Some(card) = self.card(code)? else {
            return Err(BackendError::NotMovable(money::Refusal::NotSold {
                serial: String::new(),
                state: "unknown".into(),
            }));
        };
        let onto = account_in(&ledger, onto)?;
        // A new redeem only: one under way goes on as its claim says.
        if ledger.movement_of(card.id)?.is_none() {
            money::check_redeemable(&self.run(&card.batch_id), &card, &onto)?;
        }
        let claim = money::claim_redeem(&ledger, &card, &onto)?;
        self.forget(&onto.customer);
        self.forget(&card.customer);
        let (m, claimant) = match claim {
            Claim::New(m) => (m, true),
            Claim::Existing(m) => (m, false),
        };
        if m.is_done() && !claimant {
            return Ok(Redeemed::Already(m));
        }
        self.advance(&ledger, &card.batch_id, m.id)
            .map(Redeemed::Added)
    }

    /// Advances a movement as far as it goes now (the ledger held).
    fn advance(&self, ledger: &Ledger, batch: &str, id: i64) -> Result<Movement, BackendError> {
        let advanced = money::advance(&self.run(batch), ledger, id);
        // Both accounts changed (or may have): the pages read them afresh.
        if let Ok(Some(m)) = ledger.movement(id) {
            for card in [Some(m.source), m.target].into_iter().flatten() {
                if let Ok(Some(c)) = ledger.card_by_id(card) {
                    self.forget(&c.customer);
                }
            }
        }
        match advanced? {
            Advance::Done(m) => Ok(m),
            Advance::Stopped { why, .. } => Err(BackendError::Stopped(why)),
            Advance::NeedsTarget(m) | Advance::NeedsProvisioning { movement: m, .. } => {
                Err(BackendError::Stopped(money::Stop::Refused(
                    crate::runner::CardFailure::Conflict(format!(
                        "movement #{} is a replacement: `cardmint replace` finishes it",
                        m.id
                    )),
                )))
            }
        }
    }

    /// The cards redeemed onto an account, newest first: the movement, the card's serial,
    /// and whether the credit has arrived.
    pub fn purchases(&self, onto: &Card) -> Result<Vec<(Movement, String)>, BackendError> {
        let ledger = self.open()?;
        let mut out = Vec::new();
        for m in ledger.movements_onto(onto.id)? {
            if m.kind != MovementKind::Redeem {
                continue;
            }
            let serial = ledger
                .card_by_id(m.source)?
                .map(|c| c.serial)
                .unwrap_or_default();
            out.push((m, serial));
        }
        Ok(out)
    }

    /// Goes on with every redeem left unfinished (a failed step, a busy ledger, a stopped or
    /// killed portal): the number now done. Run at start and then now and again.
    pub fn finish_unfinished(&self) -> Result<usize, BackendError> {
        let unfinished = self.open()?.unfinished_movements()?;
        let mut n = 0;
        for m in unfinished.iter().filter(|m| m.kind == MovementKind::Redeem) {
            let ledger = self.locked("finishing a redeem")?;
            let batch = ledger
                .card_by_id(m.source)?
                .map(|c| c.batch_id)
                .unwrap_or_default();
            if self.advance(&ledger, &batch, m.id).is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }
}

impl Backend {
    /// Goes on with unfinished redeems every half settle delay (at least every 5 s), on a
    /// thread of its own, for as long as the process runs.
    pub fn keep_finishing(self: Arc<Self>) {
        let every = (self.options.settle_delay / 2).max(Duration::from_secs(5));
        let spawned = std::thread::Builder::new()
            .name("finish-redeems".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(every);
                    let unfinished = self
                        .open()
                        .and_then(|l| Ok(l.unfinished_movements()?))
                        .map(|m| m.iter().any(|m| m.kind == MovementKind::Redeem));
                    if matches!(unfinished, Ok(true)) {
                        let _ = self.finish_unfinished();
                    }
                }
            });
        drop(spawned);
    }
}

/// Shared between the request handlers.
pub type SharedBackend = Arc<Backend>;

/// The card a session is signed in to, in `ledger` ([`Backend::account`]).
fn account_in(ledger: &Ledger, user: &super::session::SignedIn) -> Result<Card, BackendError> {
    match ledger.card_by_id(user.card_id)? {
        Some(card) if card.customer == user.customer => Ok(card),
        _ => Err(BackendError::NoCard(user.card_id)),
    }
}

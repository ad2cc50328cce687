//! Batches: one issue run, its settings, its cards and where its outputs live.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use rusqlite::{OptionalExtension, Row, params};
use rust_decimal::Decimal;

use super::cards::{CardState, NewCard};
use super::stock::Expiry;
use super::store::{Ledger, LedgerError, is_unique_violation, now};
use crate::codes::{CodeSpec, serial};

/// Where a batch's accounts live: the embedded sandbox, or an endpoint with a reseller login.
/// Every command on the batch must talk to the same one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Platform {
    /// The sandbox embedded with `--sandbox` (its state beside the ledger).
    Sandbox,
    /// An API endpoint (the platform, or a sandbox run by hand) and the reseller login.
    Endpoint { url: String, reseller: String },
}

impl Platform {
    /// The real platform (or any endpoint that is not a local sandbox): an https endpoint.
    /// Plain http is accepted only to loopback hosts, which are sandboxes.
    pub fn is_real(&self) -> bool {
        matches!(self, Platform::Endpoint { url, .. } if url.starts_with("https://"))
    }

    /// The stored form: `sandbox`, or the URL (the reseller is its own column).
    fn columns(&self) -> (&str, Option<&str>) {
        match self {
            Platform::Sandbox => ("sandbox", None),
            Platform::Endpoint { url, reseller } => (url, Some(reseller)),
        }
    }

    fn from_columns(endpoint: Option<String>, reseller: Option<String>) -> Option<Platform> {
        match (endpoint?.as_str(), reseller) {
            ("sandbox", _) => Some(Platform::Sandbox),
            (url, reseller) => Some(Platform::Endpoint {
                url: url.to_string(),
                reseller: reseller.unwrap_or_default(),
            }),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Platform::Sandbox => f.write_str("the embedded sandbox (--sandbox)"),
            Platform::Endpoint { url, reseller } => write!(f, "{url} as reseller {reseller}"),
        }
    }
}

/// What a new batch is.
#[derive(Debug, Clone)]
pub struct NewBatch {
    /// Face value of cards that do not say otherwise.
    pub value: Decimal,
    pub currency: String,
    pub tariff: Option<i64>,
    /// Cards are created usable (no block step): imported customers.
    pub active: bool,
    pub code: CodeSpec,
    pub password_length: usize,
    /// The customer CSV it came from, if any.
    pub source: Option<String>,
    /// Output folder; `None` means `out/<batch id>` resolved by the caller.
    pub out_dir: Option<PathBuf>,
    /// Card design and sheet layout (names or paths); `None` for the defaults.
    pub template: Option<String>,
    pub sheet: Option<String>,
    /// Where its accounts are created.
    pub platform: Platform,
    /// How long its cards stay valid.
    pub expiry: Option<Expiry>,
    /// The language its cards print in (a tag: `ar`, `es`); `None`: the design's own texts.
    pub lang: Option<String>,
    /// The values its cards print with (the config's `[values]` and `--set`).
    pub values: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Batch {
    pub id: String,
    pub created_at: String,
    pub value: Decimal,
    pub currency: String,
    pub tariff: Option<i64>,
    pub active: bool,
    pub code: CodeSpec,
    pub password_length: usize,
    pub source: Option<String>,
    pub out_dir: PathBuf,
    pub template: Option<String>,
    pub sheet: Option<String>,
    /// `None` for batches recorded before cardmint remembered it.
    pub platform: Option<Platform>,
    /// How long its cards stay valid (`None`: no rule).
    pub expiry: Option<Expiry>,
    /// The language its cards print in (`None`: the design's own texts).
    pub lang: Option<String>,
    /// A random token drawn when it was recorded (`None` for batches recorded before): its
    /// folder's marker names it.
    pub token: Option<String>,
    /// The values its cards printed with; `None` for batches recorded before they were kept
    /// (printed with the config's values of the day).
    pub values: Option<BTreeMap<String, String>>,
}

impl Batch {
    /// The day the batch was issued, on this machine's calendar (as `--date` is given).
    pub fn issued_on(&self) -> chrono::NaiveDate {
        chrono::DateTime::parse_from_rfc3339(&self.created_at)
            .map(|t| t.with_timezone(&chrono::Local).date_naive())
            .unwrap_or(chrono::NaiveDate::MIN)
    }

    /// The days its stock can have moved on: from its issue to today.
    pub fn days(&self) -> crate::lifecycle::Days<'_> {
        crate::lifecycle::Days {
            batch: &self.id,
            issued: self.issued_on(),
            today: crate::clock::today(),
        }
    }
}

/// How many cards of a batch are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    pub pending: usize,
    pub ready: usize,
    pub active: usize,
    pub blocked: usize,
    pub failed: usize,
}

impl BatchCounts {
    pub fn total(&self) -> usize {
        self.pending + self.ready + self.active + self.blocked + self.failed
    }

    fn add(&mut self, state: CardState, n: usize) {
        match state {
            CardState::Pending => self.pending += n,
            CardState::Ready => self.ready += n,
            CardState::Active => self.active += n,
            CardState::Blocked => self.blocked += n,
            CardState::Failed => self.failed += n,
        }
    }
}

/// A batch's token: 128 random bits from the OS, in hex.
fn batch_token() -> Result<String, LedgerError> {
    use crate::codes::{Draw, OsRandom};
    let mut draw = Draw::new(OsRandom);
    let mut token = String::new();
    for _ in 0..2 {
        let n = draw
            .u64()
            .map_err(|e| LedgerError::Corrupt(format!("the random source: {}", e.0)))?;
        token.push_str(&format!("{n:016x}"));
    }
    Ok(token)
}

const BATCH_COLUMNS: &str = "id, created_at, value, currency, tariff, active, code_length, \
    code_prefix, password_length, source, out_dir, template, sheet, endpoint, reseller, expiry, \
    lang, token, printed_values";

fn batch_from_row(row: &Row<'_>) -> rusqlite::Result<Batch> {
    let bad = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    let value: String = row.get(2)?;
    let length: i64 = row.get(6)?;
    let prefix: String = row.get(7)?;
    let out_dir: String = row.get(10)?;
    Ok(Batch {
        id: row.get(0)?,
        created_at: row.get(1)?,
        value: Decimal::from_str(&value).map_err(|e| bad(2, e.to_string()))?,
        currency: row.get(3)?,
        tariff: row.get(4)?,
        active: row.get(5)?,
        code: CodeSpec::new(length as usize, &prefix).map_err(|e| bad(6, e.to_string()))?,
        password_length: row.get::<_, i64>(8)? as usize,
        source: row.get(9)?,
        out_dir: PathBuf::from(out_dir),
        template: row.get(11)?,
        sheet: row.get(12)?,
        platform: Platform::from_columns(row.get(13)?, row.get(14)?),
        expiry: row
            .get::<_, Option<String>>(15)?
            .map(|e| Expiry::from_str(&e).map_err(|e| bad(15, e)))
            .transpose()?,
        lang: row.get(16)?,
        token: row.get(17)?,
        values: row
            .get::<_, Option<String>>(18)?
            .map(|v| serde_json::from_str(&v).map_err(|e| bad(18, e.to_string())))
            .transpose()?,
    })
}

/// The highest batch number a ledger has given out: its batches' (`B0003` is 3; a restored
/// ledger may lack some below it) or what a ledger it replaced had given (`meta`).
pub(super) const BATCHES_GIVEN: &str = "SELECT max(coalesce(max(CAST(substr(id, 2) AS INTEGER)), \
    0), coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'batches_given'), 0)) \
    FROM batches";

/// The highest card sequence number a ledger has given out, likewise.
pub(super) const SERIALS_GIVEN: &str = "SELECT max(coalesce(max(seq), 0), coalesce((SELECT \
    CAST(value AS INTEGER) FROM meta WHERE key = 'serials_given'), 0)) FROM cards";

impl Ledger {
    /// The id the next batch will get (`B0001`, `B0002`, ...).
    pub fn next_batch_id(&self) -> Result<String, LedgerError> {
        let n: i64 = self.conn.query_row(BATCHES_GIVEN, [], |r| r.get(0))?;
        Ok(format!("B{:04}", n + 1))
    }

    /// The sequence number the next card will get.
    pub fn next_seq(&self) -> Result<u64, LedgerError> {
        let n: i64 = self.conn.query_row(SERIALS_GIVEN, [], |r| r.get(0))?;
        Ok(n as u64 + 1)
    }

    /// Records a batch and all its cards in one transaction, before any request is sent.
    /// `out_dir` maps the new batch id to its output folder.
    pub fn create_batch(
        &mut self,
        new: &NewBatch,
        cards: &[NewCard],
        out_dir: impl FnOnce(&str) -> PathBuf,
    ) -> Result<Batch, LedgerError> {
        let id = self.next_batch_id()?;
        let first_seq = self.next_seq()?;
        let out_dir = new.out_dir.clone().unwrap_or_else(|| out_dir(&id));
        self.write(|w| insert_batch(w, &id, first_seq, new, cards, &out_dir))?;
        self.batch(&id)?
            .ok_or_else(|| LedgerError::Corrupt(format!("batch {id} vanished after insert")))
    }

    /// Records the card issued to replace `old` as a batch of its own and makes it the target
    /// of the replacement's movement, in one transaction (before anything is sent for it). The
    /// new card takes over the old one's stock facts: its sale (so the same expiry) or its
    /// consignment.
    pub fn create_replacement(
        &self,
        new: &NewBatch,
        card: &NewCard,
        old: &super::Card,
        movement: &super::Movement,
        out_dir: impl FnOnce(&str) -> PathBuf,
    ) -> Result<Batch, LedgerError> {
        let id = self.next_batch_id()?;
        let first_seq = self.next_seq()?;
        let out_dir = new.out_dir.clone().unwrap_or_else(|| out_dir(&id));
        self.write(|w| {
            insert_batch(w, &id, first_seq, new, std::slice::from_ref(card), &out_dir)?;
            let new_card: i64 = w.tx.query_row(
                "SELECT id FROM cards WHERE seq = ?1",
                [first_seq as i64],
                |r| r.get(0),
            )?;
            w.set_movement_target(movement.id, new_card)?;
            w.movement_events(
                movement.kind,
                (old.id, &old.serial),
                (new_card, &serial(first_seq)),
                movement.amount(),
            )?;
            match (&old.stock.sold_on, &old.stock.shop) {
                (Some(on), _) => w.record_sale(new_card, old.stock.sold_shop.as_deref(), *on)?,
                (None, Some(shop)) => w.consign(
                    new_card,
                    shop,
                    old.stock
                        .consigned_on
                        .unwrap_or_else(|| chrono::Utc::now().date_naive()),
                )?,
                (None, None) => {}
            }
            Ok(())
        })?;
        self.batch(&id)?
            .ok_or_else(|| LedgerError::Corrupt(format!("batch {id} vanished after insert")))
    }

    pub fn batch(&self, id: &str) -> Result<Option<Batch>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {BATCH_COLUMNS} FROM batches WHERE id = ?1"),
                [id],
                batch_from_row,
            )
            .optional()?)
    }

    /// Every batch, oldest first.
    pub fn batches(&self) -> Result<Vec<Batch>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {BATCH_COLUMNS} FROM batches ORDER BY id"))?;
        let rows = stmt
            .query_map([], batch_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn counts(&self, batch_id: &str) -> Result<BatchCounts, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT state, count(*) FROM cards WHERE batch_id = ?1 GROUP BY state")?;
        let mut counts = BatchCounts::default();
        let rows = stmt.query_map([batch_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (state, n) = row?;
            let state = CardState::from_str(&state).map_err(LedgerError::Corrupt)?;
            counts.add(state, n as usize);
        }
        Ok(counts)
    }

    /// The lowest and highest face value of a batch's cards (they differ in a batch made
    /// from a customer file with a `value` column); `None` for a batch without cards.
    pub fn value_range(&self, batch_id: &str) -> Result<Option<(Decimal, Decimal)>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT value FROM cards WHERE batch_id = ?1")?;
        let mut range: Option<(Decimal, Decimal)> = None;
        for value in stmt.query_map([batch_id], |r| r.get::<_, String>(0))? {
            let value = value?;
            let v = Decimal::from_str(&value)
                .map_err(|e| LedgerError::Corrupt(format!("card value {value:?}: {e}")))?;
            range = Some(range.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
        }
        Ok(range)
    }
}

/// A batch's face value as said: `5.00 EUR`, or `5.00-7.00 EUR` when its cards differ.
pub fn value_text(range: Option<(Decimal, Decimal)>, fallback: Decimal, currency: &str) -> String {
    match range {
        Some((lo, hi)) if lo != hi => format!("{lo:.2}-{hi:.2} {currency}"),
        Some((v, _)) => format!("{v:.2} {currency}"),
        None => format!("{fallback:.2} {currency}"),
    }
}

/// Inserts a batch `id` and its cards (serials from `first_seq`).
fn insert_batch(
    w: &super::LedgerTx<'_>,
    id: &str,
    first_seq: u64,
    new: &NewBatch,
    cards: &[NewCard],
    out_dir: &std::path::Path,
) -> Result<(), LedgerError> {
    let created_at = now();
    w.tx.execute(
        &format!(
            "INSERT INTO batches ({BATCH_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
             ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
        ),
        params![
            id,
            created_at,
            new.value.to_string(),
            new.currency,
            new.tariff,
            new.active,
            new.code.length() as i64,
            new.code.prefix(),
            new.password_length as i64,
            new.source,
            out_dir.to_string_lossy(),
            new.template,
            new.sheet,
            new.platform.columns().0,
            new.platform.columns().1,
            new.expiry.map(|e| e.to_string()),
            new.lang,
            batch_token()?,
            serde_json::to_string(&new.values).expect("a map of strings"),
        ],
    )?;
    let mut stmt = w.tx.prepare(
        "INSERT INTO cards (batch_id, seq, serial, customer, password, value, tariff, \
         numbers, label, generated, updated_at, credit) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for (i, c) in cards.iter().enumerate() {
        let seq = first_seq + i as u64;
        stmt.execute(params![
            id,
            seq as i64,
            serial(seq),
            c.customer,
            c.password.expose(),
            c.value.to_string(),
            c.tariff,
            c.numbers.join(" "),
            c.label,
            c.generated,
            created_at,
            c.credit.map(|v| v.to_string()),
        ])
        .map_err(|e| {
            if is_unique_violation(&e) {
                LedgerError::DuplicateCustomer(c.customer.clone())
            } else {
                e.into()
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn new_batch() -> NewBatch {
        NewBatch {
            value: Decimal::from(5),
            currency: "EUR".into(),
            tariff: None,
            active: false,
            code: CodeSpec::new(12, "").unwrap(),
            password_length: 10,
            source: None,
            out_dir: None,
            template: None,
            sheet: None,
            platform: Platform::Sandbox,
            expiry: None,
            lang: None,
            values: BTreeMap::new(),
        }
    }

    fn card(customer: &str) -> NewCard {
        NewCard {
            customer: customer.into(),
            password: Secret::new("Xk7-mQ2p"),
            value: Decimal::from(5),
            tariff: None,
            numbers: vec!["+442071234567".into()],
            label: String::new(),
            generated: true,
            credit: None,
        }
    }

    #[test]
    fn batches_get_sequential_ids_and_serials() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(&dir.path().join("l.db")).unwrap();
        let b1 = l
            .create_batch(
                &new_batch(),
                &[card("111111111111"), card("222222222222")],
                |id| PathBuf::from(format!("out/{id}")),
            )
            .unwrap();
        let b2 = l
            .create_batch(&new_batch(), &[card("333333333333")], |id| {
                PathBuf::from(id)
            })
            .unwrap();
        assert_eq!((b1.id.as_str(), b2.id.as_str()), ("B0001", "B0002"));
        assert_eq!(b1.out_dir, PathBuf::from("out/B0001"));
        assert_eq!(b1.platform, Some(Platform::Sandbox));
        let cards = l.cards("B0001").unwrap();
        assert_eq!(cards[0].serial, serial(1));
        assert_eq!(cards[1].serial, serial(2));
        assert_eq!(cards[0].numbers, vec!["+442071234567"]);
        assert_eq!(cards[0].password.expose(), "Xk7-mQ2p");
        assert_eq!(l.cards("B0002").unwrap()[0].seq, 3);
        assert_eq!(l.counts("B0001").unwrap().pending, 2);
        assert_eq!(l.live_codes(&CodeSpec::new(12, "").unwrap()).unwrap(), 3);
        assert_eq!(l.live_codes(&CodeSpec::new(12, "2").unwrap()).unwrap(), 1);
        assert_eq!(
            l.find_card(&serial(3)).unwrap().unwrap().customer,
            "333333333333"
        );
    }

    #[test]
    fn a_customer_is_unique_across_the_ledger_and_a_failed_batch_records_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(&dir.path().join("l.db")).unwrap();
        l.create_batch(&new_batch(), &[card("111111111111")], |id: &str| {
            PathBuf::from(id)
        })
        .unwrap();
        let err = l
            .create_batch(
                &new_batch(),
                &[card("999999999999"), card("111111111111")],
                |id: &str| PathBuf::from(id),
            )
            .unwrap_err();
        assert!(matches!(err, LedgerError::DuplicateCustomer(ref c) if c == "111111111111"));
        assert_eq!(l.batches().unwrap().len(), 1);
        assert!(!l.known_customers().unwrap().contains("999999999999"));
    }

    #[test]
    fn a_retired_code_is_never_drawn_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(&dir.path().join("l.db")).unwrap();
        let spec = CodeSpec::new(12, "").unwrap();
        l.create_batch(&new_batch(), &[card("111111111111")], |id: &str| {
            PathBuf::from(id)
        })
        .unwrap();
        let id = l.cards("B0001").unwrap()[0].id;
        let new = l
            .write(|w| w.replace_code(id, &spec, "belongs to another account"))
            .unwrap();
        assert!(spec.matches(&new));
        let known = l.known_customers().unwrap();
        assert!(known.contains("111111111111") && known.contains(&new));
        assert_eq!(l.cards("B0001").unwrap()[0].customer, new);
    }
}

//! Reports across every batch, from the ledger alone: the stock by state, face value, credit
//! loaded, credit outstanding on sold cards (the reseller's liability, from the balances last
//! read), sales per shop and period, what expires soon; grouped by shop, batch or month of
//! sale, with totals per currency. Written as a table, CSV, XLSX or one self-contained HTML
//! page with SVG charts ([`html`]).
//!
//! Knows nothing of HTTP: a live report reads the balances through the engine first, and they
//! land in the ledger like every read.

pub mod html;

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::Decimal;

use crate::table::{Cell, Table};

use crate::ledger::{Batch, Card, CardState};

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// The shop that sold the card, else the shop holding it.
    Shop,
    Batch,
    /// The month of the sale (`no sale date` for the rest).
    Month,
}

impl GroupBy {
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Shop => "shop",
            GroupBy::Batch => "batch",
            GroupBy::Month => "month",
        }
    }
}

/// What a report covers.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    /// Sales counted from this day (inclusive).
    pub since: Option<NaiveDate>,
    /// Sales counted through this day (inclusive).
    pub until: Option<NaiveDate>,
    /// The day the report is made ("expires in the next 30 days" counts from it).
    pub today: NaiveDate,
}

impl Period {
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.since.is_none_or(|s| d >= s) && self.until.is_none_or(|u| d <= u)
    }
}

/// One card as the report sees it.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub batch: &'a Batch,
    pub card: &'a Card,
    pub expires_on: Option<NaiveDate>,
    /// Issued to replace a lost card: it takes over that card's sale, and is no sale itself.
    pub replacement: bool,
}

/// Where a card stands in the stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    /// Provisioned, unsold, with the reseller.
    InStock,
    /// Provisioned, unsold, at a shop.
    Consigned,
    /// Sold and usable.
    Active,
    /// Blocked after issue (lost, stolen, replaced).
    Blocked,
    /// Blocked because its date passed.
    Expired,
    /// Provisioning not finished (pending or failed).
    Unfinished,
}

impl Standing {
    pub const ALL: [Standing; 6] = [
        Standing::InStock,
        Standing::Consigned,
        Standing::Active,
        Standing::Blocked,
        Standing::Expired,
        Standing::Unfinished,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Standing::InStock => "in stock",
            Standing::Consigned => "consigned",
            Standing::Active => "active",
            Standing::Blocked => "blocked",
            Standing::Expired => "expired",
            Standing::Unfinished => "unfinished",
        }
    }

    pub fn of(card: &Card) -> Standing {
        match card.state {
            CardState::Pending | CardState::Failed => Standing::Unfinished,
            CardState::Blocked if card.block_reason.as_deref() == Some("expired") => {
                Standing::Expired
            }
            CardState::Blocked => Standing::Blocked,
            CardState::Active => Standing::Active,
            CardState::Ready if card.stock.shop.is_some() => Standing::Consigned,
            CardState::Ready => Standing::InStock,
        }
    }
}

/// One row of a report: one group in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub group: String,
    pub currency: String,
    pub cards: usize,
    pub in_stock: usize,
    pub consigned: usize,
    /// Sold cards (recorded sale, or activated), whatever their state now; a replacement is
    /// not a sale.
    pub sold: usize,
    pub active: usize,
    pub blocked: usize,
    pub expired: usize,
    pub unfinished: usize,
    /// Face value of every card.
    pub face_value: Decimal,
    /// Credit loaded on provisioned cards (their credit and top-ups).
    pub loaded: Decimal,
    /// Credit left on active cards: the balance last read, else what was loaded.
    pub outstanding: Decimal,
    /// Active cards whose balance was never read (counted at what was loaded).
    pub unread: usize,
    /// Sales in the period, and their face value.
    pub sales: usize,
    pub sales_value: Decimal,
    /// Active cards that expire in the next 30 days.
    pub expiring: usize,
}

impl Row {
    fn add(&mut self, item: &Item<'_>, period: &Period) {
        let c = item.card;
        self.cards += 1;
        self.face_value += c.value;
        let standing = Standing::of(c);
        match standing {
            Standing::InStock => self.in_stock += 1,
            Standing::Consigned => self.consigned += 1,
            Standing::Active => self.active += 1,
            Standing::Blocked => self.blocked += 1,
            Standing::Expired => self.expired += 1,
            Standing::Unfinished => self.unfinished += 1,
        }
        if standing != Standing::Unfinished {
            self.loaded += c.loaded();
        }
        if sold(c) && !item.replacement {
            self.sold += 1;
        }
        if standing == Standing::Active {
            match c.stock.last_balance {
                Some(b) => self.outstanding += b.max(Decimal::ZERO),
                None => {
                    self.outstanding += c.loaded();
                    self.unread += 1;
                }
            }
            if let Some(d) = item.expires_on
                && d >= period.today
                && d <= period.today + Duration::days(30)
            {
                self.expiring += 1;
            }
        }
        if let Some(on) = c.stock.sold_on
            && period.contains(on)
            && !item.replacement
        {
            self.sales += 1;
            self.sales_value += c.value;
        }
    }

    fn absorb(&mut self, other: &Row) {
        self.cards += other.cards;
        self.in_stock += other.in_stock;
        self.consigned += other.consigned;
        self.sold += other.sold;
        self.active += other.active;
        self.blocked += other.blocked;
        self.expired += other.expired;
        self.unfinished += other.unfinished;
        self.face_value += other.face_value;
        self.loaded += other.loaded;
        self.outstanding += other.outstanding;
        self.unread += other.unread;
        self.sales += other.sales;
        self.sales_value += other.sales_value;
        self.expiring += other.expiring;
    }
}

fn sold(c: &Card) -> bool {
    c.stock.sold() || c.state == CardState::Active
}

/// The column names of a row, in order (CSV, XLSX, JSON keys).
pub const COLUMNS: [&str; 17] = [
    "group",
    "currency",
    "cards",
    "in_stock",
    "consigned",
    "sold",
    "active",
    "blocked",
    "expired",
    "unfinished",
    "face_value",
    "loaded",
    "outstanding",
    "outstanding_unread",
    "sales",
    "sales_value",
    "expiring_30_days",
];

impl Row {
    /// The cells, in [`COLUMNS`] order.
    pub fn cells(&self) -> Vec<Cell> {
        use Cell::{Amount, Text};
        let count = |n: usize| Cell::Count(n as u64);
        vec![
            Text(self.group.clone()),
            Text(self.currency.clone()),
            count(self.cards),
            count(self.in_stock),
            count(self.consigned),
            count(self.sold),
            count(self.active),
            count(self.blocked),
            count(self.expired),
            count(self.unfinished),
            Amount(self.face_value),
            Amount(self.loaded),
            Amount(self.outstanding),
            count(self.unread),
            count(self.sales),
            Amount(self.sales_value),
            count(self.expiring),
        ]
    }
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    pub by: GroupBy,
    pub period: Period,
    /// The groups, sorted by name within each currency.
    pub rows: Vec<Row>,
    /// One per currency (`group` = "total").
    pub totals: Vec<Row>,
    /// Active cards that expire in the next 30 days: (serial, batch, date), soonest first.
    pub expiring: Vec<(String, String, NaiveDate)>,
    /// Sales per ISO week (its Monday) and shop: the chart of sales per week by shop.
    pub weekly_sales: BTreeMap<NaiveDate, BTreeMap<String, usize>>,
    /// Credit outstanding at the end of each week, per currency.
    pub outstanding_by_week: BTreeMap<String, Vec<(NaiveDate, Decimal)>>,
}

impl Report {
    /// The rows, then the totals, under [`COLUMNS`] (the first named after the grouping):
    /// what the CSV, the XLSX, the terminal and the HTML page show.
    pub fn table(&self) -> Table {
        let mut header = COLUMNS.to_vec();
        header[0] = self.by.name();
        let mut table = Table::new(header);
        for row in self.rows.iter().chain(&self.totals) {
            table.push(row.cells());
        }
        table.totals = self.totals.len();
        table
    }
}

const NO_SHOP: &str = "(no shop)";
/// The month of cards whose sale has no date (unsold, or issued active: sold, but not
/// through a shop).
const NO_SALE: &str = "no sale date";

fn group_of(by: GroupBy, item: &Item<'_>) -> String {
    let c = item.card;
    match by {
        GroupBy::Shop => c
            .stock
            .sold_shop
            .clone()
            .or_else(|| c.stock.shop.clone())
            .unwrap_or_else(|| NO_SHOP.into()),
        GroupBy::Batch => item.batch.id.clone(),
        GroupBy::Month => c
            .stock
            .sold_on
            .map_or_else(|| NO_SALE.into(), |d| d.format("%Y-%m").to_string()),
    }
}

fn monday(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// Builds the report of `items`; `reads` are every balance read, `(card id, when (RFC 3339,
/// UTC), balance)`, for the outstanding credit over time.
pub fn build(
    items: &[Item<'_>],
    reads: &[(i64, String, Decimal)],
    by: GroupBy,
    period: Period,
) -> Report {
    let mut groups: BTreeMap<(String, String), Row> = BTreeMap::new();
    for item in items {
        // The period bounds the sales counted, never the stock: a card sold outside it still
        // counts in its month's row and in every total (leaving it out made the outstanding
        // credit of a report by month smaller than the same ledger's by shop).
        let group = group_of(by, item);
        let currency = item.batch.currency.clone();
        groups
            .entry((currency.clone(), group.clone()))
            .or_insert_with(|| Row {
                group,
                currency,
                ..Row::default()
            })
            .add(item, &period);
    }
    let rows: Vec<Row> = groups.into_values().collect();
    let mut totals: BTreeMap<String, Row> = BTreeMap::new();
    for r in &rows {
        totals
            .entry(r.currency.clone())
            .or_insert_with(|| Row {
                group: "total".into(),
                currency: r.currency.clone(),
                ..Row::default()
            })
            .absorb(r);
    }
    let mut expiring: Vec<(String, String, NaiveDate)> = items
        .iter()
        .filter(|i| Standing::of(i.card) == Standing::Active)
        .filter_map(|i| {
            i.expires_on
                .filter(|d| *d >= period.today && *d <= period.today + Duration::days(30))
                .map(|d| (i.card.serial.clone(), i.batch.id.clone(), d))
        })
        .collect();
    expiring.sort_by(|a, b| a.2.cmp(&b.2).then(a.0.cmp(&b.0)));
    let mut weekly_sales: BTreeMap<NaiveDate, BTreeMap<String, usize>> = BTreeMap::new();
    for item in items.iter().filter(|i| !i.replacement) {
        if let Some(on) = item.card.stock.sold_on
            && period.contains(on)
        {
            let shop = item
                .card
                .stock
                .sold_shop
                .clone()
                .unwrap_or_else(|| NO_SHOP.into());
            *weekly_sales
                .entry(monday(on))
                .or_default()
                .entry(shop)
                .or_default() += 1;
        }
    }
    Report {
        by,
        period,
        rows,
        totals: totals.into_values().collect(),
        expiring,
        outstanding_by_week: outstanding_by_week(items, reads, &period),
        weekly_sales,
    }
}

/// The credit outstanding at the end of each week from the first sale to today: for every
/// card active today and sold by then (a card issued active: from its batch's day), the last
/// balance read by then, else what it was loaded with; so the last point is the table's
/// outstanding. (Cards blocked since are left out of every week: the ledger does not keep a
/// balance for the day they were blocked.)
fn outstanding_by_week(
    items: &[Item<'_>],
    reads: &[(i64, String, Decimal)],
    period: &Period,
) -> BTreeMap<String, Vec<(NaiveDate, Decimal)>> {
    let mut by_card: BTreeMap<i64, Vec<(NaiveDate, Decimal)>> = BTreeMap::new();
    for (card, at, balance) in reads {
        if let Some(d) = at.get(..10).and_then(|d| d.parse::<NaiveDate>().ok()) {
            by_card.entry(*card).or_default().push((d, *balance));
        }
    }
    // Since when a card carries credit for a holder: its sale, else (issued active, no sale
    // recorded) the day its batch was made.
    let since = |i: &Item<'_>| {
        i.card.stock.sold_on.or_else(|| {
            (Standing::of(i.card) == Standing::Active)
                .then(|| i.batch.created_at.get(..10)?.parse::<NaiveDate>().ok())
                .flatten()
        })
    };
    let Some(first) = items.iter().filter_map(since).min() else {
        return BTreeMap::new();
    };
    let start = period.since.map_or(first, |s| s.max(first));
    let end = period.until.map_or(period.today, |u| u.min(period.today));
    let mut out: BTreeMap<String, Vec<(NaiveDate, Decimal)>> = BTreeMap::new();
    // Week ends (Sundays), the last one cut to the report's end; at most five years of them.
    let mut week_end = monday(start) + Duration::days(6);
    let mut points = Vec::new();
    while points.len() < 260 {
        let at = week_end.min(end);
        points.push(at);
        if at >= end {
            break;
        }
        week_end += Duration::days(7);
    }
    for at in points {
        let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
        for item in items {
            let c = item.card;
            let Some(sold_on) = since(item) else {
                continue;
            };
            if sold_on > at || Standing::of(c) != Standing::Active {
                continue;
            }
            let last = by_card
                .get(&c.id)
                .and_then(|r| r.iter().rev().find(|(d, _)| *d <= at))
                .map_or(c.loaded(), |(_, b)| *b);
            *sums.entry(item.batch.currency.clone()).or_default() += last.max(Decimal::ZERO);
        }
        for (currency, sum) in sums {
            out.entry(currency).or_default().push((at, sum));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(monday(d("2026-12-01")), d("2026-11-30"));
        assert_eq!(monday(d("2026-11-30")), d("2026-11-30"));
        assert_eq!(monday(d("2026-12-06")), d("2026-11-30"));
    }

    #[test]
    fn the_period_is_inclusive() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let p = Period {
            since: Some(d("2026-11-01")),
            until: Some(d("2026-11-30")),
            today: d("2026-12-01"),
        };
        assert!(p.contains(d("2026-11-01")) && p.contains(d("2026-11-30")));
        assert!(!p.contains(d("2026-10-31")) && !p.contains(d("2026-12-01")));
    }
}

//! One card's story from the ledger: issued, the changes sent to the platform (its intents,
//! with how each was settled), and the stock facts (consigned, returned, sold, replaced).

use chrono::NaiveDate;

use crate::ledger::{Batch, Card, IntentKind, IntentStatus, Ledger, LedgerError};

/// When a card stops being valid: its batch's rule, counted from its sale (`None`: no rule,
/// or unsold under a rule counted from the sale).
pub fn expires_on(batch: &Batch, card: &Card) -> Option<NaiveDate> {
    batch
        .expiry
        .and_then(|rule| rule.date_for(card.stock.sold_on))
}

/// One line of a card's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When the ledger recorded it (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub at: String,
    /// `issued`, an intent's kind (`block`, `topup`, ...), or a stock event (`consigned`,
    /// `returned`, `sold`, `replaced-by`, `replaces`).
    pub event: String,
    pub detail: String,
    /// For a change sent to the platform: `applied`, `not-applied`, `open`, `unsettled`.
    pub status: Option<String>,
}

/// The whole history of `card`, oldest first.
pub fn history(ledger: &Ledger, batch: &Batch, card: &Card) -> Result<Vec<Entry>, LedgerError> {
    let mut entries = vec![Entry {
        at: batch.created_at.clone(),
        event: "issued".into(),
        detail: format!(
            "batch {}, face value {:.2} {}{}",
            batch.id,
            card.value,
            batch.currency,
            match card.credit {
                Some(c) => format!(", credit {c:.2}"),
                None => String::new(),
            }
        ),
        status: None,
    }];
    for i in ledger.card_intents(card.id)? {
        let mut detail = i.kind.to_string();
        if let IntentKind::Block(Some(reason)) = &i.kind {
            detail.push_str(&format!(": {reason}"));
        }
        if let Some(e) = &i.evidence
            && i.status != IntentStatus::Applied
        {
            detail.push_str(&format!(" ({e})"));
        }
        entries.push(Entry {
            at: i.created_at.clone(),
            event: i.kind.name().into(),
            detail,
            status: Some(i.status.as_str().into()),
        });
    }
    for e in ledger.events(card.id)? {
        let on = e.on_date.map(|d| format!(" on {d}")).unwrap_or_default();
        let shop = e.shop.clone().unwrap_or_default();
        let detail = match e.kind.as_str() {
            "consigned" => format!("to {shop}{on}"),
            "returned" => format!("from {shop}{on}"),
            "sold" if shop.is_empty() => format!("not through a shop{on}"),
            "sold" => format!("by {shop}{on}"),
            "replaced-by" => format!("replaced by card {}", e.detail),
            "replaces" => format!("replaces card {}", e.detail),
            "redeemed-onto" => format!("redeemed onto card {}", e.detail),
            "redeemed" => format!("card {} redeemed onto it", e.detail),
            _ => e.detail.clone(),
        };
        entries.push(Entry {
            at: e.at,
            event: e.kind,
            detail,
            status: None,
        });
    }
    // The ledger's clock counts seconds. Within one second a stock fact comes before the
    // changes sent for it (a sale is recorded before the unblock leaves); otherwise the order
    // above is kept.
    let rank = |e: &Entry| match (e.event.as_str(), &e.status) {
        ("issued", _) => 0,
        (_, None) => 1,
        (_, Some(_)) => 2,
    };
    entries.sort_by(|a, b| a.at.cmp(&b.at).then(rank(a).cmp(&rank(b))));
    Ok(entries)
}

//! `cardmint consign`, `cardmint return` and `cardmint shops`: which shop holds which cards.
//! Ledger only: consigned cards stay blocked on the platform until they are sold.

use chrono::NaiveDate;

use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::{Card, parse_date, shop_name};
use crate::lifecycle::{self, Selection};
use crate::table::{Cell, Table};

/// Hand cards to a shop: the ledger records which shop holds them from which day. They stay
/// blocked on the platform until `cardmint activate` records their sale. Nothing is sent.
///
/// A shop is recorded the first time cards are consigned to it; names are compared without
/// case. A card held by another shop is refused: take it back with `cardmint return` first.
///
/// Example:
///   cardmint consign B0001 --serials 0000000013-0000000101 --shop "Kiosk 12"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ConsignArgs {
    /// The batch id
    batch: String,
    /// Serials as printed: single or FIRST-LAST, comma-separated
    #[arg(long, value_name = "RANGES")]
    serials: String,
    /// The shop (letters, digits, spaces and - _ . & ' / # ( ), at most 40)
    #[arg(long, value_name = "NAME", value_parser = shop_name)]
    shop: String,
    /// The day the shop received them (YYYY-MM-DD; default today)
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    date: Option<NaiveDate>,
}

/// Take unsold cards back from the shop holding them (ledger only; they stay blocked).
///
/// Example:
///   cardmint return B0001 --serials 0000000084-0000000101
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ReturnArgs {
    /// The batch id
    batch: String,
    /// Serials as printed: single or FIRST-LAST, comma-separated
    #[arg(long, value_name = "RANGES")]
    serials: String,
    /// The day they came back (YYYY-MM-DD; default today)
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    date: Option<NaiveDate>,
}

/// The shops the ledger knows, with the cards each holds now and the cards each sold.
///
/// Example:
///   cardmint shops --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ShopsArgs {}

fn serials(cards: &[Card]) -> Vec<&str> {
    cards.iter().map(|c| c.serial.as_str()).collect()
}

pub fn consign(global: &Global, args: ConsignArgs) -> Result<Exit, Error> {
    let ledger = global.open_ledger_for_changes()?;
    let batch = global.batch(&ledger, &args.batch)?;
    let cards = lifecycle::select(
        ledger.cards(&batch.id)?,
        &batch.id,
        Selection::Ranges(&args.serials),
    )?;
    let on = args.date.unwrap_or_else(crate::clock::today);
    let shop = ledger.shop(&args.shop)?.unwrap_or(args.shop);
    let last_moved = cards
        .iter()
        .filter_map(|c| match ledger.last_stock_move(c.id) {
            Ok(Some(day)) => Some(Ok((c.id, day))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    let (cards, already) = lifecycle::consignable(cards, &shop, on, batch.days(), &last_moved)?;
    let shop = ledger.write(|w| {
        let shop = w.add_shop(&shop)?;
        for c in &cards {
            w.consign(c.id, &shop, on)?;
        }
        Ok(shop)
    })?;
    crate::batch::refresh_outputs(&ledger, &batch.id)?;
    say!(
        global,
        "{} consigned to {shop} on {on}",
        crate::text::count(cards.len(), "card", "cards")
    );
    if !already.is_empty() {
        say!(global, "{} already held by {shop}", already.len());
    }
    global.emit(serde_json::json!({
        "action": "consigned",
        "batch": batch.id,
        "shop": shop,
        "date": on.to_string(),
        "consigned": serials(&cards),
        "already": serials(&already),
    }));
    Ok(Exit::Success)
}

pub fn take_back(global: &Global, args: ReturnArgs) -> Result<Exit, Error> {
    let ledger = global.open_ledger_for_changes()?;
    let batch = global.batch(&ledger, &args.batch)?;
    let cards = lifecycle::select(
        ledger.cards(&batch.id)?,
        &batch.id,
        Selection::Ranges(&args.serials),
    )?;
    let on = args.date.unwrap_or_else(crate::clock::today);
    let cards = lifecycle::returnable(cards, on, batch.days())?;
    ledger.write(|w| {
        for c in &cards {
            w.take_back(c.id, c.stock.shop.as_deref().unwrap_or(""), on)?;
        }
        Ok(())
    })?;
    crate::batch::refresh_outputs(&ledger, &batch.id)?;
    let mut by_shop: std::collections::BTreeMap<&str, usize> = Default::default();
    for c in &cards {
        *by_shop
            .entry(c.stock.shop.as_deref().unwrap_or(""))
            .or_default() += 1;
    }
    for (shop, n) in &by_shop {
        say!(
            global,
            "{} taken back from {shop} on {on}",
            crate::text::count(*n, "card", "cards")
        );
    }
    global.emit(serde_json::json!({
        "action": "returned",
        "batch": batch.id,
        "date": on.to_string(),
        "returned": cards.iter().map(|c| serde_json::json!({
            "serial": c.serial, "shop": c.stock.shop,
        })).collect::<Vec<_>>(),
    }));
    Ok(Exit::Success)
}

pub fn shops(global: &Global, _args: ShopsArgs) -> Result<Exit, Error> {
    let ledger = global.open_ledger()?;
    let shops = ledger.shops()?;
    global.emit(serde_json::json!({
        "shops": shops.iter().map(|s| serde_json::json!({
            "name": s.name, "since": s.since, "consigned": s.consigned, "sold": s.sold,
        })).collect::<Vec<_>>(),
    }));
    if shops.is_empty() {
        say!(
            global,
            "no shops yet: `cardmint consign BATCH --serials RANGES --shop NAME` records one"
        );
        return Ok(Exit::Success);
    }
    let mut table = Table::new(["shop", "holds", "sold", "since"]);
    for s in &shops {
        table.push(vec![
            Cell::Text(s.name.clone()),
            Cell::Count(s.consigned as u64),
            Cell::Count(s.sold as u64),
            Cell::Text(s.since.to_string()),
        ]);
    }
    for line in table.text(&[]) {
        say!(global, "{line}");
    }
    Ok(Exit::Success)
}

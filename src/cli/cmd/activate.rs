//! `cardmint activate`: unblock sold cards.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::cli::args::{EngineArgs, SelectArgs};
use crate::cli::summary::summarize;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::lifecycle::{self, SaleTerms, SelectError, Selection, SoldLine};

/// Activate sold cards: record the sale (which shop, which day) in the ledger, then unblock
/// their accounts; their state becomes `active`.
///
/// Choose the cards with --serials (as printed, ranges allowed), a shop's --sold-list (one
/// serial per line, or a CSV whose header names a `serial` column and may name `shop` and
/// `date` columns, in any order), or --all. The shop defaults to the one the card was
/// consigned to, the day to today. A card consigned to another shop, or never consigned, is
/// refused unless --override-consignment. Everything is checked before anything is sent.
///
/// Examples:
///   cardmint activate B0001 --serials 0000000013-0000000101,0000000158
///   cardmint activate B0001 --sold-list shop12-sold.csv --sold-on 2026-11-30
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch id
    batch: String,
    /// A CSV of serials a shop reports as sold
    #[arg(long, value_name = "FILE", conflicts_with_all = ["serials", "all"], help_heading = "Which cards")]
    sold_list: Option<PathBuf>,
    /// Also unblock cards blocked after issue (lost, stolen, returned): off by default, so a
    /// sold list that names a stolen card does not bring it back to life
    #[arg(long)]
    include_blocked: bool,
    /// The shop that sold them (default: the shop they were consigned to)
    #[arg(long, value_name = "NAME", value_parser = crate::ledger::shop_name)]
    shop: Option<String>,
    /// The day they were sold (YYYY-MM-DD; default today)
    #[arg(long, value_name = "DATE", value_parser = crate::ledger::parse_date)]
    sold_on: Option<chrono::NaiveDate>,
    /// Record the sale by a shop the cards were not consigned to, or of cards never consigned
    #[arg(long)]
    override_consignment: bool,
    // The groups after the command's own flags: each under its heading in the help.
    #[command(flatten)]
    select: SelectArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    let ledger = global.open_ledger_for_changes()?;
    let batch = global.batch(&ledger, &args.batch)?;
    let how = match (&args.sold_list, args.select.selection()) {
        (Some(path), _) => Selection::SoldList(path),
        (None, Some(s)) => s,
        (None, None) => return Err(SelectError::Nothing.into()),
    };
    let all = matches!(how, Selection::All);
    let cards = lifecycle::select(ledger.cards(&batch.id)?, &batch.id, how)?;
    let mut skipped = Vec::new();
    let cards = lifecycle::changeable(cards, all, &mut skipped)?;
    let cards = lifecycle::unless_blocked(cards, all, args.include_blocked, &mut skipped)?;
    // The sales are checked for every card, then recorded, before anything is sent.
    let lines: HashMap<u64, SoldLine> = match &args.sold_list {
        Some(path) => lifecycle::read_sold_list(path, &cards, &batch.id)?
            .into_iter()
            .map(|l| (l.seq, l))
            .collect(),
        None => HashMap::new(),
    };
    // A flag gives what lines of the list leave out: with every line saying it, the flag
    // would be ignored.
    for (flag, given, every_line) in [
        (
            "--sold-on",
            args.sold_on.is_some(),
            lines.values().all(|l| l.date.is_some()),
        ),
        (
            "--shop",
            args.shop.is_some(),
            lines.values().all(|l| l.shop.is_some()),
        ),
    ] {
        if given && every_line && !lines.is_empty() {
            return Err(Error::Usage(format!(
                "{flag} gives the {} of the sold list's lines that leave it out, and every line \
                 gives its own: drop {flag} (nothing was sent)",
                if flag == "--shop" { "shop" } else { "day" }
            )));
        }
    }
    let shop = match &args.shop {
        Some(name) => Some(ledger.shop(name)?.ok_or_else(|| {
            SelectError::Stock(format!(
                "--shop {name:?}: no such shop in the ledger; `cardmint shops` lists them, and \
                 `cardmint consign` records a new one; nothing was sent"
            ))
        })?),
        None => None,
    };
    let known = |name: &str| ledger.shop(name).ok().flatten();
    let sales = lifecycle::plan_sales(
        &cards,
        &SaleTerms {
            shop: shop.as_deref(),
            on: args.sold_on,
            lines: &lines,
            override_consignment: args.override_consignment,
            known_shop: &known,
            days: batch.days(),
        },
    )?;
    // Each sale is recorded with its unblock, when the platform applies it: a refused or
    // failed run leaves no card "sold" and still blocked.
    let sales: HashMap<i64, lifecycle::Sale> = sales.into_iter().map(|s| (s.card_id, s)).collect();
    crate::cli::summary::print_skipped(global, &skipped);
    let pending = crate::money::pending_of(&ledger, &cards)?;
    let report = global.run_engine(&ledger, Some(&batch.id), cards.len(), &options, |run| {
        lifecycle::activate(run, cards, pending, &sales)
    })?;
    let recorded = sales
        .keys()
        .filter(|id| {
            ledger
                .card_by_id(**id)
                .ok()
                .flatten()
                .is_some_and(|c| c.stock.sold())
        })
        .count();
    if recorded > 0 {
        say!(
            global,
            "{} recorded",
            crate::text::count(recorded, "sale", "sales")
        );
    }
    crate::batch::refresh_outputs(&ledger, &batch.id)?;
    Ok(summarize(global, &report, "activated"))
}

//! `cardmint issue`: plan a batch (codes, passwords, customer file), record it, provision it,
//! write its outputs.

use std::path::PathBuf;

use rust_decimal::Decimal;

use crate::batch::{self, Print, Sheets};
use crate::cli::args::EngineArgs;
use crate::cli::{Exit, Global};
use crate::codes::{CodeSpec, PasswordSpec};
use crate::error::Error;
use crate::import::{self, Encoding, ImportError, ImportOptions};
use crate::ledger::{Batch, Expiry, NewBatch, Platform};
use crate::manifest;
use crate::provision::plan::{CardRequest, plan_cards};

/// Issue a batch of cards: draw codes and passwords, create the accounts, load the credit,
/// attach numbers, write the manifest.
///
/// Retail cards are created blocked (inert until sold); `cardmint activate` unblocks them.
/// Every card is recorded in the ledger before its first request, so an interrupted batch is
/// finished with `cardmint resume BATCH`.
///
/// Examples:
///   cardmint issue --sandbox --count 50 --value 5.00
///   cardmint issue --from customers.csv --value 10 --region GB --active --tariff 3
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// How many retail cards to issue
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "from",
        conflicts_with = "from",
        allow_negative_numbers = true,
        value_parser = crate::cli::args::count
    )]
    count: Option<usize>,
    /// Face value loaded on each card (rows of --from may give their own)
    #[arg(long, value_name = "AMOUNT", allow_negative_numbers = true, value_parser = crate::cli::args::amount)]
    value: Option<Decimal>,
    /// Currency printed with the value (the platform account's own currency)
    #[arg(long, default_value = "EUR")]
    currency: String,
    /// Rate list (tariff) id for the accounts
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = crate::cli::args::tariff)]
    tariff: Option<i64>,
    /// A customer CSV: columns customer, password, numbers, value, tariff, label (all optional)
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
    /// Region of national-format phone numbers in --from (ISO code, e.g. GB)
    #[arg(long, value_name = "XX")]
    region: Option<String>,
    /// Encoding of --from
    #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
    encoding: Encoding,
    /// Create the accounts usable (for known customers) instead of blocked
    #[arg(long)]
    active: bool,
    /// Output folder (default out/<batch id>)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Digits in an access code
    #[arg(long, value_name = "N", default_value_t = 12)]
    code_length: usize,
    /// Fixed leading digits of every access code
    #[arg(long, value_name = "DIGITS", default_value = "")]
    prefix: String,
    /// Characters in a generated password
    #[arg(long, value_name = "N", default_value_t = 10)]
    password_length: usize,
    /// How long the cards stay valid, counted from the sale: months or years (12m, 1y). The
    /// cards print the rule (their {expiry_note}); `cardmint expire` blocks them past it
    #[arg(long, value_name = "PERIOD", value_parser = Expiry::parse_period)]
    expires: Option<Expiry>,
    /// The last day the cards can be used (YYYY-MM-DD), printed on them
    #[arg(long, value_name = "DATE", conflicts_with = "expires", value_parser = expires_on)]
    expires_on: Option<Expiry>,
    /// The language the cards print in (en, es, fr, pl, ar, or one the design has texts
    /// for): the design's texts in it, its amounts and dates as it writes them
    #[arg(long, value_name = "TAG")]
    lang: Option<String>,
    /// Plan and validate, write the outputs marked as a dry run; send nothing, record nothing
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    layout: crate::cli::args::Layout,
    #[command(flatten)]
    printing: crate::cli::args::Printing,
}

/// `--expires-on`: a date after today.
fn expires_on(text: &str) -> Result<Expiry, String> {
    let d = crate::ledger::parse_date(text)?;
    if d <= chrono::Local::now().date_naive() {
        return Err(format!(
            "{d}: the cards would be expired before they are sold; give a later date"
        ));
    }
    Ok(Expiry::On(d))
}

fn check_value(value: Decimal) -> Result<Decimal, Error> {
    if value <= Decimal::ZERO || value.normalize().scale() > 2 || value >= Decimal::from(10_000_000)
    {
        return Err(Error::Usage(format!(
            "--value {value}: must be more than 0, below 10000000, with at most two decimals"
        )));
    }
    Ok(value)
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    // A length or prefix out of range is the command line's mistake (exit 2), as a password
    // length out of range is.
    let code =
        CodeSpec::new(args.code_length, &args.prefix).map_err(|e| Error::Usage(e.to_string()))?;
    let password = PasswordSpec::new(args.password_length).map_err(Error::Usage)?;
    let value = args.value.map(check_value).transpose()?;
    let currency = args.currency.trim().to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Error::Usage(format!(
            "--currency {:?}: give a three-letter code such as EUR",
            args.currency
        )));
    }
    let region = args
        .region
        .as_deref()
        .map(|r| crate::import::parse_region(r).map_err(Error::Usage))
        .transpose()?;
    let mut ledger = global.open_ledger_for_changes()?;
    let known = ledger.known_customers()?;
    // A customer file's problems wait for the layout check of its good rows: every problem
    // of the file is said at once.
    let mut unread = None;
    let requests = match (&args.from, args.count) {
        (Some(path), _) => match import::read_customers(
            path,
            &ImportOptions {
                encoding: args.encoding,
                region,
                value,
                tariff: args.tariff,
            },
            &known,
        ) {
            Ok(rows) => rows,
            Err(ImportError::Invalid {
                path,
                problems,
                rows,
            }) => {
                unread = Some((path, problems));
                rows
            }
            Err(e) => return Err(e.into()),
        },
        (None, Some(0)) | (None, None) => {
            return Err(Error::Usage("--count must be at least 1".into()));
        }
        (None, Some(n)) => {
            let value =
                value.ok_or_else(|| Error::Usage("--value is required with --count".into()))?;
            vec![CardRequest::retail(value, args.tariff); n]
        }
    };
    let lines: Vec<Option<u64>> = requests.iter().map(|r| r.line).collect();
    let cards = plan_cards(requests, &code, password, &known, ledger.live_codes(&code)?)?;
    let next_id = ledger.next_batch_id()?;
    // Every card is laid out before anything is sent: none is provisioned that cannot print.
    let probe = Batch {
        currency: currency.clone(),
        source: args.from.as_ref().map(|p| p.display().to_string()),
        expiry: args.expires.or(args.expires_on),
        lang: args.lang.clone(),
        ..batch::probe(&next_id)
    };
    // The printing is fixed here, with the config read once: what is checked is what prints.
    let config = global.config()?;
    let sheets = Sheets::for_batch(&config.values, &args.layout.look(), &probe)?;
    let print = args.printing.print(config)?;
    let planned = batch::planned(&next_id, ledger.next_seq()?, args.active, &cards);
    if let Some((path, mut problems)) = unread {
        problems.extend(
            sheets
                .layout_problems(&probe, &planned)
                .into_iter()
                .filter_map(|(i, reason)| {
                    Some(import::Problem {
                        line: lines.get(i).copied().flatten()?,
                        column: None,
                        reason: format!("cannot print: {reason}"),
                    })
                }),
        );
        problems.sort_by_key(|p| (p.line, p.column.as_ref().map(|c| c.0)));
        return Err(ImportError::Invalid {
            path,
            problems,
            rows: Vec::new(),
        }
        .into());
    }
    sheets.check_planned(&probe, &planned, &lines)?;
    let out_dir = args.out.as_ref().map(|o| batch::absolute(o));
    // Fail on settings before anything is recorded; nothing is sent yet.
    let connection = if args.dry_run {
        // What the real run would refuse before a request, a dry run refuses too: settings,
        // and demo values for the real platform.
        sheets.check_demo_values(global.platform()?.as_ref())?;
        None
    } else {
        manifest::check_fresh(
            &out_dir
                .clone()
                .unwrap_or_else(|| batch::default_out(&next_id)),
            &next_id,
        )?;
        let connection = global.connect(&options)?;
        // Demo values are refused for the real platform before any request.
        sheets.check_demo_values(Some(&connection.platform))?;
        connection.check_login()?;
        Some(connection)
    };
    let new = NewBatch {
        value: value.unwrap_or_else(|| cards.first().map_or(Decimal::ZERO, |c| c.value)),
        currency,
        tariff: args.tariff,
        active: args.active,
        code,
        password_length: password.length(),
        source: args.from.as_ref().map(|p| p.display().to_string()),
        out_dir,
        template: args.layout.template.clone(),
        sheet: args.layout.sheet.clone(),
        platform: connection
            .as_ref()
            .map_or(Platform::Sandbox, |c| c.platform.clone()),
        expiry: args.expires.or(args.expires_on),
        lang: args.lang.clone(),
        // What the cards print with, kept: a reprint prints the same.
        values: sheets.values.clone(),
    };
    let Some(connection) = connection else {
        return dry_run(global, &ledger, new, cards, &next_id, &sheets, &print);
    };
    let batch = ledger.create_batch(&new, &cards, batch::default_out)?;
    manifest::claim_dir(&batch.out_dir, &batch)?;
    if !global.quiet {
        eprintln!(
            "batch {} recorded: {}; provisioning",
            batch.id,
            crate::text::count(cards.len(), "card", "cards")
        );
    }
    crate::cli::finish::finish_batch(
        global,
        &ledger,
        &batch,
        &options,
        &sheets,
        &print,
        Some(&connection),
    )
}

/// Writes the outputs of the planned cards, marked as a dry run, into `out/<id>-dry-run`.
fn dry_run(
    global: &Global,
    ledger: &crate::ledger::Ledger,
    new: NewBatch,
    cards: Vec<crate::ledger::NewCard>,
    next_id: &str,
    sheets: &Sheets,
    print: &Print,
) -> Result<Exit, Error> {
    let id = format!("{next_id}-dry-run");
    let first_seq = ledger.next_seq()?;
    let batch = Batch {
        id: id.clone(),
        created_at: crate::clock::stamp(chrono::Utc::now()),
        value: new.value,
        currency: new.currency,
        tariff: new.tariff,
        active: new.active,
        code: new.code,
        password_length: new.password_length,
        source: new.source,
        out_dir: new.out_dir.unwrap_or_else(|| batch::default_out(&id)),
        template: new.template,
        sheet: new.sheet,
        platform: None,
        expiry: new.expiry,
        lang: new.lang,
        token: None,
        values: Some(new.values),
    };
    let cards = batch::planned(&id, first_seq, new.active, &cards);
    manifest::write_outputs(&batch.out_dir, &batch, &cards, true)?;
    for line in sheets.render(&batch, &cards, print, &batch.out_dir, "cards")? {
        say!(global, "{line}");
    }
    if !global.quiet {
        eprintln!("dry run: nothing was sent and nothing was recorded in the ledger");
    }
    say!(
        global,
        "dry run: {} planned",
        crate::text::count(cards.len(), "card", "cards")
    );
    say!(global, "outputs in {}", batch.out_dir.display());
    global.emit(serde_json::json!({
        "dry_run": true,
        "cards": cards.len(),
        "outputs": batch.out_dir,
    }));
    Ok(Exit::Success)
}

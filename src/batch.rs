//! A batch from its plan to its sheets: how its cards print, fixed when it is planned (the
//! values of the config read once, the design, the sheet); the layout check of the planned
//! cards before anything is sent; what is left to provision; and the outputs written from the
//! ledger (the manifest, the inventory, the card sheets). `issue`, `resume`, `replace`,
//! `reset-password`, `render` and `preview` are recipes over it; none calls another.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

use crate::error::Error;
use crate::ledger::{Batch, BatchCounts, Card, CardState, Intent, Ledger, NewCard, Platform};
use crate::render::{self, CardFields, Duplex, Job, Offsets, Scratch, Target};

/// The sheet a batch prints on unless it names one: A4 pre-cut card stock.
pub const DEFAULT_SHEET: &str = "avery-c32011";

/// What the reseller asked of the cards' look: design, sheet, values set for this run, the
/// scratch panel.
#[derive(Debug, Clone, Default)]
pub struct Look {
    /// A shipped design's name or a path; `None`: the batch's, else retail or welcome.
    pub template: Option<String>,
    /// A shipped sheet's name or a path; `None`: the batch's, else [`DEFAULT_SHEET`].
    pub sheet: Option<String>,
    /// Values set for this run (`--set KEY=VALUE`), over the config's `[values]`.
    pub set: Vec<(String, String)>,
    pub scratch: Option<Scratch>,
}

/// How the sheets go through the printer.
#[derive(Debug, Clone, Copy)]
pub struct Print {
    pub duplex: Duplex,
    pub offsets: Offsets,
    /// The first position used on the first sheet (1: a whole sheet).
    pub start: usize,
}

impl Default for Print {
    fn default() -> Self {
        Print {
            duplex: Duplex::Long,
            offsets: Offsets::default(),
            start: 1,
        }
    }
}

/// A batch's printing, fixed: its design loaded with the values, its sheet, its scratch panel.
/// Made once, when the batch is planned, and used by every step after: the cards checked
/// before anything is sent are drawn with the very same values.
pub struct Sheets {
    pub design: render::Design,
    pub sheet: render::Sheet,
    scratch: Option<Scratch>,
    /// Amounts print with a decimal comma (the batch's language writes them so).
    comma: bool,
    /// The config's values this design does not print, said as warnings.
    unused: Vec<String>,
    /// The reseller's values the cards print with (the batch's own over the config's, under
    /// `--set`): what a new batch keeps.
    pub values: BTreeMap<String, String>,
}

impl Sheets {
    /// The design and sheet for `batch`: as `look` asks, else as recorded with the batch, else
    /// retail for drawn codes and welcome for imported customers, on [`DEFAULT_SHEET`]; with
    /// the values it printed with ([`printed_values`]) under the values `look` sets, and the
    /// batch's expiry rule as its note.
    pub fn for_batch(
        config: &BTreeMap<String, String>,
        look: &Look,
        batch: &Batch,
    ) -> Result<Sheets, Error> {
        let kept = printed_values(config, batch);
        // A value the config changed since the batch was issued: the reprint keeps the old
        // one, and says how to print the new.
        // And one the batch was issued without (it printed the design's own, or nothing): the
        // config's is printed now, said too.
        let (changed, added): (Vec<String>, Vec<String>) = match &batch.values {
            Some(kept) => config
                .iter()
                .filter(|(k, v)| kept.get(*k) != Some(*v))
                .filter(|(k, _)| !look.set.iter().any(|(s, _)| s == *k))
                .map(|(k, _)| k.clone())
                .partition(|k| kept.contains_key(k)),
            None => Default::default(),
        };
        let mut values = kept;
        values.extend(look.set.iter().cloned());
        let reseller = values.clone();
        // A batch with an expiry rule prints that rule, whatever the configured note says, in
        // the batch's language.
        if let Some(rule) = &batch.expiry {
            values.insert(
                "expiry_note".into(),
                expiry_note(rule, batch.lang.as_deref()),
            );
        }
        let default = if batch.source.is_some() {
            "welcome"
        } else {
            "retail"
        };
        let template = look
            .template
            .as_deref()
            .or(batch.template.as_deref())
            .unwrap_or(default);
        let mut design = render::load_design(template, &values)?;
        let used = design.fields_used();
        let known = || used.iter().map(String::as_str).chain(render::VALUE_FIELDS);
        // Each card's own fields come from the card, never from a value.
        if let Some((key, _)) = look
            .set
            .iter()
            .find(|(k, _)| render::CARD_FIELDS.contains(&k.as_str()))
        {
            return Err(Error::Usage(format!(
                "--set {key}=...: {{{key}}} is each card's own ({}); it cannot be set. --set \
                 gives the values printed alike on every card ({})",
                match key.as_str() {
                    "value" | "currency" => "the batch's --value and --currency",
                    "label" | "numbers" => "the customer file's column",
                    _ => "drawn or numbered for each card",
                },
                render::VALUE_FIELDS.join(", ")
            )));
        }
        // A value set for this run that the design never prints is a mistake of this run.
        if let Some((key, _)) = look.set.iter().find(|(k, _)| !used.contains(k)) {
            return Err(Error::Usage(format!(
                "--set {key}=...: {} prints no {{{key}}}{}; the values it prints \
                 are {}",
                design.source,
                crate::text::closest(key, known())
                    .map(|k| format!(" (did you mean {k}?)"))
                    .unwrap_or_default(),
                used.iter()
                    .filter(|k| !render::CARD_FIELDS.contains(&k.as_str()))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        // The config's values serve every design (one it does not print may be another's);
        // one a letter or two from a value this design prints is likely a typo, said.
        let mut unused: Vec<String> = values
            .keys()
            .filter(|k| !used.contains(*k) && !look.set.iter().any(|(s, _)| s == *k))
            .filter_map(|k| {
                let meant = crate::text::closest(k, known().filter(|n| *n != k))?;
                Some(format!(
                    "[values] {k} in the config is not printed by {} (did you \
                     mean {meant}?)",
                    design.source
                ))
            })
            .collect();
        let printed = design.fields_used();
        for key in changed.iter().filter(|k| printed.contains(*k)) {
            unused.push(format!(
                "note: {} prints {{{key}}} as it was issued; the config's [values] {key} changed \
                 since: give --set {key}=... to print another",
                batch.id
            ));
        }
        for key in added.iter().filter(|k| printed.contains(*k)) {
            unused.push(format!(
                "note: {} was issued without [values] {key}; the config's, set since, is \
                 printed now (--set {key}=... prints another)",
                batch.id
            ));
        }
        let mut comma = false;
        if let Some(lang) = batch.lang.as_deref() {
            let known = design.languages();
            if lang != "en" && !known.contains(lang) {
                return Err(Error::Usage(format!(
                    "--lang {lang}: the design {} has no texts in {lang:?} (it has en{}); \
                     give its text elements `texts.{lang} = \"...\"`, or choose one of these",
                    design.source,
                    known.iter().map(|l| format!(", {l}")).collect::<String>()
                )));
            }
            design = design.in_language(lang)?;
            comma = crate::portal::i18n::Languages::load(None)
                .ok()
                .and_then(|all| all.get(lang).map(|l| l.t("decimal-separator") == ","))
                .unwrap_or(false);
        }
        let sheet_name = look
            .sheet
            .as_deref()
            .or(batch.sheet.as_deref())
            .unwrap_or(DEFAULT_SHEET);
        let sheet = render::load_sheet_for(sheet_name, &design)?;
        Ok(Sheets {
            design,
            sheet,
            scratch: look.scratch,
            comma,
            unused,
            values: reseller,
        })
    }

    fn job<'a>(&'a self, print: &Print, cards: &'a [CardFields]) -> Job<'a> {
        Job {
            design: &self.design,
            sheet: &self.sheet,
            duplex: print.duplex,
            offsets: print.offsets,
            start: print.start,
            scratch: self.scratch,
            cards,
        }
    }

    /// Lays out every planned card of a batch-to-be, before anything is recorded or sent: a
    /// text that cannot fit (after wrapping and shrinking), a character the font lacks or a
    /// QR too dense is an input error naming every card that cannot print (by the customer
    /// file's line, `rows[i]` for card `i`, else by serial) and the element.
    pub fn check_planned(
        &self,
        batch: &Batch,
        cards: &[Card],
        rows: &[Option<u64>],
    ) -> Result<(), Error> {
        let problems = self.layout_problems(batch, cards);
        if problems.is_empty() {
            return Ok(());
        }
        {
            let source = batch.source.as_deref();
            // One line a problem; a shared value (a brand too long) fails every card alike.
            let mut lines: Vec<(String, String, usize)> = Vec::new();
            for (i, what) in problems {
                let at = match (source, rows.get(i).copied().flatten()) {
                    (Some(file), Some(line)) => format!("{file} line {line}"),
                    _ => format!("card {}", cards[i].serial),
                };
                match lines.iter_mut().find(|(_, w, _)| *w == what) {
                    Some(line) => line.2 += 1,
                    None => lines.push((at, what, 0)),
                }
            }
            let text: Vec<String> = lines
                .into_iter()
                .take(20)
                .map(|(at, what, more)| match more {
                    0 => format!("{at}: {what}"),
                    n => format!("{at} (and {n} more alike): {what}"),
                })
                .collect();
            Err(Error::Unprintable(text.join("\n  ")))
        }
    }

    /// Why planned cards cannot print: each card's index in `cards` and what is wrong (the
    /// element and the reason), checked with the very fields the cards will print with.
    pub fn layout_problems(&self, batch: &Batch, cards: &[Card]) -> Vec<(usize, String)> {
        let printable: Vec<CardFields> =
            cards.iter().map(|c| fields(batch, c, self.comma)).collect();
        let job = self.job(&Print::default(), &printable);
        match render::check_cards(&job, usize::MAX) {
            Ok(()) => Vec::new(),
            Err(problems) => problems
                .into_iter()
                .map(|(i, why)| {
                    let what = why.split_once(": ").map_or(why.as_str(), |(_, rest)| rest);
                    (i, what.to_string())
                })
                .collect(),
        }
    }

    /// Refuses to print demo values (the shipped designs' own brand, support line and
    /// numbers, an example.com address, a fictional number) on cards for the real platform,
    /// naming the `[values]` keys to set.
    pub fn check_demo_values(&self, platform: Option<&Platform>) -> Result<(), Error> {
        if !platform.is_some_and(Platform::is_real) {
            return Ok(());
        }
        let demo = self.design.demo_values();
        if demo.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = demo
            .iter()
            .map(|(k, v, why)| format!("{k} = {v:?} ({why})"))
            .collect();
        Err(Error::DemoValues(lines.join("\n  ")))
    }

    /// The alignment sheet: trim outlines and a millimetre scale, to calibrate a printer.
    pub fn proof(&self, print: &Print, path: &Path) -> Result<PathBuf, Error> {
        let job = self.job(&Print { start: 1, ..*print }, &[]);
        let out = render::proof(&job, path)?;
        Ok(out.files[0].0.clone())
    }

    /// What the sheet and the design warn of (a sheet smaller than the card's bleed, press
    /// rules a design breaks).
    pub fn warnings(&self) -> Vec<String> {
        let mut lines = self.unused.clone();
        lines.extend(self.sheet.warnings(&self.design.card));
        lines.extend(render::press_warnings(&self.design, &self.sheet));
        lines
    }

    /// One sheet of sample cards (Cyrillic, Greek and accented labels included) at `out`
    /// (`out` with `fronts.pdf` and `backs.pdf` as extensions with `--duplex none`): the files
    /// and their sizes.
    pub fn sample(&self, print: &Print, out: &Path) -> Result<Vec<(PathBuf, u64)>, Error> {
        let cards = render::sample_cards(self.sheet.per_sheet());
        let job = self.job(&Print { start: 1, ..*print }, &cards);
        let target = match print.duplex {
            Duplex::None => Target::Two {
                fronts: out.with_extension("fronts.pdf"),
                backs: out.with_extension("backs.pdf"),
            },
            _ => Target::One(out.to_path_buf()),
        };
        Ok(render::render(&job, &target)?.files)
    }

    /// Renders the provisioned cards among `cards` into `dir` as `STEM.pdf` (or `fronts.pdf`
    /// and `backs.pdf`, `STEM-fronts.pdf` and `STEM-backs.pdf` for another stem, with
    /// `--duplex none`); returns lines for the user.
    pub fn render(
        &self,
        batch: &Batch,
        cards: &[Card],
        print: &Print,
        dir: &Path,
        stem: &str,
    ) -> Result<Vec<String>, Error> {
        self.check_demo_values(batch.platform.as_ref())?;
        let printable: Vec<CardFields> = cards
            .iter()
            .filter(|c| {
                matches!(
                    c.state,
                    CardState::Ready | CardState::Active | CardState::Blocked
                )
            })
            .map(|c| fields(batch, c, self.comma))
            .collect();
        let mut lines = self.warnings();
        let skipped = cards.len() - printable.len();
        if skipped > 0 {
            lines.push(format!(
                "{skipped} card(s) not provisioned (failed or pending) are left out of the PDF"
            ));
        }
        if printable.is_empty() {
            lines.push("no provisioned card to render".into());
            return Ok(lines);
        }
        if print.start == 0 || print.start > self.sheet.per_sheet() {
            return Err(Error::Usage(format!(
                "--start {}: the {} sheet has positions 1 to {}",
                print.start,
                self.sheet.name,
                self.sheet.per_sheet()
            )));
        }
        let job = self.job(print, &printable);
        let target = match (print.duplex, stem) {
            (Duplex::None, "cards") => Target::Two {
                fronts: dir.join("fronts.pdf"),
                backs: dir.join("backs.pdf"),
            },
            (Duplex::None, _) => Target::Two {
                fronts: dir.join(format!("{stem}-fronts.pdf")),
                backs: dir.join(format!("{stem}-backs.pdf")),
            },
            _ => Target::One(dir.join(format!("{stem}.pdf"))),
        };
        let out = render::render(&job, &target)?;
        lines.push(format!(
            "{} on {}, {}: {}",
            crate::text::count(printable.len(), "card", "cards"),
            crate::text::count(out.sheets, "sheet", "sheets"),
            crate::text::count(out.pages, "page", "pages"),
            out.files
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        Ok(lines)
    }
}

/// A batch's expiry rule as its cards print it: in English ([`crate::ledger::Expiry::note`]),
/// or in the batch's language from the page's catalogs (the same messages, one source).
fn expiry_note(rule: &crate::ledger::Expiry, lang: Option<&str>) -> String {
    let languages = match lang {
        Some(l) if l != "en" => crate::portal::i18n::Languages::load(None).ok(),
        _ => None,
    };
    let Some(t) = languages
        .as_ref()
        .and_then(|all| all.get(lang.unwrap_or("en")))
    else {
        return rule.note();
    };
    match rule {
        crate::ledger::Expiry::Months(n) => {
            t.t_with("card-valid-months", &[("months", (*n).into())])
        }
        crate::ledger::Expiry::On(d) => t.t_with(
            "card-valid-until",
            &[("date", d.format(&t.t("date-format")).to_string().into())],
        ),
    }
}

/// What a card prints (amounts with a decimal comma when `comma`).
fn fields(batch: &Batch, card: &Card, comma: bool) -> CardFields {
    let value = format!("{:.2}", card.loaded());
    CardFields {
        serial: card.serial.clone(),
        code: card.customer.clone(),
        password: card.password.expose().to_string(),
        // What the card holds now: the face value and every top-up since.
        value: if comma {
            value.replace('.', ",")
        } else {
            value
        },
        currency: batch.currency.clone(),
        batch: batch.id.clone(),
        // Never an empty greeting: the login stands in for a name.
        label: if card.label.trim().is_empty() {
            card.customer.clone()
        } else {
            card.label.clone()
        },
        numbers: card
            .numbers
            .iter()
            .map(|n| crate::import::for_reading(n))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The values a batch prints with: those kept with it at issue, over the config's `[values]`
/// (which give what it never printed: a value a new design asks for; and everything for a
/// batch-to-be, or one recorded before values were kept).
pub fn printed_values(
    config: &BTreeMap<String, String>,
    batch: &Batch,
) -> BTreeMap<String, String> {
    let mut values = config.clone();
    values.extend(
        batch
            .values
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    values
}

/// A batch-to-be with id `id`, as far as choosing its design needs.
pub fn probe(id: &str) -> Batch {
    Batch {
        id: id.to_string(),
        created_at: String::new(),
        value: Default::default(),
        currency: String::new(),
        tariff: None,
        active: false,
        code: crate::codes::CodeSpec::new(12, "").expect("valid"),
        password_length: 10,
        source: None,
        out_dir: PathBuf::new(),
        template: None,
        sheet: None,
        platform: None,
        expiry: None,
        lang: None,
        token: None,
        values: None,
    }
}

/// The planned cards as the ledger will hold them (serials from `first_seq`), drawn as if
/// provisioned: what a dry run prints and what the layout check before sending lays out.
pub fn planned(batch_id: &str, first_seq: u64, active: bool, cards: &[NewCard]) -> Vec<Card> {
    cards
        .iter()
        .enumerate()
        .map(|(i, c)| Card {
            id: 0,
            batch_id: batch_id.to_string(),
            seq: first_seq + i as u64,
            serial: crate::codes::serial(first_seq + i as u64),
            customer: c.customer.clone(),
            password: c.password.clone(),
            value: c.value,
            tariff: c.tariff,
            numbers: c.numbers.clone(),
            label: c.label.clone(),
            generated: c.generated,
            progress: Default::default(),
            state: if active {
                CardState::Active
            } else {
                CardState::Ready
            },
            failure: None,
            block_reason: None,
            topups: Decimal::ZERO,
            pending_password: None,
            credit: c.credit,
            stock: Default::default(),
        })
        .collect()
}

/// `path` from the current folder.
pub fn absolute(path: &Path) -> PathBuf {
    std::env::current_dir()
        .map(|c| c.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// A batch's folder unless it names one: `out/ID` in the current folder.
pub fn default_out(batch_id: &str) -> PathBuf {
    absolute(&PathBuf::from("out").join(batch_id))
}

/// What is left to provision of a batch: its cards, the changes still open, and how many
/// cards need a job (pending, failed, or with a change open).
pub struct Unfinished {
    pub cards: Vec<Card>,
    pub pending: Vec<Intent>,
    pub todo: usize,
}

pub fn unfinished(ledger: &Ledger, batch: &Batch) -> Result<Unfinished, Error> {
    let cards = ledger.cards(&batch.id)?;
    let pending = ledger.pending_intents(Some(&batch.id))?;
    let open: HashSet<i64> = pending.iter().map(|i| i.card_id).collect();
    let todo = cards
        .iter()
        .filter(|c| {
            matches!(c.state, CardState::Pending | CardState::Failed) || open.contains(&c.id)
        })
        .count();
    Ok(Unfinished {
        cards,
        pending,
        todo,
    })
}

/// A batch's outputs, written from the ledger after a run.
pub struct Outputs {
    pub cards: Vec<Card>,
    pub counts: BatchCounts,
    /// The card sheets' lines, or why they failed: the accounts are provisioned whatever
    /// happens to the PDF.
    pub sheets: Result<Vec<String>, Error>,
}

/// Writes the batch's manifest and inventory, then its card sheets (`cards.pdf`).
pub fn write_outputs(
    ledger: &Ledger,
    batch: &Batch,
    sheets: &Sheets,
    print: &Print,
) -> Result<Outputs, Error> {
    let cards = ledger.cards(&batch.id)?;
    crate::manifest::write_outputs(&batch.out_dir, batch, &cards, false)?;
    let counts = ledger.counts(&batch.id)?;
    let sheets = sheets.render(batch, &cards, print, &batch.out_dir, "cards");
    Ok(Outputs {
        cards,
        counts,
        sheets,
    })
}

/// Brings a batch's manifest and inventory up to date after its cards changed.
pub fn refresh_outputs(ledger: &Ledger, batch_id: &str) -> Result<(), Error> {
    if let Some(batch) = ledger.batch(batch_id)? {
        let cards = ledger.cards(batch_id)?;
        crate::manifest::write_outputs(&batch.out_dir, &batch, &cards, false)?;
    }
    Ok(())
}

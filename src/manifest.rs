//! The batch's files for people and print shops: `manifest.csv` (every field, secrets
//! included, owner-only), `manifest.xlsx` (the same, every cell text so leading zeros and long
//! codes survive a spreadsheet), `inventory.csv` (no secrets) and `summary.txt`.
//!
//! Files are written atomically (temporary file, then rename) into a folder that belongs to one
//! batch: a marker file names it, and another batch's folder is never written into.
//! Takes card records; knows nothing of the API or SQL.

use std::path::{Path, PathBuf};

use crate::ledger::{Batch, Card};
use crate::table::{Cell, Table};

/// Names the batch a folder belongs to.
pub const MARKER: &str = ".cardmint-batch";
/// The files cardmint writes into a batch folder.
pub const OUTPUT_FILES: [&str; 4] = [
    "manifest.csv",
    "manifest.xlsx",
    "inventory.csv",
    "summary.txt",
];
/// `pending_password`: a new password sent by a reset whose outcome is still open. The account
/// opens with `password` or with it; `cardmint settle` finds out which.
const MANIFEST_HEADER: [&str; 12] = [
    "batch",
    "serial",
    "customer",
    "password",
    "value",
    "currency",
    "tariff",
    "numbers",
    "state",
    "label",
    "failure",
    "pending_password",
];
const INVENTORY_HEADER: [&str; 5] = ["batch", "serial", "value", "currency", "state"];

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "{dir} holds the outputs of batch {owner} (of another ledger, or another batch); \
         choose another --out for batch {batch}"
    )]
    OtherBatch {
        dir: PathBuf,
        owner: String,
        batch: String,
    },
    #[error("{path} exists and was not written for batch {batch}; choose another --out")]
    Foreign { path: PathBuf, batch: String },
    #[error(
        "{dir} belongs to another user (uid {owner}); the batch's codes and passwords go only \
         into a folder of yours: choose another --out"
    )]
    NotOurs { dir: PathBuf, owner: u32 },
    #[error(
        "{dir} can be written by other users (mode {mode:o}), who could plant or swap files \
         where the batch's codes and passwords go: run `chmod go-w {dir}` or choose another --out"
    )]
    OpenFolder { dir: PathBuf, mode: u32 },
    #[error("cannot write {path}: {}", crate::text::io_reason(source))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {message}")]
    Xlsx { path: PathBuf, message: String },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ManifestError + '_ {
    move |source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a batch's folder marker says: its id and its random token (the creation time for a
/// batch recorded before tokens), so that the batch of the same id in another ledger (every
/// ledger starts at B0001) is another batch, even created in the same second. A dry run's
/// folder is its id alone: the next dry run writes over it.
pub fn marker(batch: &Batch) -> String {
    match &batch.token {
        _ if batch.id.ends_with("-dry-run") => batch.id.clone(),
        Some(token) => format!("{} {token}", batch.id),
        None => format!("{} {}", batch.id, batch.created_at),
    }
}

/// Checks that `dir` can take a batch not created yet (`batch_id`): no other batch's marker
/// in it (whatever its id: this ledger never had one of that id), nothing else of ours.
pub fn check_fresh(dir: &Path, batch_id: &str) -> Result<(), ManifestError> {
    check_owned(dir, batch_id, None)
}

/// Checks that `dir` is free or already this batch's (`owner`: its [`marker`]), without
/// writing anything.
pub fn check_dir(dir: &Path, owner: &str) -> Result<(), ManifestError> {
    let id = owner.split(' ').next().unwrap_or(owner);
    check_owned(dir, id, Some(owner))
}

fn check_owned(dir: &Path, batch_id: &str, owner_line: Option<&str>) -> Result<(), ManifestError> {
    // The folder receives every code and password of the batch: it must be ours, and nobody
    // else may plant or swap files in it.
    if let Ok(meta) = std::fs::metadata(dir) {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if let Some(me) = crate::lockfile::current_uid()
            && meta.uid() != me
        {
            return Err(ManifestError::NotOurs {
                dir: dir.to_path_buf(),
                owner: meta.uid(),
            });
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o022 != 0 {
            return Err(ManifestError::OpenFolder {
                dir: dir.to_path_buf(),
                mode,
            });
        }
    }
    let marker = dir.join(MARKER);
    match std::fs::read_to_string(&marker) {
        // This batch's (a marker written before the creation time was kept: its id alone).
        Ok(owner)
            if owner_line.is_some_and(|line| {
                owner.trim() == line || (!owner.trim().contains(' ') && owner.trim() == batch_id)
            }) =>
        {
            return Ok(());
        }
        Ok(owner) => {
            return Err(ManifestError::OtherBatch {
                dir: dir.to_path_buf(),
                owner: owner
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                batch: batch_id.to_string(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&marker)(e)),
    }
    for name in OUTPUT_FILES {
        let path = dir.join(name);
        if path.exists() {
            return Err(ManifestError::Foreign {
                path,
                batch: batch_id.to_string(),
            });
        }
    }
    Ok(())
}

/// Makes `dir` the folder of `batch` (checked first).
pub fn claim_dir(dir: &Path, batch: &Batch) -> Result<(), ManifestError> {
    let owner = marker(batch);
    check_dir(dir, &owner)?;
    // Owner-only from creation: the folder will hold the batch's secrets.
    crate::atomic::create_dir(dir).map_err(io(dir))?;
    write_atomic(&dir.join(MARKER), format!("{owner}\n").as_bytes(), 0o644)
}

/// Writes `bytes` to `path` through a temporary file in the same folder, then renames it.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ManifestError> {
    crate::atomic::write(path, bytes, mode).map_err(io(path))
}

/// What the state column says: the card's state, or `dry-run` for a dry run.
fn state(card: &Card, dry_run: bool) -> &'static str {
    if dry_run {
        "dry-run"
    } else {
        card.state.as_str()
    }
}

/// Every field of every card, secrets included; every cell text (codes and serials keep their
/// leading zeros in a spreadsheet).
fn manifest_table(batch: &Batch, cards: &[Card], dry_run: bool) -> Table {
    let mut table = Table::new(MANIFEST_HEADER);
    for c in cards {
        table.push(
            [
                batch.id.clone(),
                c.serial.clone(),
                c.customer.clone(),
                c.password.expose().to_string(),
                format!("{:.2}", c.value),
                batch.currency.clone(),
                c.tariff.map(|t| t.to_string()).unwrap_or_default(),
                c.numbers.join(" "),
                state(c, dry_run).to_string(),
                c.label.clone(),
                c.failure.clone().unwrap_or_default(),
                c.pending_password
                    .as_ref()
                    .map(|p| p.expose().to_string())
                    .unwrap_or_default(),
            ]
            .map(Cell::Text)
            .to_vec(),
        );
    }
    table
}

/// The stock without a secret.
fn inventory_table(batch: &Batch, cards: &[Card], dry_run: bool) -> Table {
    let mut table = Table::new(INVENTORY_HEADER);
    for c in cards {
        table.push(
            [
                batch.id.clone(),
                c.serial.clone(),
                format!("{:.2}", c.value),
                batch.currency.clone(),
                state(c, dry_run).to_string(),
            ]
            .map(Cell::Text)
            .to_vec(),
        );
    }
    table
}

fn summary(batch: &Batch, cards: &[Card], dry_run: bool) -> String {
    let count = |s: &str| cards.iter().filter(|c| state(c, dry_run) == s).count();
    let total: rust_decimal::Decimal = cards.iter().map(|c| c.value).sum();
    let mut text = format!(
        "batch {}{}\ncreated {}\ncards {}\nface value total {:.2} {}\n",
        batch.id,
        if dry_run {
            " (DRY RUN: nothing was sent or recorded)"
        } else {
            ""
        },
        batch.created_at,
        cards.len(),
        total,
        batch.currency
    );
    for s in ["ready", "active", "blocked", "failed", "pending", "dry-run"] {
        let n = count(s);
        if n > 0 {
            text.push_str(&format!("{s} {n}\n"));
        }
    }
    if let (Some(first), Some(last)) = (cards.first(), cards.last()) {
        text.push_str(&format!("serials {}-{}\n", first.serial, last.serial));
    }
    text
}

/// Writes every output of the batch into `dir` (claimed for the batch), in serial order.
pub fn write_outputs(
    dir: &Path,
    batch: &Batch,
    cards: &[Card],
    dry_run: bool,
) -> Result<Vec<PathBuf>, ManifestError> {
    claim_dir(dir, batch)?;
    let mut written = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>, mode: u32| -> Result<(), ManifestError> {
        let path = dir.join(name);
        write_atomic(&path, &bytes, mode)?;
        written.push(path);
        Ok(())
    };
    let manifest = manifest_table(batch, cards, dry_run);
    put("manifest.csv", manifest.csv(), 0o600)?;
    let xlsx = manifest.xlsx("manifest").map_err(|e| ManifestError::Xlsx {
        path: dir.join("manifest.xlsx"),
        message: e.to_string(),
    })?;
    put("manifest.xlsx", xlsx, 0o600)?;
    put(
        "inventory.csv",
        inventory_table(batch, cards, dry_run).csv(),
        0o644,
    )?;
    put(
        "summary.txt",
        summary(batch, cards, dry_run).into_bytes(),
        0o644,
    )?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_belongs_to_one_batch() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let batch = |id: &str, created: &str| Batch {
            id: id.into(),
            created_at: created.into(),
            ..crate::batch::probe(id)
        };
        claim_dir(&out, &batch("B0001", "2026-12-03T10:00:00Z")).unwrap();
        claim_dir(&out, &batch("B0001", "2026-12-03T10:00:00Z")).unwrap();
        for other in [
            batch("B0002", "2026-12-03T10:00:00Z"),
            // Another ledger's B0001.
            batch("B0001", "2026-12-03T11:00:00Z"),
        ] {
            assert!(matches!(
                claim_dir(&out, &other),
                Err(ManifestError::OtherBatch { .. })
            ));
        }
        // A batch not created yet takes no folder that is a batch's.
        assert!(check_fresh(&out, "B0001").is_err());
        // A marker written before creation times were kept: the id alone is this batch's.
        std::fs::write(out.join(MARKER), "B0001\n").unwrap();
        claim_dir(&out, &batch("B0001", "2026-12-03T10:00:00Z")).unwrap();
        let foreign = dir.path().join("foreign");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("manifest.csv"), "x").unwrap();
        assert!(matches!(
            check_dir(&foreign, "B0003"),
            Err(ManifestError::Foreign { .. })
        ));
    }
}

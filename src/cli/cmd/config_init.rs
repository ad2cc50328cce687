//! `cardmint config init`: a commented example config file to start from.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::cli::{Exit, Global};
use crate::error::Error;

/// The example, every key commented with its default.
const EXAMPLE: &str = include_str!("../../../templates/config/cardmint.toml");

/// Work with cardmint's config file.
///
/// Example:
///   cardmint config init                 # writes ./cardmint.toml, owner-only
///   cardmint config init --path ~/.config/cardmint/cardmint.toml
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    /// Write a commented example config file (owner-only), never over an existing file
    Init {
        /// Where to write it
        #[arg(long, value_name = "P", default_value = "cardmint.toml")]
        path: PathBuf,
    },
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    global.no_json("config init")?;
    let Action::Init { path } = args.action;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::atomic::create_dir(dir).map_err(Error::io(format!("create {}", dir.display())))?;
    }
    // Created exclusively and owner-only from the start: an existing file is never touched.
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(crate::atomic::PRIVATE)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Exists(format!(
                "{} exists; cardmint does not write over a config file: edit it, or give \
                 another --path",
                path.display()
            )));
        }
        Err(e) => return Err(Error::io(format!("create {}", path.display()))(e)),
    };
    file.write_all(EXAMPLE.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(Error::io(format!("write {}", path.display())))?;
    out!(
        "wrote {} (owner-only): set [reseller] and [values] in it",
        path.display()
    );
    Ok(Exit::Success)
}

//! `cardmint check-password`: the password policy on standard input, one password per line.

use std::io::BufRead;

use crate::cli::{Exit, Global};
use crate::codes::check_password;
use crate::error::Error;

/// Check passwords (one per line on standard input) against cardmint's policy, which is
/// stricter than the platform's: 4-39 characters of a-z A-Z 0-9 - _ @ . not starting with a
/// dash or @ (a spreadsheet opening the manifest would run it as a formula), and no run of
/// three equal or consecutive characters (abc, 321, yz0). Use it on imported passwords.
///
/// The passwords are never printed back; each line gets `ok` or the reason.
/// Exits 4 when any line fails.
///
/// Example:
///   cut -d, -f2 customers.csv | tail -n +2 | cardmint check-password
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {}

pub fn run(global: &Global, _args: Args) -> Result<Exit, Error> {
    global.no_json("check-password")?;
    let stdin = std::io::stdin();
    let (mut checked, mut bad) = (0, 0);
    for (i, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(Error::io("read standard input"))?;
        let password = line.strip_suffix('\r').unwrap_or(&line);
        if password.is_empty() {
            continue;
        }
        checked += 1;
        match check_password(password) {
            Ok(()) if !global.quiet => out!("line {}: ok", i + 1),
            Ok(()) => {}
            Err(v) => {
                bad += 1;
                out!("line {}: {v}", i + 1);
            }
        }
    }
    out!("{checked} checked, {bad} failed");
    Ok(if bad == 0 {
        Exit::Success
    } else {
        Exit::InvalidInput
    })
}

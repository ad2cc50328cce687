//! Access codes, serials (with a check digit), passwords and the password policy, the
//! guess-risk bound, and uniform draws from the OS CSPRNG.
//!
//! Pure but for the random source, which is a parameter: no I/O, no ledger, no API.

mod access;
pub mod password;
mod random;
mod serial;

pub use access::{CodeError, CodeSpec, GUESS_RISK_BOUND, as_typed, check_guess_risk};
pub use password::{PasswordSpec, PolicyViolation, check_password};
pub use random::{Draw, OsRandom, RandomError, RandomSource};
pub use serial::{
    SERIAL_WIDTH, SerialError, SerialRange, parse_serial, parse_serial_ranges, serial,
};

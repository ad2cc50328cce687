//! Every answer parser on arbitrary bytes: an error, never a panic, a hang or an abort.
#![no_main]
use cardmint::api::answer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = answer::create_customer(body, "card0001");
    let _ = answer::set_transaction(body, "card0001", "5".parse().unwrap());
    let _ = answer::validate_user(body, "card0001");
    let _ = answer::get_user_info(body, "card0001");
    let _ = answer::call_overview(body);
});

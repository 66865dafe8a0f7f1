//! The one JSON check for results and params: whatever it accepts, serde_json parses (and
//! every reader of a result parses what the runner accepted).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if parproc_core::jsontext::check(text).is_ok() {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(text);
        assert!(parsed.is_ok(), "accepted but does not parse: {text:?}");
    }
});

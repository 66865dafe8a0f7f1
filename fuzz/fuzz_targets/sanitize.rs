//! The terminal sanitiser: its output never holds a raw control character or a
//! bidirectional override, and a log line keeps nothing but colour sequences.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parproc_core::text::{sanitize, sanitize_log_line};

fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\u{1b}')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fuzz_target!(|text: &str| {
    let shown = sanitize(text);
    assert!(
        !shown.chars().any(|c| unsafe_char(c) || c == '\u{1b}'),
        "{shown:?}"
    );
    for keep in [false, true] {
        let line = sanitize_log_line(text, keep);
        assert!(!line.chars().any(unsafe_char), "{line:?}");
        // An escape survives only as the start of a colour sequence (`ESC [ digits ; m`).
        for (at, _) in line.match_indices('\u{1b}') {
            let rest = &line[at + 1..];
            let params = rest.strip_prefix('[').expect("an escape starts a CSI");
            let end = params
                .find(|p: char| !(p.is_ascii_digit() || p == ';' || p == ':'))
                .expect("a CSI ends");
            assert!(params[end..].starts_with('m'), "not a colour: {line:?}");
        }
        if !keep {
            assert!(!line.contains('\u{1b}'), "{line:?}");
        }
    }
});

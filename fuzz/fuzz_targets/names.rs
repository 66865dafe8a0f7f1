//! Name patterns: parsing, matching a proto or an rdep, filling, and glob matching never
//! panic, and a filled pattern matches the proto it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parproc_core::spec::name::{Pattern, glob_match, has_placeholder, is_glob};

#[derive(Debug, arbitrary::Arbitrary)]
struct Input<'a> {
    pattern: &'a str,
    name: &'a str,
    sep: &'a str,
    value: &'a str,
}

fuzz_target!(|i: Input<'_>| {
    let sep = if i.sep.is_empty() { "::" } else { i.sep };
    let _ = has_placeholder(i.pattern);
    let _ = is_glob(i.name);
    let _ = glob_match(i.pattern, i.name);
    if let Ok(p) = Pattern::parse_proto(i.pattern, sep) {
        let _ = p.match_proto(i.name, sep);
        let _ = p.match_rdep(i.name, sep);
        let _ = p.literal_prefix();
        let _ = p.fill_partial(|_| Some(i.value.to_owned()));
        // A name made by filling every placeholder with a plain value is matched back.
        let plain = !i.value.is_empty()
            && !i.value.contains(sep)
            && !is_glob(i.value)
            && !has_placeholder(i.value);
        if plain && let Ok(filled) = p.fill(|_| Some(i.value.to_owned())) {
            let _ = p.match_proto(&filled, sep);
        }
    }
    if let Ok(p) = Pattern::parse(i.pattern) {
        let _ = p.matches_every_name();
        let _ = p.match_rdep(i.name, sep);
    }
});

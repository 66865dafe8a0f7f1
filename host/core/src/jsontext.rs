//! The one check of JSON text that crosses the guest boundary: a proc's result,
//! the module's global params and `--param` values. It bounds nesting with the
//! same limit everywhere, below `serde_json`'s own recursion limit (128), so
//! every reader after it — the results view, `--results`, the JSON report, the
//! state store — parses what the runner accepted into the same value.

use thiserror::Error;

/// The deepest nesting of arrays and objects a JSON text may have.
pub const MAX_DEPTH: usize = 100;

/// Why a JSON text was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonError {
    /// It does not parse.
    #[error("not valid JSON: {0}")]
    Syntax(String),
    /// It nests deeper than [`MAX_DEPTH`].
    #[error("nested {0} levels deep, over the limit of {MAX_DEPTH}")]
    TooDeep(usize),
}

/// Check that `text` is one JSON document nested at most [`MAX_DEPTH`] deep.
/// Linear in the text and iterative (a hostile document cannot exhaust the
/// stack); depth is checked first, so a deep document is never handed to a
/// recursive parser.
pub fn check(text: &str) -> Result<(), JsonError> {
    let deepest = depth(text.as_bytes());
    if deepest > MAX_DEPTH {
        return Err(JsonError::TooDeep(deepest));
    }
    // Every value visited as a reader sees it (numbers too: one past f64's
    // range, `1e999`, does not parse into a value), with nothing kept.
    serde_json::from_str::<Checked>(text)
        .map(|_| ())
        .map_err(|e| JsonError::Syntax(e.to_string()))
}

/// A JSON value parsed the way [`serde_json::Value`] parses it, kept as
/// nothing (no tree is built).
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Checked)
    }
}

impl<'de> serde::de::Visitor<'de> for Checked {
    type Value = Checked;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Checked, A::Error> {
        while a.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Checked, A::Error> {
        while a.next_entry::<serde::de::IgnoredAny, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

/// The deepest nesting of `[`/`{` outside strings (not a validation: unbalanced
/// or malformed text is left to the parser).
fn depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(n: usize) -> String {
        format!("{}{}", "[".repeat(n), "]".repeat(n))
    }

    #[test]
    fn accepts_up_to_the_limit_and_every_reader_parses_it() {
        assert_eq!(check(r#"{"a": [1, {"b": "[[[[\"]"}]}"#), Ok(()));
        let deepest = nested(MAX_DEPTH);
        assert_eq!(check(&deepest), Ok(()));
        // What the reports and the results view do with an accepted result.
        assert!(serde_json::from_str::<serde_json::Value>(&deepest).is_ok());
    }

    #[test]
    fn numbers_past_f64_are_refused_as_readers_refuse_them() {
        // Found by the `json` fuzz target: accepted, then no reader could parse it.
        for text in ["14e994990", "1e999", "-1e999", "[1, {\"a\": 1e400}]"] {
            assert!(check(text).is_err(), "{text}");
            assert!(
                serde_json::from_str::<serde_json::Value>(text).is_err(),
                "{text}"
            );
        }
        for text in ["1.5e308", "123456789012345678901234567890", "-0", "1e-999"] {
            assert_eq!(check(text), Ok(()), "{text}");
            assert!(
                serde_json::from_str::<serde_json::Value>(text).is_ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_deeper_documents_and_bad_syntax() {
        assert_eq!(
            check(&nested(MAX_DEPTH + 1)),
            Err(JsonError::TooDeep(MAX_DEPTH + 1))
        );
        assert_eq!(
            check(&nested(100_000)).unwrap_err().to_string(),
            "nested 100000 levels deep, over the limit of 100"
        );
        // Brackets inside strings do not count, escaped quotes do not end them.
        assert_eq!(
            check(&format!("\"{}\\\"{}\"", "[".repeat(500), "{".repeat(500))),
            Ok(())
        );
        assert!(matches!(check("[1,"), Err(JsonError::Syntax(_))));
        assert!(matches!(check("1 2"), Err(JsonError::Syntax(_))));
    }
}

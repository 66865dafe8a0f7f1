//! The JUnit XML report (`--junit FILE.xml`), in the shape Jenkins, GitLab,
//! GitHub Actions reporters and the like read: one `<testsuite>` per run (named
//! after the module) and one `<testcase>` per scheduled proc.
//!
//! | proc state | testcase |
//! |---|---|
//! | SUCCEEDED | passed; its log in `<system-out>` |
//! | FAILED | `<failure message="reason" type="kind">` with the log's snippet (§22), its log in `<system-out>` |
//! | FAILED_DEP | `<skipped message="canceled due to failure of &quot;x&quot;">`: it never ran, and its cause is a failure of its own |
//! | SKIPPED | `<skipped message="skipped">`, or `<skipped message="no change">` when it said nothing changed |
//! | CANCELLED | `<skipped message="…">` (an interrupted run) |
//!
//! Text that XML 1.0 cannot carry (control characters other than tab, newline
//! and carriage return) is written escaped as `\u{1b}`.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::ProcRecord;
use super::clock::rfc3339;
use super::json::{RunInfo, kind_id, scheduled};
use super::snippet::Chunk;
use crate::outcome::{FailureKind, ProcState};

/// Escape text for XML element content or attribute values (quotes included).
pub fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' if attribute => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if allowed_in_xml(c) => out.push(c),
            c => out.extend(c.escape_unicode()),
        }
    }
    out
}

fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn seconds(d: Option<std::time::Duration>) -> String {
    format!("{:.3}", d.map_or(0.0, |d| d.as_secs_f64()))
}

/// The report as XML text. `chunks` gives each failed proc's snippet and
/// `texts` each proc's log text.
pub fn junit(
    info: &RunInfo<'_>,
    records: &[ProcRecord],
    chunks: &HashMap<String, Vec<Chunk>>,
    texts: &HashMap<String, String>,
) -> String {
    let suite = info
        .module
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "parproc".into());
    let shown: Vec<&ProcRecord> = scheduled(records).collect();
    let failures = shown
        .iter()
        .filter(|r| r.state == ProcState::Failed)
        .count();
    let skipped = shown
        .iter()
        .filter(|r| {
            matches!(
                r.state,
                ProcState::FailedDep
                    | ProcState::Skipped
                    | ProcState::Cancelled
                    | ProcState::UpToDate
            )
        })
        .count();
    let errors = shown
        .iter()
        .filter(|r| matches!(r.state, ProcState::Wanted | ProcState::Running))
        .count();
    let time = seconds(Some(info.elapsed));
    let stamp = rfc3339(info.started);
    // JUnit's XSD wants a timestamp without a zone.
    let stamp = stamp.get(..19).unwrap_or(&stamp);
    let suite = escape(&suite, true);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"parproc\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time}\">",
        shown.len()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time}\" timestamp=\"{stamp}\">",
        shown.len()
    );
    for r in shown {
        let _ = write!(
            x,
            "    <testcase name=\"{}\" classname=\"{suite}\" time=\"{}\"",
            escape(&r.name, true),
            seconds(r.duration)
        );
        let reason = r
            .failure
            .as_ref()
            .map(|f| f.to_string())
            .unwrap_or_default();
        let mut body = String::new();
        match r.state {
            ProcState::Failed => {
                let kind = r.failure.as_ref().map_or("failed", |f| kind_id(f.kind));
                let mut text = reason.clone();
                if let Some(p) = info.logs.get(&r.name) {
                    let _ = write!(text, "\nlog: {}", p.display());
                }
                for c in chunks.get(&r.name).into_iter().flatten() {
                    let _ = write!(text, "\n--- lines {}-{} ---\n{}", c.first, c.last, c.text);
                }
                let _ = writeln!(
                    body,
                    "      <failure message=\"{}\" type=\"{kind}\">{}</failure>",
                    escape(&reason, true),
                    escape(&text, false)
                );
            }
            ProcState::FailedDep | ProcState::Cancelled => {
                let _ = writeln!(
                    body,
                    "      <skipped message=\"{}\"/>",
                    escape(&reason, true)
                );
            }
            ProcState::Skipped => match r.failure.as_ref().map(|f| f.kind) {
                Some(FailureKind::NoChange) => {
                    body.push_str("      <skipped message=\"no change\"/>\n");
                }
                _ => body.push_str("      <skipped message=\"skipped\"/>\n"),
            },
            ProcState::UpToDate => body.push_str("      <skipped message=\"up-to-date\"/>\n"),
            ProcState::Wanted | ProcState::Running => {
                let _ = writeln!(
                    body,
                    "      <error message=\"did not finish ({})\" type=\"not_finished\"/>",
                    r.state.name()
                );
            }
            _ => {}
        }
        if let Some(text) = texts.get(&r.name) {
            let _ = writeln!(
                body,
                "      <system-out>{}</system-out>",
                escape(text, false)
            );
        }
        if body.is_empty() {
            x.push_str("/>\n");
        } else {
            x.push_str(">\n");
            x.push_str(&body);
            x.push_str("    </testcase>\n");
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_what_xml_cannot_carry() {
        assert_eq!(escape("a<b>&\"c'", false), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("l1\nl2\u{1b}[2J", false), "l1\nl2\\u{1b}[2J");
        assert_eq!(escape("l1\nl2\t", true), "l1&#10;l2&#9;");
        assert_eq!(escape("\u{0}\u{fffe}", false), "\\u{0}\\u{fffe}");
    }
}

//! Which lines of a proc's log the terminal shows: parproc's snippet extraction
//! as parproc does it, pure and line-exact; the algorithm below is the reference.
//!
//! ## Algorithm
//!
//! Lines are `text.split('\n')`, numbered from 1 (a trailing newline yields a
//! final empty line that counts).
//!
//! 1. The active ignore rules are the module's `log_ignore` rules, plus its
//!    `log_ignore_if_succeeded` rules when the proc succeeded. A line is ignored
//!    when any rule's regular expression is found anywhere in it.
//! 2. A failed proc with `--full-log-on-failure` shows one chunk of all its
//!    non-ignored lines (or the whole text when those are blank).
//! 3. A failed proc whose log holds a shell-command failure block (`RAN:` …
//!    `STDOUT:` … `STDERR:`, optionally followed by `STDERR_FULL:`) shows that
//!    block alone, filtered by the ignore rules, when it is not blank.
//! 4. Otherwise every non-ignored line that holds one of the keywords
//!    `exception`, `error`, `warning`, `notice`, `deprecated`, `deprecation` as
//!    a whole word (any case) is shown with two lines of context either side;
//!    overlapping and adjacent ranges merge, and each range becomes a chunk of
//!    its non-ignored lines.
//! 5. A failed proc with no such line shows its last 16 non-ignored lines (the
//!    last 16 lines when every line is ignored); a proc that did not fail shows
//!    nothing.
//!
//! One deliberate difference from parproc: the keyword scan looks at a line with
//! its ANSI escape sequences removed, so a coloured `error:` (as compilers print
//! it) still counts as the whole word `error`.
//!
//! Rules only affect what is shown; they never change a proc's state.

use std::sync::LazyLock;

use regex::Regex;

use crate::spec::LogIgnore;

/// Lines of context shown either side of an interesting line.
pub const CONTEXT: usize = 2;
/// Lines shown from the end of a failed proc's log when no line is interesting.
pub const TAIL: usize = 16;
/// The largest compiled size accepted for one guest rule (regex size limit).
const RULE_SIZE_LIMIT: usize = 1 << 20;

/// One shown part of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The shown lines joined with `\n`.
    pub text: String,
    /// The first line number covered (1-based).
    pub first: usize,
    /// The last line number covered (1-based, inclusive).
    pub last: usize,
}

impl Chunk {
    /// The chunk's lines.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.text.split('\n')
    }
}

/// A proc's compiled log-ignore rules.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    always: Vec<Regex>,
    if_succeeded: Vec<Regex>,
}

impl IgnoreRules {
    /// Compile a module's rules. A rule that is not a valid regular expression
    /// (or is too large) is matched as literal text instead, with a warning in
    /// the host's diagnostics; bad guest input never fails the run.
    pub fn new(rules: &[LogIgnore]) -> Self {
        let mut out = IgnoreRules::default();
        for rule in rules {
            let (pattern, list) = match rule {
                LogIgnore::Always(p) => (p, &mut out.always),
                LogIgnore::IfSucceeded(p) => (p, &mut out.if_succeeded),
            };
            list.push(compile_rule(pattern));
        }
        out
    }

    /// True when no rule is set.
    pub fn is_empty(&self) -> bool {
        self.always.is_empty() && self.if_succeeded.is_empty()
    }

    fn active(&self, succeeded: bool) -> Vec<&Regex> {
        let mut active: Vec<&Regex> = self.always.iter().collect();
        if succeeded {
            active.extend(self.if_succeeded.iter());
        }
        active
    }
}

/// A log-ignore rule compiled with the limits the snippet uses; a module whose
/// rule does not compile is refused at load with this error.
pub fn check_rule(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(RULE_SIZE_LIMIT)
        .build()
}

fn compile_rule(pattern: &str) -> Regex {
    match check_rule(pattern) {
        Ok(re) => re,
        Err(e) => {
            tracing::warn!(
                rule = %pattern,
                error = %e,
                "log-ignore rule `{pattern}` is not a valid regular expression; matching it as text"
            );
            // An escaped literal always compiles (it is linear in its length).
            Regex::new(&regex::escape(pattern)).unwrap_or_else(|_| never_matches())
        }
    }
}

fn never_matches() -> Regex {
    static NEVER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[^\s\S]").expect("a valid constant regex"));
    NEVER.clone()
}

/// What to extract for one proc.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extract {
    /// The proc is in a failure state.
    pub failed: bool,
    /// The proc is in a success state (activates `log_ignore_if_succeeded`).
    pub succeeded: bool,
    /// `--full-log-on-failure`.
    pub full_log: bool,
}

/// The chunks of `text` to show (see the module docs).
pub fn extract(text: &str, how: Extract, rules: &IgnoreRules) -> Vec<Chunk> {
    let active = rules.active(how.succeeded);
    let ignored = |line: &str| active.iter().any(|re| re.is_match(line));
    let lines: Vec<&str> = text.split('\n').collect();
    let n = lines.len();
    let keep: Vec<bool> = lines.iter().map(|l| !ignored(l)).collect();

    if how.failed && how.full_log {
        let kept = join_kept(&lines, &keep, 0..n);
        let text = if kept.trim().is_empty() {
            text.to_owned()
        } else {
            kept
        };
        return vec![Chunk {
            text,
            first: 1,
            last: n,
        }];
    }

    if how.failed
        && let Some(block) = shell_block(text)
    {
        let filtered: Vec<&str> = block.split('\n').filter(|l| !ignored(l)).collect();
        let filtered = filtered.join("\n");
        if !filtered.trim().is_empty() {
            return vec![Chunk {
                text: filtered,
                first: 1,
                last: n,
            }];
        }
    }

    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if keep[i] && is_interesting(line) {
            let lo = i.saturating_sub(CONTEXT);
            let hi = (i + CONTEXT).min(n - 1);
            match ranges.last_mut() {
                // Ranges come in order; merge when overlapping or adjacent.
                Some(last) if lo <= last.1 + 1 => last.1 = last.1.max(hi),
                _ => ranges.push((lo, hi)),
            }
        }
    }
    if !ranges.is_empty() {
        return ranges
            .into_iter()
            .filter(|&(lo, hi)| keep[lo..=hi].iter().any(|k| *k))
            .map(|(lo, hi)| Chunk {
                text: join_kept(&lines, &keep, lo..hi + 1),
                first: lo + 1,
                last: hi + 1,
            })
            .collect();
    }

    if !how.failed {
        return Vec::new();
    }
    let kept: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
    let tail: Vec<usize> = if kept.is_empty() {
        (n.saturating_sub(TAIL)..n).collect()
    } else {
        kept[kept.len().saturating_sub(TAIL)..].to_vec()
    };
    let (Some(&first), Some(&last)) = (tail.first(), tail.last()) else {
        return Vec::new();
    };
    vec![Chunk {
        text: tail
            .iter()
            .map(|&i| lines[i])
            .collect::<Vec<_>>()
            .join("\n"),
        first: first + 1,
        last: last + 1,
    }]
}

fn join_kept(lines: &[&str], keep: &[bool], range: std::ops::Range<usize>) -> String {
    range
        .filter(|&i| keep[i])
        .map(|i| lines[i])
        .collect::<Vec<_>>()
        .join("\n")
}

/// The shell-command failure block of a log, if it has one: two spaces and the
/// text from the last `RAN:` through `STDERR:`, followed by either the rest
/// (`sh`) or everything after `STDERR_FULL:` (`sh-full`).
pub fn shell_block(text: &str) -> Option<String> {
    static SH_FULL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?s)^.*(RAN:.*STDOUT:.*STDERR:).*STDERR_FULL:(.*)$")
            .expect("a valid constant regex")
    });
    static SH: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?s)^.*(RAN:.*STDOUT:.*STDERR:.*)$").expect("a valid constant regex")
    });
    if let Some(c) = SH_FULL.captures(text) {
        return Some(format!("  {}{}", &c[1], &c[2]));
    }
    SH.captures(text).map(|c| format!("  {}", &c[1]))
}

/// True when `line` holds a keyword as a whole word, in any case (ANSI escape
/// sequences are ignored).
pub fn is_interesting(line: &str) -> bool {
    static KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:exception|error|warning|notice|deprecated|deprecation)\b")
            .expect("a valid constant regex")
    });
    if line.contains('\u{1b}') {
        KEYWORD.is_match(&strip_ansi(line))
    } else {
        KEYWORD.is_match(line)
    }
}

/// `line` without ANSI escape sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL/ST`,
/// and two-character escapes).
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                // Parameters and intermediates, then one final byte in @..~.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The paths named by parproc's output-verification messages
/// (`outputs not refreshed: a, b` or `outputs older than max_age: c`), for
/// showing each on its own line; empty for any other message.
pub fn output_paths(message: &str) -> Vec<String> {
    for prefix in ["outputs not refreshed:", "outputs older than max_age:"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return rest
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(chunks: &[Chunk]) -> String {
        chunks
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    const FAILED: Extract = Extract {
        failed: true,
        succeeded: false,
        full_log: false,
    };
    const SUCCEEDED: Extract = Extract {
        failed: false,
        succeeded: true,
        full_log: false,
    };
    const NEITHER: Extract = Extract {
        failed: false,
        succeeded: false,
        full_log: false,
    };

    fn always(p: &str) -> IgnoreRules {
        IgnoreRules::new(&[LogIgnore::Always(p.into())])
    }

    const SH_TEXT: &str = "\n  foooooo\n  RAN: /bin/bash -c pip3 install flycheck\n\n  STDOUT:\n  def\n  STDERR:\n  abc\n";

    #[test]
    fn s_logx_01_shell_command_failure_block() {
        let c = extract(SH_TEXT, FAILED, &IgnoreRules::default());
        assert_eq!(c.len(), 1);
        assert_eq!(
            out(&c),
            "  RAN: /bin/bash -c pip3 install flycheck\n\n  STDOUT:\n  def\n  STDERR:\n  abc\n"
        );
    }

    #[test]
    fn s_logx_02_shell_command_failure_with_full_stderr() {
        let text = format!("{SH_TEXT}  STDERR_FULL:\n  fooo\n");
        let c = extract(&text, FAILED, &IgnoreRules::default());
        assert_eq!(
            out(&c),
            "  RAN: /bin/bash -c pip3 install flycheck\n\n  STDOUT:\n  def\n  STDERR:\n  fooo\n"
        );
    }

    #[test]
    fn s_logx_03_full_log_on_failure() {
        let text = "line 1\nline 2 warning\nline 3\nline 4";
        let how = Extract {
            full_log: true,
            ..FAILED
        };
        let c = extract(text, how, &IgnoreRules::default());
        assert_eq!(c.len(), 1);
        assert_eq!(out(&c), text);
        assert_eq!((c[0].first, c[0].last), (1, 4));
        // Ignored lines are left out; when nothing is left, the raw text shows.
        let c = extract(text, how, &always("line [24]"));
        assert_eq!(out(&c), "line 1\nline 3");
        let c = extract(text, how, &always("line"));
        assert_eq!(out(&c), text);
    }

    #[test]
    fn s_logx_04_keywords_inside_identifiers_do_not_count() {
        let text = "line 1\nsome_var_with_warning = True\nline 3\nline 4";
        assert!(extract(text, NEITHER, &IgnoreRules::default()).is_empty());
        for word in [
            "errors",
            "warnings",
            "_error",
            "error_code",
            "noticed",
            "Exceptional",
        ] {
            assert!(!is_interesting(word), "{word}");
        }
    }

    #[test]
    fn s_logx_05_stand_alone_keywords_count() {
        for l in [
            "+warning",
            "warning",
            "warning: something bad",
            "something bad: warning",
            "ERROR here",
            "a Deprecation notice",
            "\u{1b}[1m\u{1b}[31merror\u{1b}[0m: coloured",
        ] {
            let text = format!("line 1\n{l}\nline 3");
            let c = extract(&text, NEITHER, &IgnoreRules::default());
            assert!(!c.is_empty(), "{l}");
            assert!(out(&c).contains(l), "{l}");
        }
    }

    #[test]
    fn s_logx_06_ignore_always_removes_lines() {
        let text = "line 1\nwarning: benign deprecation warning\nline 3\nerror: real issue";
        let c = extract(text, SUCCEEDED, &always("benign deprecation warning"));
        let o = out(&c);
        assert!(!o.contains("benign deprecation warning"), "{o}");
        assert!(o.contains("real issue"), "{o}");
    }

    #[test]
    fn s_logx_07_ignore_if_succeeded_only_on_success() {
        let text = "line 1\nwarning: flaky but acceptable\nline 3";
        let rules = IgnoreRules::new(&[LogIgnore::IfSucceeded("flaky but acceptable".into())]);
        assert!(extract(text, SUCCEEDED, &rules).is_empty());
        let c = extract(text, FAILED, &rules);
        assert!(out(&c).contains("flaky but acceptable"));
    }

    #[test]
    fn s_logx_08_ignore_rules_apply_to_parser_output() {
        let c = extract(SH_TEXT, FAILED, &always(r"^\s*STDOUT:$"));
        let o = out(&c);
        assert!(!o.contains("STDOUT:"), "{o}");
        assert!(o.contains("STDERR:"), "{o}");
    }

    #[test]
    fn s_logx_09_10_output_paths() {
        assert_eq!(
            output_paths("outputs not refreshed: /tmp/a.txt, /tmp/b.txt"),
            ["/tmp/a.txt", "/tmp/b.txt"]
        );
        assert_eq!(
            output_paths("outputs older than max_age: /tmp/c.txt"),
            ["/tmp/c.txt"]
        );
        assert!(output_paths("Failure").is_empty());
    }

    #[test]
    fn context_ranges_merge_when_overlapping_or_adjacent() {
        // Lines 1..=20; keywords on 3, 8 (ranges 1-5 and 6-10: adjacent → merge)
        // and 16 (14-18: separate).
        let text: Vec<String> = (1..=20)
            .map(|i| match i {
                3 | 8 | 16 => format!("{i} error"),
                _ => format!("{i}"),
            })
            .collect();
        let c = extract(&text.join("\n"), NEITHER, &IgnoreRules::default());
        assert_eq!(
            c.iter().map(|c| (c.first, c.last)).collect::<Vec<_>>(),
            [(1, 10), (14, 18)]
        );
        assert_eq!(c[1].text, "14\n15\n16 error\n17\n18");
        // Ignored lines inside a range are dropped from its text, not its bounds.
        let c = extract(&text.join("\n"), NEITHER, &always("^1[57]$"));
        assert_eq!(c[1].text, "14\n16 error\n18");
        assert_eq!((c[1].first, c[1].last), (14, 18));
    }

    #[test]
    fn a_keyword_on_an_ignored_line_does_not_count() {
        let text = "a\nerror: noise\nb";
        assert!(extract(text, NEITHER, &always("noise")).is_empty());
    }

    #[test]
    fn a_failure_without_keywords_shows_the_last_16_lines() {
        let text: String = (1..=100).map(|i| format!("step {i}\n")).collect();
        let c = extract(&text, FAILED, &IgnoreRules::default());
        assert_eq!(c.len(), 1);
        // 101 lines (the trailing newline makes an empty last one): 86..=101.
        assert_eq!((c[0].first, c[0].last), (86, 101));
        assert!(c[0].text.starts_with("step 86\n"));
        assert!(c[0].text.ends_with("step 100\n"));
        // Ignored lines are skipped when counting the 16.
        let c = extract(&text, FAILED, &always("^step [0-9]*[02468]$"));
        assert_eq!(c[0].text.lines().next(), Some("step 71"));
        // Every line ignored: the last 16 raw lines.
        let c = extract(&text, FAILED, &always(""));
        assert_eq!((c[0].first, c[0].last), (86, 101));
        // A proc that did not fail shows nothing.
        assert!(extract(&text, SUCCEEDED, &IgnoreRules::default()).is_empty());
    }

    #[test]
    fn an_invalid_rule_matches_as_text_and_never_panics() {
        let rules = always("([unclosed");
        let c = extract("x ([unclosed warning\nerror y", NEITHER, &rules);
        assert_eq!(out(&c), "error y");
        assert!(extract("", FAILED, &rules).len() == 1);
    }

    #[test]
    fn strips_ansi_sequences() {
        assert_eq!(strip_ansi("\u{1b}[1;31mred\u{1b}[0m"), "red");
        assert_eq!(
            strip_ansi("\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{7}"),
            "link"
        );
        assert_eq!(strip_ansi("plain"), "plain");
        assert_eq!(strip_ansi("trailing \u{1b}"), "trailing ");
    }
}

//! Name patterns: literal runs and `[placeholder]`s, as in `build::[env]`.
//!
//! parproc uses one name syntax for three jobs, with two different matching rules
//! (docs/planner.md §4):
//!
//! 1. **Proto names** ([`Pattern::parse_proto`], [`Pattern::match_proto`], docs/planner.md §4.2). After every
//!    placeholder, the next literal must be exactly the separator, or there must be no literal
//!    at all. A placeholder followed by a literal matches one or more characters and never
//!    crosses a separator. A placeholder with no literal after it matches anything, including
//!    the empty string and the separator: `foo::[x]::[y]` matches `foo::a::b::c` with
//!    `y = "b::c"`.
//! 2. **Rdep patterns** ([`Pattern::parse`], [`Pattern::match_rdep`], docs/planner.md §4.4). There is no
//!    separator rule. The positionally last placeholder matches anything, and every other one
//!    matches one or more characters without the separator. Literals match literally, including
//!    after the last placeholder.
//! 3. **Filling** ([`Pattern::fill`], [`Pattern::fill_partial`]): dep patterns, generated proc
//!    names and conditional-rdep targets.
//!
//! It also provides the shell-style globs used in argument values ([`is_glob`],
//! [`glob_match`], docs/planner.md §7.3).
//!
//! ## Matching
//!
//! parproc compiles a pattern into an anchored Python regex: `(?P<x>(?:(?!SEP).)+)` for a
//! *bounded* placeholder and `(?P<x>.*)` for an *open* one. We reproduce that with a small
//! backtracking matcher that works on char boundaries. Placeholders are tried longest first, so
//! the captures are the ones Python's greedy regex returns. A bounded placeholder must not
//! *start* an occurrence of the separator at any character it covers (that is the regex's
//! look-ahead), so under `::` the pattern `A::[x]::[y]` on `A::a:::b` gives `x = "a"`,
//! `y = ":b"`.
//!
//! The matcher cannot panic or overflow the stack, because it is iterative. It allocates
//! nothing until it builds the captures of a successful match, as long as a pattern has at
//! most 16 placeholder occurrences and needs no heavy backtracking. For proto patterns and
//! ordinary rdep patterns, its time is linear in the length of the name. Real backtracking
//! only happens when placeholders are adjacent, or are separated by a literal other than the
//! separator, and only lenient patterns allow that. If backtracking runs long, the matcher
//! starts remembering dead states. That bounds the work by (placeholders × name length²),
//! where Python's regex would take exponential time.
//!
//! ## Deliberate differences from parproc 0.7.1
//!
//! * Placeholder names must be ASCII identifiers (letter or `_`, then letters, digits, `_`).
//!   Bad or repeated names in a proto name are a [`NameError`], where parproc raises a raw regex
//!   error. Python would also accept non-ASCII identifiers such as `[é]`; we don't.
//! * An unclosed `[` and an empty `[]` are errors. parproc treats both as literal text.
//! * Lenient patterns may repeat a placeholder (`foo::[x]::[x]`). Every occurrence is filled
//!   with the same value, and when matching, every occurrence must capture the same text.
//!   parproc's rdep *match* ignores the repetition, and its *extract* raises a regex error.
//! * Every character is ordinary. Python's `.` does not match `\n`, and its `$` also matches
//!   before a final `\n`. Here the whole name must match, newlines included.
//! * Filling substitutes in one pass. parproc's repeated `str.replace` would also substitute
//!   into a value that itself contains `[y]`.

use std::collections::HashMap;
use std::fmt;

use thiserror::Error;
use wildmatch::WildMatch;

/// Placeholder occurrences whose match state fits on the stack. Longer patterns use one
/// heap buffer per match attempt.
const INLINE_SLOTS: usize = 16;

/// Backtracking steps after which a match attempt starts remembering dead states.
const MEMO_AFTER_STEPS: usize = 4096;

/// The most backtracking steps one match may take when dead states cannot be
/// remembered (a placeholder that repeats, as in `[a]-[b]-[a]`, for which
/// matching is NP-hard in general; or a table past [`MEMO_MAX_BITS`]). Past it
/// the name does not match: a hostile module's pattern cannot stall the
/// planner (found by the `names` fuzz target: one match took 190 s).
const MAX_STEPS_WITHOUT_MEMO: usize = 1 << 16;

/// The largest dead-state table, in bits (16 MiB), that a match attempt will allocate.
const MEMO_MAX_BITS: usize = 1 << 27;

/// Why a name could not be parsed as a pattern, or a pattern could not be filled.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NameError {
    /// A proto name breaks the separator rule of docs/planner.md §4.2 (parproc's text).
    #[error(
        "Pattern \"{pattern}\" must use the configured separator \"{sep}\" between placeholders; found \"{found}\""
    )]
    Separator {
        /// The proto name.
        pattern: String,
        /// The separator in force.
        sep: String,
        /// The literal that follows a placeholder instead of the separator.
        found: String,
    },
    /// [`Pattern::fill`] found no value for a placeholder (parproc's text).
    #[error("Pattern \"{pattern}\" requires argument \"{arg}\" but was not provided")]
    MissingArg {
        /// The pattern being filled.
        pattern: String,
        /// The placeholder without a value.
        arg: String,
    },
    /// The text between `[` and `]` is not an identifier.
    #[error(
        "invalid placeholder \"[{placeholder}]\" in \"{name}\": placeholder names are ASCII letters, digits and _, and do not start with a digit"
    )]
    InvalidPlaceholder {
        /// The name being parsed.
        name: String,
        /// The text between the brackets.
        placeholder: String,
    },
    /// A proto name uses the same placeholder twice.
    #[error("placeholder \"[{placeholder}]\" appears twice in \"{name}\"")]
    DuplicatePlaceholder {
        /// The name being parsed.
        name: String,
        /// The repeated placeholder name.
        placeholder: String,
    },
    /// A `[` has no `]` after it.
    #[error("unclosed \"[\" in \"{name}\"")]
    Unclosed {
        /// The name being parsed.
        name: String,
    },
    /// `[]` with nothing inside.
    #[error("empty placeholder \"[]\" in \"{name}\"")]
    EmptyPlaceholder {
        /// The name being parsed.
        name: String,
    },
}

/// One piece of a parsed name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Part {
    /// Text matched literally and case-sensitively. Never empty, and never next to another
    /// literal.
    Literal(String),
    /// A `[name]` placeholder. Holds the name without the brackets.
    Placeholder(String),
}

/// What the matcher needs to know about one placeholder occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Slot {
    /// Index of this occurrence in `Pattern::parts`.
    part: usize,
    /// Index of its name in `Pattern::placeholders`.
    name: usize,
    /// For a repeated name, the occurrence (index into `Pattern::slots`) that captures first.
    repeat_of: Option<usize>,
    /// Index in `Pattern::parts` of the next literal after this placeholder, skipping
    /// placeholders. `None` makes the placeholder open under the rules of docs/planner.md §4.2.
    next_literal: Option<usize>,
}

/// A parsed name: literal runs and `[placeholder]`s.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    raw: String,
    parts: Vec<Part>,
    /// Distinct placeholder names in order of first appearance.
    placeholders: Vec<String>,
    /// One per placeholder occurrence, in order.
    slots: Vec<Slot>,
    /// Byte length of the literal text before the first placeholder.
    prefix_len: usize,
}

/// Which of parproc's two rule sets a match uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rules {
    /// docs/planner.md §4.2: a placeholder is open iff no literal follows it.
    Proto,
    /// docs/planner.md §4.4: only the positionally last placeholder is open.
    Rdep,
}

/// The span of text one placeholder occurrence has captured so far.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: usize,
    end: usize,
}

impl Pattern {
    /// Parses a proto name with parproc's rules (docs/planner.md §4.1, §4.2).
    ///
    /// A placeholder is `[`, one or more characters other than `]`, then `]`. Its name must be
    /// an identifier (an ASCII letter or `_`, then letters, digits or `_`), and no name may
    /// appear twice. After every placeholder, the next literal (skipping further
    /// placeholders) must be exactly `sep`, or there must be no literal after it. Literal
    /// text before the first placeholder is free: `dep1-[x]`, `k8s.build::[cluster]` and
    /// `q5::[x]::` are fine, but `foo-[x]-[y]` and `x::[a]::tail` are not.
    pub fn parse_proto(name: &str, sep: &str) -> Result<Pattern, NameError> {
        let pattern = Self::build(name, true)?;
        for slot in &pattern.slots {
            if let Some(Part::Literal(found)) = slot.next_literal.map(|i| &pattern.parts[i])
                && found != sep
            {
                return Err(NameError::Separator {
                    pattern: name.to_owned(),
                    sep: sep.to_owned(),
                    found: found.clone(),
                });
            }
        }
        Ok(pattern)
    }

    /// Parses any name leniently: rdep patterns, dep patterns and conditional-rdep targets.
    ///
    /// There is no separator rule, and a placeholder may appear more than once. Every
    /// occurrence is then filled with the same value, and when matching, every occurrence
    /// must capture the same text. Placeholder syntax and names are checked as in
    /// [`Pattern::parse_proto`]. A name without `[` parses to a pattern without placeholders.
    pub fn parse(name: &str) -> Result<Pattern, NameError> {
        Self::build(name, false)
    }

    /// Whether the pattern is a single placeholder (`[x]`): as an rdep it matches every
    /// name.
    pub fn matches_every_name(&self) -> bool {
        matches!(self.parts.as_slice(), [Part::Placeholder(_)])
    }

    /// The text the pattern was parsed from.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The literal runs and placeholders, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The distinct placeholder names, in order of first appearance.
    pub fn placeholders(&self) -> &[String] {
        &self.placeholders
    }

    /// Whether the pattern has at least one placeholder.
    pub fn has_placeholders(&self) -> bool {
        !self.slots.is_empty()
    }

    /// The literal text before the first placeholder, or the whole name if there is none.
    /// Callers can use it to index patterns: a name can only match if it starts with it.
    pub fn literal_prefix(&self) -> &str {
        &self.raw[..self.prefix_len]
    }

    /// Matches a name against a proto pattern (docs/planner.md §4.2) and returns the captured values as
    /// `(placeholder, value)` pairs in placeholder order, or `None` if the name doesn't match.
    ///
    /// A placeholder followed by a literal matches one or more characters and never starts
    /// `sep` inside its value. A placeholder with no literal after it (normally the last one)
    /// matches anything, including the empty string and `sep`. A pattern without
    /// placeholders matches only itself and captures nothing. Use `sep` as it was when the
    /// proto was declared. parproc bakes it in at that point.
    pub fn match_proto(&self, name: &str, sep: &str) -> Option<Vec<(String, String)>> {
        self.matches(name, sep, Rules::Proto)
    }

    /// Matches a name against an rdep, `WhenScheduled` or `WhenTargetScheduled` pattern (docs/planner.md §4.4).
    ///
    /// The positionally last placeholder matches any string, including the empty string and
    /// `sep`. Every other placeholder matches one or more characters without `sep`. Literals
    /// anywhere are matched literally and case-sensitively. A pattern without placeholders
    /// matches only the same string and captures nothing. Use the separator in force now.
    pub fn match_rdep(&self, name: &str, sep: &str) -> Option<Vec<(String, String)>> {
        self.matches(name, sep, Rules::Rdep)
    }

    /// Replaces every placeholder with its value from `lookup`, which is asked once per
    /// distinct name in placeholder order.
    ///
    /// The first name without a value gives [`NameError::MissingArg`]:
    /// `Pattern "<p>" requires argument "<k>" but was not provided`.
    pub fn fill(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String, NameError> {
        let mut values = Vec::with_capacity(self.placeholders.len());
        for name in &self.placeholders {
            match lookup(name) {
                Some(value) => values.push(value),
                None => {
                    return Err(NameError::MissingArg {
                        pattern: self.raw.clone(),
                        arg: name.clone(),
                    });
                }
            }
        }
        Ok(self.assemble(|index| Some(values[index].as_str())))
    }

    /// Replaces the placeholders `lookup` has a value for and keeps the others as `[name]`.
    /// Use it for partially fixed patterns such as `foo::[a]::2`.
    pub fn fill_partial(&self, lookup: impl Fn(&str) -> Option<String>) -> String {
        let values: Vec<Option<String>> = self.placeholders.iter().map(|n| lookup(n)).collect();
        self.assemble(|index| values[index].as_deref())
    }

    /// Splits `name` into parts and checks the placeholder syntax and names.
    fn build(name: &str, unique: bool) -> Result<Pattern, NameError> {
        let mut parts = Vec::new();
        let mut placeholders: Vec<String> = Vec::new();
        let mut slots: Vec<Slot> = Vec::new();
        // Name -> (index in `placeholders`, first occurrence in `slots`).
        let mut seen: HashMap<&str, (usize, usize)> = HashMap::new();
        let mut literal_start = 0;
        let mut prefix_len = name.len();
        // `[` and `]` are ASCII, so every index computed here is a char boundary.
        while let Some(offset) = name[literal_start..].find('[') {
            let open = literal_start + offset;
            let Some(length) = name[open + 1..].find(']') else {
                return Err(NameError::Unclosed {
                    name: name.to_owned(),
                });
            };
            let ident = &name[open + 1..open + 1 + length];
            if ident.is_empty() {
                return Err(NameError::EmptyPlaceholder {
                    name: name.to_owned(),
                });
            }
            if !is_identifier(ident) {
                return Err(NameError::InvalidPlaceholder {
                    name: name.to_owned(),
                    placeholder: ident.to_owned(),
                });
            }
            if open > literal_start {
                parts.push(Part::Literal(name[literal_start..open].to_owned()));
            }
            if slots.is_empty() {
                prefix_len = open;
            }
            let (name_index, repeat_of) = match seen.get(ident) {
                Some(_) if unique => {
                    return Err(NameError::DuplicatePlaceholder {
                        name: name.to_owned(),
                        placeholder: ident.to_owned(),
                    });
                }
                Some(&(name_index, first)) => (name_index, Some(first)),
                None => {
                    seen.insert(ident, (placeholders.len(), slots.len()));
                    placeholders.push(ident.to_owned());
                    (placeholders.len() - 1, None)
                }
            };
            slots.push(Slot {
                part: parts.len(),
                name: name_index,
                repeat_of,
                next_literal: None,
            });
            parts.push(Part::Placeholder(ident.to_owned()));
            literal_start = open + length + 2;
        }
        if literal_start < name.len() {
            parts.push(Part::Literal(name[literal_start..].to_owned()));
        }
        // Parts alternate, except that placeholders may be adjacent, so walking backwards
        // finds each placeholder's next literal in one pass.
        let mut next_literal = None;
        let mut slot_iter = slots.iter_mut().rev();
        for (index, part) in parts.iter().enumerate().rev() {
            match part {
                Part::Literal(_) => next_literal = Some(index),
                Part::Placeholder(_) => {
                    if let Some(slot) = slot_iter.next() {
                        slot.next_literal = next_literal;
                    }
                }
            }
        }
        Ok(Pattern {
            raw: name.to_owned(),
            parts,
            placeholders,
            slots,
            prefix_len,
        })
    }

    /// Writes the pattern out, with `value(name index)` for each placeholder, or `[name]`
    /// where it is `None`.
    fn assemble<'v>(&self, value: impl Fn(usize) -> Option<&'v str>) -> String {
        let mut out = String::with_capacity(self.raw.len());
        let mut slots = self.slots.iter().peekable();
        for (index, part) in self.parts.iter().enumerate() {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Placeholder(name) => {
                    let slot = slots.next_if(|slot| slot.part == index);
                    match slot.and_then(|slot| value(slot.name)) {
                        Some(v) => out.push_str(v),
                        None => {
                            out.push('[');
                            out.push_str(name);
                            out.push(']');
                        }
                    }
                }
            }
        }
        out
    }

    /// Runs the matcher and, on success, collects the captures.
    fn matches(&self, text: &str, sep: &str, rules: Rules) -> Option<Vec<(String, String)>> {
        self.matches_with(text, sep, rules, MEMO_AFTER_STEPS)
    }

    /// [`Pattern::matches`] with an explicit point at which dead states start to be
    /// remembered, so that tests can exercise both paths.
    fn matches_with(
        &self,
        text: &str,
        sep: &str,
        rules: Rules,
        memo_after: usize,
    ) -> Option<Vec<(String, String)>> {
        if self.slots.is_empty() {
            return (self.raw == text).then(Vec::new);
        }
        if !text.starts_with(self.literal_prefix()) {
            return None;
        }
        let mut inline = [Span::default(); INLINE_SLOTS];
        let mut heap = Vec::new();
        let spans: &mut [Span] = if self.slots.len() <= INLINE_SLOTS {
            &mut inline[..self.slots.len()]
        } else {
            heap.resize(self.slots.len(), Span::default());
            &mut heap
        };
        let search = Search {
            pattern: self,
            text,
            sep,
            rules,
        };
        if !search.run(spans, memo_after) {
            return None;
        }
        Some(
            self.slots
                .iter()
                .zip(spans.iter())
                .filter(|(slot, _)| slot.repeat_of.is_none())
                .map(|(slot, span)| {
                    (
                        self.placeholders[slot.name].clone(),
                        text[span.start..span.end].to_owned(),
                    )
                })
                .collect(),
        )
    }
}

/// One attempt to match a name against a pattern.
struct Search<'a> {
    pattern: &'a Pattern,
    text: &'a str,
    sep: &'a str,
    rules: Rules,
}

impl Search<'_> {
    /// Backtracking search for a full match. On success, `spans` holds the captures.
    ///
    /// Literals are deterministic, so only placeholder occurrences are choice points. Each one
    /// tries its candidate ends from longest to shortest. `depth` is the number of placeholder
    /// occurrences placed so far, which is also the index of the next one in `spans`.
    ///
    /// After `memo_after` backtracking steps, the search starts remembering *dead states*:
    /// placeholder occurrence `k` starting at byte `s`, from where no match was possible.
    /// Unless a name repeats, what happens from such a state on does not depend on the
    /// earlier captures, so it can be skipped the next time. This keeps pathological patterns
    /// such as `[a]-[b]-[c]-[d]-end` polynomial, without allocating in the common case.
    fn run(&self, spans: &mut [Span], memo_after: usize) -> bool {
        let slots = &self.pattern.slots;
        let parts = &self.pattern.parts;
        let can_memo = slots.iter().all(|slot| slot.repeat_of.is_none());
        let mut dead: Option<DeadStates> = None;
        let mut steps = 0usize;
        let mut part = 0;
        let mut pos = 0;
        let mut depth = 0;
        loop {
            // Go forward until the pattern is used up or something fails.
            let advanced = loop {
                match parts.get(part) {
                    None => break pos == self.text.len(),
                    Some(Part::Literal(literal)) => {
                        if !self.text[pos..].starts_with(literal.as_str()) {
                            break false;
                        }
                        pos += literal.len();
                        part += 1;
                    }
                    Some(Part::Placeholder(_)) => {
                        if dead.as_ref().is_some_and(|d| d.contains(depth, pos)) {
                            break false;
                        }
                        match self.candidate_end(depth, pos, None, spans) {
                            Some(end) => {
                                spans[depth] = Span { start: pos, end };
                                depth += 1;
                                pos = end;
                                part += 1;
                            }
                            None => {
                                if let Some(d) = dead.as_mut() {
                                    d.insert(depth, pos);
                                }
                                break false;
                            }
                        }
                    }
                }
            };
            if advanced {
                return true;
            }
            // Backtrack: shorten the innermost placeholder that still has a shorter candidate.
            loop {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
                steps += 1;
                if steps >= memo_after && can_memo && dead.is_none() {
                    dead = DeadStates::new(slots.len(), self.text.len());
                }
                if dead.is_none() && steps > MAX_STEPS_WITHOUT_MEMO {
                    return false;
                }
                let Span { start, end } = spans[depth];
                if let Some(shorter) = self.candidate_end(depth, start, Some(end), spans) {
                    spans[depth].end = shorter;
                    pos = shorter;
                    part = slots[depth].part + 1;
                    depth += 1;
                    break;
                }
                if let Some(d) = dead.as_mut() {
                    d.insert(depth, start);
                }
            }
        }
    }

    /// The largest admissible end for placeholder occurrence `index`, which starts at byte
    /// `start`. When `below` is given, the end must be smaller than `below`.
    ///
    /// An end is admissible if the placeholder may cover `text[start..end]` and the part that
    /// follows can begin there. A literal must follow immediately, and the end of the pattern
    /// needs the end of the text.
    fn candidate_end(
        &self,
        index: usize,
        start: usize,
        below: Option<usize>,
        spans: &[Span],
    ) -> Option<usize> {
        let text = self.text;
        let slot = self.pattern.slots[index];
        let next = self.pattern.parts.get(slot.part + 1);
        let open = match self.rules {
            Rules::Proto => slot.next_literal.is_none(),
            Rules::Rdep => index + 1 == self.pattern.slots.len(),
        };
        let rest = &text[start..];
        // Admissible ends lie in `lowest..=highest`, before looking at what follows.
        let (lowest, highest) = if open {
            (start, text.len())
        } else {
            // One or more characters, none of them starting an occurrence of `sep`. With an
            // empty separator that is impossible, as with parproc's `(?!)`.
            let first = rest.chars().next()?;
            (
                start + first.len_utf8(),
                start + rest.find(self.sep).unwrap_or(rest.len()),
            )
        };
        let follows = |end: usize| match next {
            None => end == text.len(),
            Some(Part::Literal(literal)) => text[end..].starts_with(literal.as_str()),
            Some(Part::Placeholder(_)) => true,
        };
        if let Some(first) = slot.repeat_of {
            // A repeated name has one candidate: the text its first occurrence captured.
            if below.is_some() {
                return None;
            }
            let value = &text[spans[first].start..spans[first].end];
            let end = start + value.len();
            let fits = rest.starts_with(value) && (lowest..=highest).contains(&end);
            return (fits && follows(end)).then_some(end);
        }
        let mut end = match below {
            None => highest,
            Some(below) => previous_boundary(text, below)?,
        };
        if next.is_none() {
            // Last part of the pattern: only the end of the text will do.
            return (end == text.len() && end >= lowest).then_some(end);
        }
        loop {
            if end < lowest {
                return None;
            }
            if follows(end) {
                return Some(end);
            }
            end = previous_boundary(text, end)?;
        }
    }
}

/// A set of `(placeholder occurrence, start byte)` states from which no match is possible.
struct DeadStates {
    bits: Vec<u64>,
    /// Number of possible start positions (`text.len() + 1`).
    width: usize,
}

impl DeadStates {
    /// An empty set, or `None` if it would be larger than [`MEMO_MAX_BITS`].
    fn new(slots: usize, text_len: usize) -> Option<DeadStates> {
        let width = text_len.checked_add(1)?;
        let bits = slots.checked_mul(width).filter(|&b| b <= MEMO_MAX_BITS)?;
        Some(DeadStates {
            bits: vec![0; bits.div_ceil(64)],
            width,
        })
    }

    fn contains(&self, slot: usize, pos: usize) -> bool {
        let bit = slot * self.width + pos;
        self.bits[bit / 64] & (1 << (bit % 64)) != 0
    }

    fn insert(&mut self, slot: usize, pos: usize) {
        let bit = slot * self.width + pos;
        self.bits[bit / 64] |= 1 << (bit % 64);
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The largest char boundary of `text` below `index`, which must itself be a char boundary.
fn previous_boundary(text: &str, index: usize) -> Option<usize> {
    text[..index]
        .chars()
        .next_back()
        .map(|c| index - c.len_utf8())
}

/// An ASCII identifier: a letter or `_`, then letters, digits or `_`.
fn is_identifier(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `name` contains what parproc treats as a placeholder: `[`, one or more
/// characters other than `]`, then `]` (the regex `\[[^\]]+\]`).
///
/// The name inside the brackets is not checked, so `foo[my-x]` counts but `a[]b` and
/// `a[b` don't. Use it for parproc's "Proc name … contains proto pattern placeholders" check.
pub fn has_placeholder(name: &str) -> bool {
    // For each `]`, the `[`s that pair with it are the ones after the previous `]`. One of
    // them gives a non-empty placeholder unless the only one is right before the `]`.
    let mut first_open: Option<usize> = None;
    for (index, byte) in name.bytes().enumerate() {
        match byte {
            b'[' => {
                first_open.get_or_insert(index);
            }
            b']' => {
                if first_open.is_some_and(|open| open + 1 < index) {
                    return true;
                }
                first_open = None;
            }
            _ => {}
        }
    }
    false
}

/// Whether an argument value is a glob: it contains `*` or `?` (docs/planner.md §7.3). `[` is placeholder
/// syntax, not a glob character.
pub fn is_glob(value: &str) -> bool {
    value.contains(['*', '?'])
}

/// Shell-style, case-sensitive glob match of the whole `text`. `*` matches any run of
/// characters (also an empty one), `?` matches exactly one character, and everything else,
/// `[` included, matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    WildMatch::new(pattern).matches(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEP: &str = "::";

    /// Expected captures as `(placeholder, value)` pairs; `None` means "no match".
    type Expected<'a> = Option<Vec<(&'a str, &'a str)>>;
    /// One table row: pattern, name, expected captures.
    type Row<'a> = (&'a str, &'a str, Expected<'a>);
    /// Placeholder values for `lookup`.
    type Values<'a> = &'a [(&'a str, &'a str)];

    /// Captures as owned pairs, for comparisons.
    fn caps(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    fn rdep(pattern: &str, name: &str) -> Option<Vec<(String, String)>> {
        Pattern::parse(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .match_rdep(name, SEP)
    }

    fn proto(pattern: &str, name: &str) -> Option<Vec<(String, String)>> {
        Pattern::parse_proto(pattern, SEP)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .match_proto(name, SEP)
    }

    /// `(pattern, name, expected captures)` rows for `match_rdep` under `::`.
    fn check_rdep_extract(rows: &[Row<'_>]) {
        for (pattern, name, expected) in rows {
            assert_eq!(
                rdep(pattern, name),
                expected.as_deref().and_then(caps),
                "rdep pattern {pattern:?} on {name:?}"
            );
        }
    }

    /// `(pattern, name, matches)` rows for `match_rdep` under `::`.
    fn check_rdep_match(rows: &[(&str, &str, bool)]) {
        for (pattern, name, expected) in rows {
            assert_eq!(
                rdep(pattern, name).is_some(),
                *expected,
                "rdep pattern {pattern:?} on {name:?}"
            );
        }
    }

    /// `(pattern, name, expected captures)` rows for `match_proto` under `::`.
    fn check_proto(rows: &[Row<'_>]) {
        for (pattern, name, expected) in rows {
            assert_eq!(
                proto(pattern, name),
                expected.as_deref().and_then(caps),
                "proto pattern {pattern:?} on {name:?}"
            );
        }
    }

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    // ---- §4.4 rdep matching: S-RPAT-* ----

    #[test]
    fn a_match_that_cannot_remember_dead_states_gives_up_instead_of_stalling() {
        // Repeated placeholders turn memoisation off; without a step budget this takes
        // longer than the age of the machine (the fuzz target found a 190 s case).
        let pattern = Pattern::parse("[a][b][a][b][a][b][a][b][c][d][c][d]x").expect("pattern");
        let name = "y".repeat(400);
        assert_eq!(pattern.match_rdep(&name, "::"), None);
        // An ordinary match with a repeat still works.
        let pattern = Pattern::parse("[a]-[b]-[a]").expect("pattern");
        assert_eq!(
            pattern.match_rdep("x-y-x", "::"),
            caps(&[("a", "x"), ("b", "y")])
        );
    }

    #[test]
    fn s_rpat_01_extract_exact_pattern() {
        check_rdep_extract(&[
            ("B::1::2", "B::1::2", Some(vec![])),
            ("B::1::2", "B::1::3", None),
            ("B::1::2", "B::2::2", None),
        ]);
    }

    #[test]
    fn s_rpat_03_extract_two_placeholders() {
        check_rdep_extract(&[
            (
                "B::[a]::[b]",
                "B::test::2",
                Some(vec![("a", "test"), ("b", "2")]),
            ),
            (
                "B::[a]::[b]",
                "B::foo::42",
                Some(vec![("a", "foo"), ("b", "42")]),
            ),
            ("B::[a]::[b]", "B::test", None),
            ("B::[a]::[b]", "C::test::2", None),
        ]);
    }

    #[test]
    fn s_rpat_05_extract_literal_last() {
        check_rdep_extract(&[
            ("B::[a]::2", "B::test::2", Some(vec![("a", "test")])),
            ("B::[a]::2", "B::foo::2", Some(vec![("a", "foo")])),
            ("B::[a]::2", "B::1::2", Some(vec![("a", "1")])),
            ("B::[a]::2", "B::test::3", None),
            ("B::[a]::2", "B::test", None),
        ]);
    }

    #[test]
    fn s_rpat_06_extract_literal_middle() {
        check_rdep_extract(&[
            (
                "B::[a]::1::[b]",
                "B::test::1::2",
                Some(vec![("a", "test"), ("b", "2")]),
            ),
            (
                "B::[a]::1::[b]",
                "B::foo::1::42",
                Some(vec![("a", "foo"), ("b", "42")]),
            ),
            ("B::[a]::1::[b]", "B::test::2::2", None),
            ("B::[a]::1::[b]", "B::test::1", None),
        ]);
    }

    #[test]
    fn s_rpat_07_real_world_cross_pattern() {
        check_rdep_extract(&[(
            "k8s.build-image::[target]::frontend",
            "k8s.build-image::stage::frontend",
            Some(vec![("target", "stage")]),
        )]);
    }

    #[test]
    fn s_rpat_08_extract_values_with_hyphens() {
        check_rdep_extract(&[
            (
                "B::[a]::[b]",
                "B::my-cluster::2",
                Some(vec![("a", "my-cluster"), ("b", "2")]),
            ),
            (
                "B::[a]::[b]",
                "B::my-cluster::us-east-1",
                Some(vec![("a", "my-cluster"), ("b", "us-east-1")]),
            ),
        ]);
    }

    #[test]
    fn s_rpat_09_extract_several_literals_and_placeholders() {
        check_rdep_extract(&[
            (
                "A::[x]::B::[y]::C",
                "A::test::B::foo::C",
                Some(vec![("x", "test"), ("y", "foo")]),
            ),
            ("A::[x]::B::[y]::C", "A::test::B::foo::D", None),
            ("A::[x]::B::[y]::C", "A::test::C::foo::B", None),
        ]);
    }

    #[test]
    fn s_rpat_10_match_exact() {
        check_rdep_match(&[
            ("B::1::2", "B::1::2", true),
            ("B::1::2", "B::1::3", false),
            ("B::1::2", "B::2::2", false),
        ]);
    }

    #[test]
    fn s_rpat_11_match_single_placeholder() {
        check_rdep_match(&[
            ("B::[a]", "B::test", true),
            ("B::[a]", "B::123", true),
            ("B::[a]", "C::test", false),
            // The last placeholder also takes the separator.
            ("B::[a]", "B::test::extra", true),
        ]);
        check_rdep_extract(&[("B::[a]", "B::test::extra", Some(vec![("a", "test::extra")]))]);
    }

    #[test]
    fn s_rpat_12_match_two_placeholders() {
        check_rdep_match(&[
            ("B::[a]::[b]", "B::test::2", true),
            ("B::[a]::[b]", "B::foo::42", true),
            ("B::[a]::[b]", "B::test", false),
            ("B::[a]::[b]", "C::test::2", false),
        ]);
    }

    #[test]
    fn s_rpat_13_match_literal_first() {
        check_rdep_match(&[
            ("B::1::[b]", "B::1::2", true),
            ("B::1::[b]", "B::1::42", true),
            ("B::1::[b]", "B::2::2", false),
            ("B::1::[b]", "B::something::2", false),
            ("B::1::[b]", "B::1", false),
        ]);
    }

    #[test]
    fn s_rpat_14_match_literal_last() {
        check_rdep_match(&[
            ("B::[a]::2", "B::test::2", true),
            ("B::[a]::2", "B::foo::2", true),
            ("B::[a]::2", "B::1::2", true),
            ("B::[a]::2", "B::test::3", false),
            ("B::[a]::2", "B::test", false),
        ]);
    }

    #[test]
    fn s_rpat_15_match_literal_middle() {
        check_rdep_match(&[
            ("B::[a]::1::[b]", "B::test::1::2", true),
            ("B::[a]::1::[b]", "B::foo::1::42", true),
            ("B::[a]::1::[b]", "B::test::2::2", false),
            ("B::[a]::1::[b]", "B::test::1", false),
        ]);
    }

    #[test]
    fn s_rpat_16_match_several_literals() {
        check_rdep_match(&[
            ("B::1::2::[c]", "B::1::2::test", true),
            ("B::1::2::[c]", "B::1::2::foo", true),
            ("B::1::2::[c]", "B::1::3::test", false),
            ("B::1::2::[c]", "B::2::2::test", false),
            ("B::1::2::[c]", "B::1::2", false),
        ]);
    }

    #[test]
    fn s_rpat_17_match_complex() {
        check_rdep_match(&[
            ("A::[x]::B::[y]::C", "A::test::B::foo::C", true),
            ("A::[x]::B::[y]::C", "A::test::B::foo::D", false),
            ("A::[x]::B::[y]::C", "A::test::C::foo::B", false),
        ]);
    }

    #[test]
    fn s_rpat_18_match_hyphens_and_separator() {
        check_rdep_match(&[
            ("B::[a]::[b]", "B::my-cluster::2", true),
            ("B::[a]::[b]", "B::my-cluster::us-east-1", true),
            ("B::[a]::[b]", "B::something::2", true),
            ("B::[a]::[b]", "B::my-cluster", false),
            ("B::[a]::[b]", "B-my-cluster-2", false),
        ]);
    }

    #[test]
    fn s_rpat_20_match_literals_are_case_sensitive() {
        check_rdep_match(&[
            ("B::[a]::test::2", "B::foo::test::2", true),
            ("B::[a]::test::2", "B::foo::test::3", false),
            ("B::[a]::test::2", "B::foo::TEST::2", false),
        ]);
    }

    #[test]
    fn s_rpat_21_match_long_names() {
        check_rdep_match(&[
            ("task::[id]::[status]", "task::12345::done", true),
            ("task::[id]::[status]", "task::abc123::pending", true),
            ("task::[id]::[status]", "task::12345", false),
        ]);
    }

    #[test]
    fn s_rpat_22_match_edge_cases() {
        let long = format!("B::{}::2", "x".repeat(100));
        check_rdep_match(&[
            ("A::[x]", "A::x", true),
            ("A::[x]", "A::", true),
            ("B::[a]::2", &long, true),
            ("B::[a]::[b]::[c]", "B::test::2", false),
        ]);
        check_rdep_extract(&[("A::[x]", "A::", Some(vec![("x", "")]))]);
    }

    #[test]
    fn rdep_spec_4_4_examples() {
        // The §4.4 list, beyond the S-RPAT rows above.
        check_rdep_match(&[
            ("B::[a]::[b]", "B::::2", false),
            ("B::1::[b]", "B::1", false),
            ("A::[x]", "A::x::y", true),
            ("B::[a]::test::2", "B::foo::TEST::2", false),
        ]);
    }

    #[test]
    fn rdep_last_placeholder_rules() {
        check_rdep_extract(&[
            // The last placeholder is open even with a literal after it.
            ("A::[x]::end", "A::a::b::end", Some(vec![("x", "a::b")])),
            ("A::[x]::end", "A::::end", Some(vec![("x", "")])),
            // Non-last placeholders stay bounded.
            (
                "A::[x]::[y]::end",
                "A::a::b::c::end",
                Some(vec![("x", "a"), ("y", "b::c")]),
            ),
            ("A::[x]::[y]::end", "A::::b::end", None),
            // No separator rule: any literal between placeholders; greedy like Python's regex.
            (
                "B::[a]-[b]",
                "B::x-y-z",
                Some(vec![("a", "x-y"), ("b", "z")]),
            ),
            ("B::[a]-[b]", "B::x::y-z", None),
            ("[a][b]", "xyz", Some(vec![("a", "xyz"), ("b", "")])),
            (
                "[a][b][c]",
                "xyz",
                Some(vec![("a", "xy"), ("b", "z"), ("c", "")]),
            ),
            // A bounded placeholder never covers a character where the separator starts
            // (Python's look-ahead), even when the occurrence runs past its end.
            (
                "A::[x]::[y]",
                "A::a:::b",
                Some(vec![("x", "a"), ("y", ":b")]),
            ),
            ("A::[x]::b", "A::a:::b", Some(vec![("x", "a:")])),
        ]);
    }

    #[test]
    fn rdep_uses_the_given_separator() {
        let pattern = Pattern::parse("B|[a]|[b]").unwrap();
        assert_eq!(
            pattern.match_rdep("B|x|y|z", "|"),
            caps(&[("a", "x"), ("b", "y|z")])
        );
        // Under `::` the same pattern lets `[a]` take `|`s, greedily.
        assert_eq!(
            pattern.match_rdep("B|x|y|z", "::"),
            caps(&[("a", "x|y"), ("b", "z")])
        );
    }

    #[test]
    fn rdep_repeated_placeholder_must_capture_the_same_text() {
        check_rdep_extract(&[
            ("B::[x]::[x]", "B::a::a", Some(vec![("x", "a")])),
            ("B::[x]::[x]", "B::a::b", None),
            (
                "B::[x]::[y]::[x]",
                "B::a::b::a",
                Some(vec![("x", "a"), ("y", "b")]),
            ),
            // `[y]` is not last (the repeated `[x]` is), so it stays bounded.
            ("B::[x]::[y]::[x]", "B::a::b::c::a", None),
            ("B::[x]::[y]::[x]", "B::a::b::c", None),
            // The repeat is bounded too: it may not be empty or cross the separator.
            ("[x]::[x]-[y]", "a::b::a::b-c", None),
        ]);
    }

    // ---- §4.2 proto matching ----

    #[test]
    fn proto_last_placeholder_takes_the_rest() {
        check_proto(&[
            (
                "foo::[x]::[y]",
                "foo::a::b",
                Some(vec![("x", "a"), ("y", "b")]),
            ),
            (
                "foo::[x]::[y]",
                "foo::a::b::c",
                Some(vec![("x", "a"), ("y", "b::c")]),
            ),
            (
                "foo::[x]::[y]",
                "foo::a::",
                Some(vec![("x", "a"), ("y", "")]),
            ),
            ("foo::[x]::[y]", "foo::::b", None),
            ("foo::[x]::[y]", "foo::a", None),
            ("foo::[x]::[y]", "bar::a::b", None),
            ("foo::[x]", "foo::", Some(vec![("x", "")])),
            // Trailing separator after the last placeholder.
            ("q5::[x]::", "q5::abc::", Some(vec![("x", "abc")])),
            ("q5::[x]::", "q5::abc::def::", None),
            ("q5::[x]::", "q5::::", None),
            // Adjacent placeholders at the end are both open; the first is greedy.
            (
                "foo::[a][b]",
                "foo::x::y",
                Some(vec![("a", "x::y"), ("b", "")]),
            ),
            // Adjacent placeholders before the separator are both bounded.
            (
                "foo::[a][b]::",
                "foo::xyz::",
                Some(vec![("a", "xy"), ("b", "z")]),
            ),
            ("foo::[a][b]::", "foo::x::", None),
        ]);
    }

    #[test]
    fn s_pat_05_filled_out_name_extracts_values() {
        check_proto(&[(
            "task::[task_id]::[status]",
            "task::123::done",
            Some(vec![("task_id", "123"), ("status", "done")]),
        )]);
    }

    #[test]
    fn s_pat_06_two_protos_can_match_one_name() {
        // The caller reports `Name "foo::test" matches multiple protos`.
        assert!(proto("foo::[x]", "foo::test").is_some());
        assert!(proto("foo::[y]", "foo::test").is_some());
    }

    #[test]
    fn s_pat_07_values_may_contain_hyphens() {
        check_proto(&[
            (
                "k8s.build::[cluster_name]",
                "k8s.build::my-cluster",
                Some(vec![("cluster_name", "my-cluster")]),
            ),
            (
                "dep1-[x]",
                "dep1-from_lambda_test",
                Some(vec![("x", "from_lambda_test")]),
            ),
            ("main-[value]", "main-test", Some(vec![("value", "test")])),
            ("dep2-[y]", "dep2-456", Some(vec![("y", "456")])),
        ]);
    }

    #[test]
    fn s_pat_08_proto_patterns_must_use_the_separator() {
        let rejected = [
            ("foo-[x]-[y]", "::", "-"),
            ("x::[a]::tail", "::", "::tail"),
            ("foo::[a]-[b]", "::", "-"),
            ("foo::[x]::[y]", "|", "::"),
            ("a[x]b", "::", "b"),
            // Skipping an adjacent placeholder, the next literal is still checked.
            ("foo::[a][b]-c", "::", "-c"),
        ];
        for (name, sep, found) in rejected {
            let err = Pattern::parse_proto(name, sep).unwrap_err();
            assert_eq!(
                err,
                NameError::Separator {
                    pattern: name.to_owned(),
                    sep: sep.to_owned(),
                    found: found.to_owned(),
                }
            );
            let text = err.to_string();
            assert!(
                text.contains("configured separator") && text.contains(sep),
                "{text}"
            );
        }
        assert_eq!(
            Pattern::parse_proto("foo-[x]-[y]", "::")
                .unwrap_err()
                .to_string(),
            r#"Pattern "foo-[x]-[y]" must use the configured separator "::" between placeholders; found "-""#
        );
        let accepted = [
            ("dep1-[x]", "::"),
            ("main-[value]", "::"),
            ("k8s.build::[cluster]", "::"),
            ("q5::[x]::", "::"),
            ("build", "::"),
            ("foo::[x]::[y]", "::"),
            ("bar|[a]|[b]", "|"),
            ("-[a][b]", "::"),
        ];
        for (name, sep) in accepted {
            assert!(Pattern::parse_proto(name, sep).is_ok(), "{name} with {sep}");
            // The lenient parser accepts everything the proto parser does.
            assert!(Pattern::parse(name).is_ok(), "{name}");
        }
        // The rejected ones are fine as rdep patterns.
        assert!(Pattern::parse("x::[a]::tail").is_ok());
    }

    #[test]
    fn custom_separator_bar() {
        let pattern = Pattern::parse_proto("bar|[a]|[b]", "|").unwrap();
        assert_eq!(
            pattern.match_proto("bar|1|2", "|"),
            caps(&[("a", "1"), ("b", "2")])
        );
        assert_eq!(
            pattern.match_proto("bar|1|2|3", "|"),
            caps(&[("a", "1"), ("b", "2|3")])
        );
        assert_eq!(
            pattern.match_proto("bar|x::y|2", "|"),
            caps(&[("a", "x::y"), ("b", "2")])
        );
        assert_eq!(pattern.match_proto("bar||2", "|"), None);
    }

    #[test]
    fn exact_names_match_only_themselves() {
        for rules in [Rules::Proto, Rules::Rdep] {
            let pattern = Pattern::parse("build").unwrap();
            assert_eq!(pattern.matches("build", SEP, rules), Some(vec![]));
            for other in ["buil", "build::", "Build", "", "build "] {
                assert_eq!(pattern.matches(other, SEP, rules), None);
            }
        }
        let empty = Pattern::parse_proto("", SEP).unwrap();
        assert!(!empty.has_placeholders());
        assert_eq!(empty.parts(), &[]);
        assert_eq!(empty.match_proto("", SEP), Some(vec![]));
        assert_eq!(empty.match_rdep("x", SEP), None);
    }

    #[test]
    fn raw_pattern_matches_itself_as_a_value() {
        // §4.3 checks exact proto names first; the compiled pattern alone captures the text.
        check_proto(&[("foo::[x]", "foo::[x]", Some(vec![("x", "[x]")]))]);
    }

    // ---- parsing ----

    #[test]
    fn parse_splits_parts() {
        let pattern = Pattern::parse_proto("k8s.build::[target]::[env]", SEP).unwrap();
        assert_eq!(pattern.raw(), "k8s.build::[target]::[env]");
        assert_eq!(pattern.to_string(), "k8s.build::[target]::[env]");
        assert_eq!(
            pattern.placeholders(),
            &["target".to_owned(), "env".to_owned()]
        );
        assert!(pattern.has_placeholders());
        assert_eq!(pattern.literal_prefix(), "k8s.build::");
        assert_eq!(
            pattern.parts(),
            &[
                Part::Literal("k8s.build::".into()),
                Part::Placeholder("target".into()),
                Part::Literal("::".into()),
                Part::Placeholder("env".into()),
            ]
        );
        let exact = Pattern::parse("a]b").unwrap();
        assert_eq!(exact.literal_prefix(), "a]b");
        assert_eq!(exact.parts(), &[Part::Literal("a]b".into())]);
        assert_eq!(Pattern::parse("[x]::a").unwrap().literal_prefix(), "");
        let repeated = Pattern::parse("[x]::[y]::[x]").unwrap();
        assert_eq!(repeated.placeholders(), &["x".to_owned(), "y".to_owned()]);
    }

    #[test]
    fn parse_rejects_bad_placeholders() {
        let invalid = |name: &str, placeholder: &str| NameError::InvalidPlaceholder {
            name: name.to_owned(),
            placeholder: placeholder.to_owned(),
        };
        let rows: [(&str, NameError); 10] = [
            ("foo::[my-x]", invalid("foo::[my-x]", "my-x")),
            ("foo::[1x]", invalid("foo::[1x]", "1x")),
            ("foo::[é]", invalid("foo::[é]", "é")),
            ("foo::[ x]", invalid("foo::[ x]", " x")),
            ("foo::[[x]", invalid("foo::[[x]", "[x")),
            (
                "foo::[x",
                NameError::Unclosed {
                    name: "foo::[x".into(),
                },
            ),
            ("[", NameError::Unclosed { name: "[".into() }),
            (
                "foo::[x]::[",
                NameError::Unclosed {
                    name: "foo::[x]::[".into(),
                },
            ),
            (
                "foo::[]",
                NameError::EmptyPlaceholder {
                    name: "foo::[]".into(),
                },
            ),
            ("[]]", NameError::EmptyPlaceholder { name: "[]]".into() }),
        ];
        for (name, expected) in rows {
            assert_eq!(Pattern::parse(name).unwrap_err(), expected, "{name}");
            assert_eq!(
                Pattern::parse_proto(name, SEP).unwrap_err(),
                expected,
                "{name}"
            );
        }
        assert_eq!(
            Pattern::parse("foo::[my-x]").unwrap_err().to_string(),
            r#"invalid placeholder "[my-x]" in "foo::[my-x]": placeholder names are ASCII letters, digits and _, and do not start with a digit"#
        );
        assert_eq!(
            Pattern::parse("a[b").unwrap_err().to_string(),
            r#"unclosed "[" in "a[b""#
        );
        assert_eq!(
            Pattern::parse("a[]").unwrap_err().to_string(),
            r#"empty placeholder "[]" in "a[]""#
        );
        // Good identifiers.
        for name in ["[_]", "[x1]", "[_9]", "[CamelCase]", "[snake_case_2]"] {
            assert!(Pattern::parse_proto(name, SEP).is_ok(), "{name}");
        }
    }

    #[test]
    fn parse_proto_rejects_duplicates() {
        let err = Pattern::parse_proto("foo::[x]::[x]", SEP).unwrap_err();
        assert_eq!(
            err,
            NameError::DuplicatePlaceholder {
                name: "foo::[x]::[x]".into(),
                placeholder: "x".into(),
            }
        );
        assert_eq!(
            err.to_string(),
            r#"placeholder "[x]" appears twice in "foo::[x]::[x]""#
        );
        assert!(Pattern::parse("foo::[x]::[x]").is_ok());
    }

    // ---- filling ----

    #[test]
    fn s_pat_03_fill_generates_the_name() {
        let pattern = Pattern::parse_proto("proto::[x]::[y]", SEP).unwrap();
        assert_eq!(
            pattern.fill(lookup(&[("x", "test"), ("y", "42"), ("extra", "z")])),
            Ok("proto::test::42".to_owned())
        );
        assert_eq!(
            Pattern::parse("build").unwrap().fill(|_| None),
            Ok("build".to_owned())
        );
    }

    #[test]
    fn s_pat_02_fill_reports_the_missing_argument() {
        let pattern = Pattern::parse_proto("dep::[x]::[y]", SEP).unwrap();
        let err = pattern
            .fill(lookup(&[("x", "test"), ("value", "test")]))
            .unwrap_err();
        assert_eq!(
            err,
            NameError::MissingArg {
                pattern: "dep::[x]::[y]".into(),
                arg: "y".into(),
            }
        );
        assert_eq!(
            err.to_string(),
            r#"Pattern "dep::[x]::[y]" requires argument "y" but was not provided"#
        );
        // The first missing one in placeholder order is reported.
        assert_eq!(
            pattern.fill(|_| None),
            Err(NameError::MissingArg {
                pattern: "dep::[x]::[y]".into(),
                arg: "x".into(),
            })
        );
    }

    #[test]
    fn s_deps_12_partial_fill() {
        let rows: [(&str, Values<'_>, &str); 6] = [
            ("foo::[a]::2", &[("a", "3")], "foo::3::2"),
            ("foo::1::[b]", &[("b", "4")], "foo::1::4"),
            ("m::[x]::[y]", &[("y", "3")], "m::[x]::3"),
            ("m::[x]::[y]", &[], "m::[x]::[y]"),
            ("[x]-[x]", &[("x", "v")], "v-v"),
            // One pass: a value that looks like a placeholder stays as it is.
            ("[x]::[y]", &[("x", "[y]"), ("y", "2")], "[y]::2"),
        ];
        for (pattern, values, expected) in rows {
            let pattern = Pattern::parse(pattern).unwrap();
            assert_eq!(pattern.fill_partial(lookup(values)), expected);
        }
        assert_eq!(
            Pattern::parse("[x]::[y]")
                .unwrap()
                .fill(lookup(&[("x", "[y]"), ("y", "2")])),
            Ok("[y]::2".to_owned())
        );
    }

    #[test]
    fn fill_then_match_round_trips() {
        let pattern = Pattern::parse_proto("svc::[region]::[name]", SEP).unwrap();
        let values = [("region", "eu-west-1"), ("name", "api::v2")];
        let name = pattern.fill(lookup(&values)).unwrap();
        assert_eq!(name, "svc::eu-west-1::api::v2");
        assert_eq!(pattern.match_proto(&name, SEP), caps(&values));
    }

    // ---- globs (§7.3, S-ARGC-*) ----

    #[test]
    fn s_argc_globs() {
        let rows = [
            // S-ARGC-04/07
            ("*", "a", true),
            ("*", "", true),
            // S-ARGC-05
            ("?", "a", true),
            ("?", "b", true),
            ("?", "ab", false),
            ("?", "", false),
            ("a*", "a", true),
            ("a*", "ab", true),
            ("a*", "b", false),
            // S-ARGC-08
            ("z*", "a", false),
            ("z*", "b", false),
            // Case-sensitive, whole string, `[` is literal, multi-byte `?`.
            ("A*", "abc", false),
            ("*b", "abc", false),
            ("x[1]*", "x[1]2", true),
            ("?", "é", true),
            ("日*", "日本", true),
            ("1", "1", true),
        ];
        for (pattern, text, expected) in rows {
            assert_eq!(
                glob_match(pattern, text),
                expected,
                "{pattern:?} on {text:?}"
            );
        }
        for (value, expected) in [
            ("*", true),
            ("x?", true),
            ("a*b", true),
            ("abc", false),
            ("[x]", false),
            ("", false),
        ] {
            assert_eq!(is_glob(value), expected, "{value:?}");
        }
    }

    // ---- has_placeholder ----

    #[test]
    fn has_placeholder_follows_parproc_regex() {
        let rows = [
            ("foo::[x]", true),
            ("[x]", true),
            ("foo[my-x]", true),
            ("[[x]", true),
            ("a[]b]", false),
            ("a[]b[c]", true),
            ("[]", false),
            ("a[b", false),
            ("]]", false),
            ("]x[", false),
            ("[", false),
            ("", false),
            ("build::prod", false),
            ("[ü]", true),
        ];
        for (name, expected) in rows {
            assert_eq!(has_placeholder(name), expected, "{name:?}");
        }
    }

    // ---- hostile inputs ----

    #[test]
    fn unicode_names_and_values() {
        check_proto(&[
            (
                "build::[env]",
                "build::ünïcödé",
                Some(vec![("env", "ünïcödé")]),
            ),
            (
                "B::[a]::[b]",
                "B::日本::語::x",
                Some(vec![("a", "日本"), ("b", "語::x")]),
            ),
            ("é::[a]::[b]", "é::ß::ü", Some(vec![("a", "ß"), ("b", "ü")])),
            ("B::[a]::[b]", "B::🦀::", Some(vec![("a", "🦀"), ("b", "")])),
        ]);
        check_rdep_extract(&[
            ("[a]é[b]", "xéyéz", Some(vec![("a", "xéy"), ("b", "z")])),
            ("[a]é", "ééé", Some(vec![("a", "éé")])),
        ]);
        // A multi-byte separator.
        let pattern = Pattern::parse_proto("a→[x]→[y]", "→").unwrap();
        assert_eq!(
            pattern.match_proto("a→1→2→3", "→"),
            caps(&[("x", "1"), ("y", "2→3")])
        );
        assert_eq!(pattern.match_proto("a→→2", "→"), None);
        assert_eq!(
            Pattern::parse("é[a]→[b]").unwrap().match_rdep("éü→→", "→"),
            caps(&[("a", "ü"), ("b", "→")])
        );
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let names = [
            "",
            "[",
            "]",
            "]]",
            "[]",
            "[[",
            "[[]]",
            "::",
            ":::",
            "a[",
            "[a",
            "é[",
            "[é",
            "\u{0}",
            "x\ny",
            "🦀[x]🦀",
            "[x]]",
            "[x][y]",
            "::[x]::",
        ];
        for name in names {
            for sep in ["::", "|", "", "é", "🦀"] {
                let _ = Pattern::parse_proto(name, sep);
                if let Ok(pattern) = Pattern::parse(name) {
                    for text in names {
                        let _ = pattern.match_proto(text, sep);
                        let _ = pattern.match_rdep(text, sep);
                    }
                    let _ = pattern.fill(|k| Some(k.to_owned()));
                    let _ = pattern.fill_partial(|_| None);
                }
            }
            let _ = has_placeholder(name);
            let _ = glob_match(name, name);
        }
        check_rdep_extract(&[
            ("[x]]", "a]", Some(vec![("x", "a")])),
            ("]][x]", "]]]", Some(vec![("x", "]")])),
            ("[x]", "", Some(vec![("x", "")])),
            ("a[x]", "", None),
            (
                "A::[x]::[y]",
                "A::x\ny::z",
                Some(vec![("x", "x\ny"), ("y", "z")]),
            ),
        ]);
    }

    #[test]
    fn empty_separator_never_lets_bounded_placeholders_match() {
        // parproc's `(?!)` look-ahead always fails, and every literal differs from "".
        assert!(matches!(
            Pattern::parse_proto("a[x]b", ""),
            Err(NameError::Separator { .. })
        ));
        let open = Pattern::parse_proto("a[x]", "").unwrap();
        assert_eq!(open.match_proto("abc", ""), caps(&[("x", "bc")]));
        let pattern = Pattern::parse("a[x]-[y]").unwrap();
        assert_eq!(pattern.match_rdep("a1-2", ""), None);
    }

    #[test]
    fn many_placeholders_use_the_heap_path() {
        let count = INLINE_SLOTS * 3;
        let pattern_text: Vec<String> = (0..count).map(|i| format!("[p{i}]")).collect();
        let pattern_text = format!("x::{}", pattern_text.join("::"));
        let name_text: Vec<String> = (0..count).map(|i| format!("v{i}")).collect();
        let name_text = format!("x::{}::tail", name_text.join("::"));
        let pattern = Pattern::parse_proto(&pattern_text, SEP).unwrap();
        let captured = pattern.match_proto(&name_text, SEP).unwrap();
        assert_eq!(captured.len(), count);
        assert_eq!(captured[0], ("p0".to_owned(), "v0".to_owned()));
        assert_eq!(
            captured[count - 1],
            (format!("p{}", count - 1), format!("v{}::tail", count - 1))
        );
        assert_eq!(pattern.match_rdep(&name_text, SEP).unwrap(), captured);
        assert_eq!(pattern.match_proto("x::v0", SEP), None);
    }

    #[test]
    fn pathological_backtracking_stays_polynomial() {
        // Without the dead-state memo this tries about C(300, 4) splits before failing.
        let pattern = Pattern::parse("[a]-[b]-[c]-[d]-[e]-end").unwrap();
        let miss = "x-".repeat(300);
        assert_eq!(pattern.match_rdep(&miss, SEP), None);
        let hit = format!("{miss}end");
        let a = vec!["x"; 296].join("-");
        assert_eq!(
            pattern.match_rdep(&hit, SEP),
            caps(&[("a", &a), ("b", "x"), ("c", "x"), ("d", "x"), ("e", "x")])
        );
    }

    #[test]
    fn dead_state_memo_does_not_change_results() {
        let rows = [
            ("[a]-[b]-[c]", "x-y-z-w"),
            ("[a]-[b]-[c]-end", "x-y-z-w-end"),
            ("[a][b][c]::", "xyz::"),
            ("[a]x[b]x[c]", "xxxxxxx"),
            ("[a]x[b]x[c]y", "xxxxxxx"),
            ("A::[x]::[y]", "A::a:::b"),
            ("B::[a]-[b]", "B::x::y-z"),
            ("[a]é[b]é[c]", "éééééé"),
            ("foo::[a][b]::", "foo::xyz::"),
        ];
        for (pattern, name) in rows {
            let pattern = Pattern::parse(pattern).unwrap();
            for rules in [Rules::Proto, Rules::Rdep] {
                assert_eq!(
                    pattern.matches_with(name, SEP, rules, 0),
                    pattern.matches_with(name, SEP, rules, usize::MAX),
                    "{pattern} on {name:?} ({rules:?})"
                );
            }
        }
    }

    #[test]
    fn long_names_match_quickly() {
        let value = "ab-".repeat(20_000);
        let name = format!("B::{value}::{value}::end");
        check_rdep_extract(&[(
            "B::[a]::[b]::end",
            &name,
            Some(vec![("a", &value), ("b", &value)]),
        )]);
        let miss = format!("B::{value}::{value}::enx");
        assert_eq!(rdep("B::[a]::[b]::end", &miss), None);
        // Thousands of placeholder occurrences: iterative, so no deep recursion.
        let count = 5_000;
        let pattern: Vec<String> = (0..count).map(|i| format!("[p{i}]")).collect();
        let pattern = Pattern::parse_proto(&pattern.join("::"), SEP).unwrap();
        let name = vec!["v"; count].join("::");
        assert_eq!(
            pattern.match_proto(&name, SEP).map(|c| c.len()),
            Some(count)
        );
    }
}

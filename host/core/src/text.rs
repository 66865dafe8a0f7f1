//! Guest text made safe for a terminal: the one sanitiser every line a guest
//! influences goes through (the terminal, the live view, the summary).

fn is_escaped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn push_escaped(out: &mut String, c: char) {
    if c.is_ascii() {
        out.extend(c.escape_default());
    } else {
        out.extend(c.escape_unicode());
    }
}

/// Guest text made safe for a terminal: control characters (escape sequences,
/// carriage returns, newlines, tabs) and bidirectional-override characters are
/// shown escaped, so a guest cannot move the cursor or forge lines.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_escaped(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// One line of a guest's log made safe for a terminal: tabs become spaces (to
/// the next multiple of 8), colour sequences (`ESC [ … m`) are kept when
/// `keep_colors` (and reset at the end of the line) or dropped otherwise, and
/// every other control character or escape sequence is shown escaped.
pub fn sanitize_log_line(line: &str, keep_colors: bool) -> String {
    let mut out = String::with_capacity(line.len());
    let mut col = 0usize;
    let mut colored = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        if c == '\u{1b}'
            && let Some(params) = rest.strip_prefix('[')
        {
            let end = params
                .find(|p: char| !(p.is_ascii_digit() || p == ';' || p == ':'))
                .unwrap_or(params.len());
            if params[end..].starts_with('m') {
                if keep_colors {
                    out.push_str("\u{1b}[");
                    out.push_str(&params[..=end]);
                    colored = true;
                }
                rest = &params[end + 1..];
                continue;
            }
        }
        if c == '\t' {
            let n = 8 - col % 8;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
        } else if is_escaped(c) {
            let before = out.len();
            push_escaped(&mut out, c);
            col += out.len() - before;
        } else {
            out.push(c);
            col += 1;
        }
    }
    if colored {
        out.push_str("\u{1b}[0m");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_escapes_what_could_move_the_cursor_or_forge_lines() {
        assert_eq!(sanitize("a\u{1b}[2Jb\r\n✓ x"), "a\\u{1b}[2Jb\\r\\n✓ x");
        assert_eq!(sanitize("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(sanitize("tab\there"), "tab\\there");
        assert_eq!(sanitize("ünï 🚀"), "ünï 🚀");
    }

    #[test]
    fn log_lines_keep_or_drop_colours_and_escape_the_rest() {
        let l = "\u{1b}[31merror\u{1b}[0m: x\u{1b}[2K\r";
        assert_eq!(sanitize_log_line(l, false), "error: x\\u{1b}[2K\\r");
        assert_eq!(
            sanitize_log_line(l, true),
            "\u{1b}[31merror\u{1b}[0m: x\\u{1b}[2K\\r\u{1b}[0m"
        );
        assert_eq!(sanitize_log_line("a\tb", false), "a       b");
        assert_eq!(
            sanitize_log_line("\u{1b}]0;title\u{7}", false),
            "\\u{1b}]0;title\\u{7}"
        );
    }
}

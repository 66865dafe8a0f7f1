//! The options of `#[proc(...)]` and `#[proto(...)]`.

use syn::parse::Parser;
use syn::{Expr, ExprCall, ExprPath, Ident, LitStr};

use crate::suggest;
use crate::syntax::{self, Entry, EntryValue, Value};

/// Proc or proto.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Proc,
    Proto,
}

impl Kind {
    /// `#[proc]` / `#[proto]` for messages.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Proc => "#[proc]",
            Kind::Proto => "#[proto]",
        }
    }
}

/// One entry of `deps = [...]`.
pub(crate) enum Dep {
    Name(LitStr),
    NoFailures,
    Computed(Expr),
}

/// One entry of `rdeps = [...]`.
pub(crate) enum Rdep {
    Plain(LitStr),
    WhenScheduled(LitStr),
    WhenTargetScheduled(LitStr),
}

/// The source of one placeholder's choices.
pub(crate) enum Choice {
    /// A list of literals, with the expressions they came from (for spans).
    Fixed(Vec<(Expr, Value)>),
    Computed(Expr),
}

/// `choices(...)` or `choices = <expr>`.
pub(crate) enum Choices {
    None,
    PerParam(Vec<(Ident, Choice)>),
    Computed(Expr),
}

/// One entry of `inputs = [...]`.
pub(crate) enum Input {
    Path(LitStr),
    RegexFiles(LitStr, LitStr),
    Computed(Expr),
}

/// One entry of `outputs = [...]`.
pub(crate) struct Output {
    pub(crate) path: LitStr,
    /// `max_age` as the text the host parses.
    pub(crate) max_age: Option<String>,
    pub(crate) enforce_freshness: bool,
}

/// `needs(...)`.
#[derive(Default)]
pub(crate) struct Needs {
    pub(crate) dirs: Vec<(LitStr, bool)>,
    pub(crate) env: Vec<LitStr>,
    pub(crate) network: Vec<LitStr>,
    pub(crate) input: bool,
    pub(crate) tools: Vec<LitStr>,
    pub(crate) http: Vec<LitStr>,
}

/// Everything written in the attribute.
pub(crate) struct JobOptions {
    pub(crate) name: Option<LitStr>,
    pub(crate) deps: Vec<Dep>,
    pub(crate) rdeps: Vec<Rdep>,
    pub(crate) locks: Vec<LitStr>,
    pub(crate) now: bool,
    pub(crate) wave: i32,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) fuel: Option<u64>,
    pub(crate) memory: Option<u64>,
    /// `args(...)`: the key and the expression (for spans) with its value.
    pub(crate) args: Vec<(Ident, Expr, Value)>,
    pub(crate) choices: Choices,
    /// The `choices` entry, for errors about it as a whole.
    pub(crate) choices_entry: Option<Entry>,
    pub(crate) log_ignore: Vec<LitStr>,
    pub(crate) log_ignore_if_succeeded: Vec<LitStr>,
    pub(crate) needs: Needs,
    pub(crate) description: Option<LitStr>,
    pub(crate) inputs: Vec<Input>,
    pub(crate) inputs_ignore: Vec<LitStr>,
    pub(crate) outputs: Vec<Output>,
    pub(crate) no_skip: bool,
}

const OPTIONS: &[&str] = &[
    "name",
    "deps",
    "rdeps",
    "locks",
    "now",
    "wave",
    "timeout",
    "fuel",
    "memory",
    "args",
    "choices",
    "log_ignore",
    "log_ignore_if_succeeded",
    "needs",
    "description",
    "inputs",
    "inputs_ignore",
    "outputs",
    "no_skip",
];

const NEEDS: &[&str] = &[
    "dirs", "dirs_rw", "env", "network", "input", "tools", "http",
];

impl JobOptions {
    /// Parses the attribute's tokens.
    pub(crate) fn parse(kind: Kind, tokens: proc_macro2::TokenStream) -> syn::Result<Self> {
        let entries: Vec<Entry> = syntax::entries.parse2(tokens)?.into_iter().collect();
        syntax::check_unique(&entries)?;
        let mut options = JobOptions {
            name: None,
            deps: Vec::new(),
            rdeps: Vec::new(),
            locks: Vec::new(),
            now: false,
            wave: 0,
            timeout_ms: None,
            fuel: None,
            memory: None,
            args: Vec::new(),
            choices: Choices::None,
            choices_entry: None,
            log_ignore: Vec::new(),
            log_ignore_if_succeeded: Vec::new(),
            needs: Needs::default(),
            description: None,
            inputs: Vec::new(),
            inputs_ignore: Vec::new(),
            outputs: Vec::new(),
            no_skip: false,
        };
        for entry in entries {
            options.apply(kind, entry)?;
        }
        Ok(options)
    }

    fn apply(&mut self, kind: Kind, entry: Entry) -> syn::Result<()> {
        match entry.name().as_str() {
            "name" => self.name = Some(syntax::string(entry.expr("name = \"...\"")?, "`name`")?),
            "deps" => {
                let how = "`deps = [\"name\", NO_FAILURES, |d| ...]`";
                for dep in syntax::array(entry.expr(how)?, how)? {
                    self.deps.push(parse_dep(dep)?);
                }
            }
            "rdeps" => {
                let how = "`rdeps = [\"pattern\", when_scheduled(\"...\"), when_target_scheduled(\"...\")]`";
                for rdep in syntax::array(entry.expr(how)?, how)? {
                    self.rdeps.push(parse_rdep(rdep)?);
                }
            }
            "locks" => self.locks = syntax::strings(entry.expr("locks = [\"...\"]")?, "locks")?,
            "now" => self.now = entry.flag()?,
            "wave" => self.wave = syntax::integer(entry.expr("wave = N")?, "`wave`")?,
            "timeout" => self.timeout_ms = Some(timeout_ms(entry.expr("timeout = <seconds>")?)?),
            "fuel" => self.fuel = Some(budget(entry.expr("fuel = <units>")?, "`fuel`")?),
            "memory" => self.memory = Some(budget(entry.expr("memory = <bytes>")?, "`memory`")?),
            "args" => {
                let list = entry.list("args(name = value, ...)")?;
                syntax::check_unique(&list)?;
                for arg in list {
                    let expr = arg.expr("args(name = value)")?.clone();
                    let value = syntax::require_literal(
                        &expr,
                        &format!("the default of `{}`", arg.name()),
                    )?;
                    self.args.push((arg.key, expr, value));
                }
            }
            "choices" => {
                if kind == Kind::Proc {
                    return Err(entry.error(
                        "`choices` is only for `#[proto]`: a `#[proc]` has no placeholders",
                    ));
                }
                self.choices = match &entry.value {
                    EntryValue::Expr(expr) => Choices::Computed(expr.clone()),
                    EntryValue::List(..) => {
                        let list = entry.list("choices(name = [...])")?;
                        syntax::check_unique(&list)?;
                        let mut per_param = Vec::new();
                        for choice in list {
                            let expr = choice.expr("choices(name = [...] or a function)")?;
                            per_param.push((choice.key.clone(), parse_choice(expr)?));
                        }
                        Choices::PerParam(per_param)
                    }
                    EntryValue::Flag => {
                        return Err(entry.error(
                            "`choices` is written `choices(name = [...])` or `choices = <function>`",
                        ));
                    }
                };
                self.choices_entry = Some(entry);
            }
            "log_ignore" => {
                self.log_ignore =
                    syntax::strings(entry.expr("log_ignore = [\"regex\"]")?, "log_ignore")?;
            }
            "log_ignore_if_succeeded" => {
                self.log_ignore_if_succeeded = syntax::strings(
                    entry.expr("log_ignore_if_succeeded = [\"regex\"]")?,
                    "log_ignore_if_succeeded",
                )?;
            }
            "needs" => self.needs = parse_needs(&entry)?,
            "description" => {
                self.description = Some(syntax::string(
                    entry.expr("description = \"...\"")?,
                    "`description`",
                )?);
            }
            "inputs" => {
                let how = "`inputs = [\"/src/*.rs\", regex_files(\"/src\", \"pattern\"), |d| ...]`";
                for input in syntax::array(entry.expr(how)?, how)? {
                    self.inputs.push(parse_input(input)?);
                }
            }
            "inputs_ignore" => {
                // A glob may match anywhere (`*.tmp`); a plain path is absolute.
                let (globs, paths): (Vec<LitStr>, Vec<LitStr>) = syntax::strings(
                    entry.expr("inputs_ignore = [\"/path or glob\"]")?,
                    "inputs_ignore",
                )?
                .into_iter()
                .partition(|p| p.value().contains(['*', '?', '[']));
                self.inputs_ignore = globs.into_iter().chain(absolute(paths)?).collect();
            }
            "outputs" => {
                let how = "`outputs = [\"/out/a\", output(\"/out/b\", max_age = \"1h\", enforce_freshness = false)]`";
                for output in syntax::array(entry.expr(how)?, how)? {
                    self.outputs.push(parse_output(output)?);
                }
            }
            "no_skip" => self.no_skip = entry.flag()?,
            other => {
                let hint = if other == "arg_choices" {
                    "unknown option `arg_choices`; this SDK calls it `choices`".to_owned()
                } else {
                    suggest::unknown("option", other, &format!("for `{}`", kind.attr()), OPTIONS)
                };
                return Err(syn::Error::new(entry.key.span(), hint));
            }
        }
        Ok(())
    }
}

fn parse_dep(expr: &Expr) -> syn::Result<Dep> {
    if let Some(value) = syntax::literal(expr) {
        return match value? {
            Value::Text(_) => Ok(Dep::Name(syntax::string(expr, "a dep")?)),
            other => Err(syn::Error::new_spanned(
                expr,
                format!(
                    "a dep is a name (a string), `NO_FAILURES` or a function computing names; \
                     found {}",
                    other.kind()
                ),
            )),
        };
    }
    if let Expr::Path(ExprPath {
        path, qself: None, ..
    }) = expr
        && path.is_ident("NO_FAILURES")
    {
        return Ok(Dep::NoFailures);
    }
    Ok(Dep::Computed(expr.clone()))
}

fn parse_rdep(expr: &Expr) -> syn::Result<Rdep> {
    if let Ok(pattern) = syntax::string(expr, "an rdep") {
        return Ok(Rdep::Plain(pattern));
    }
    let how = "an rdep is a pattern (a string), `when_scheduled(\"pattern\")` or \
               `when_target_scheduled(\"pattern\")`";
    let Expr::Call(ExprCall { func, args, .. }) = expr else {
        return Err(syn::Error::new_spanned(expr, how));
    };
    let Expr::Path(ExprPath {
        path, qself: None, ..
    }) = func.as_ref()
    else {
        return Err(syn::Error::new_spanned(expr, how));
    };
    let Some(rule) = path.get_ident().map(Ident::to_string) else {
        return Err(syn::Error::new_spanned(expr, how));
    };
    let make: fn(LitStr) -> Rdep = match rule.as_str() {
        "when_scheduled" | "WhenScheduled" => Rdep::WhenScheduled,
        "when_target_scheduled" | "WhenTargetScheduled" => Rdep::WhenTargetScheduled,
        _ => return Err(syn::Error::new_spanned(func, how)),
    };
    let mut args = args.iter();
    match (args.next(), args.next()) {
        (Some(pattern), None) => Ok(make(syntax::string(
            pattern,
            &format!("the pattern of `{rule}`"),
        )?)),
        _ => Err(syn::Error::new_spanned(
            expr,
            format!("`{rule}` takes one pattern: `{rule}(\"pattern\")`"),
        )),
    }
}

/// Guest paths must be absolute: the host resolves them through the grants.
fn absolute(paths: Vec<LitStr>) -> syn::Result<Vec<LitStr>> {
    for p in &paths {
        if !p.value().starts_with('/') {
            return Err(syn::Error::new(
                p.span(),
                format!(
                    "`{}` must be an absolute path inside the sandbox, like `/src/{}`",
                    p.value(),
                    p.value()
                ),
            ));
        }
    }
    Ok(paths)
}

fn parse_input(expr: &Expr) -> syn::Result<Input> {
    if syntax::literal(expr).is_some() {
        let path = syntax::string(expr, "an input")?;
        return Ok(Input::Path(absolute(vec![path])?.remove(0)));
    }
    if let Expr::Call(ExprCall { func, args, .. }) = expr
        && let Expr::Path(ExprPath {
            path, qself: None, ..
        }) = func.as_ref()
        && path.is_ident("regex_files")
    {
        let mut args = args.iter();
        return match (args.next(), args.next(), args.next()) {
            (Some(root), Some(pattern), None) => {
                let root = absolute(vec![syntax::string(root, "the root of `regex_files`")?])?;
                let pattern = syntax::string(pattern, "the pattern of `regex_files`")?;
                Ok(Input::RegexFiles(
                    root.into_iter().next().expect("one root"),
                    pattern,
                ))
            }
            _ => Err(syn::Error::new_spanned(
                expr,
                "`regex_files` takes a directory and a regular expression: \
                 `regex_files(\"/src\", r\".*\\.rs$\")`",
            )),
        };
    }
    Ok(Input::Computed(expr.clone()))
}

fn parse_output(expr: &Expr) -> syn::Result<Output> {
    if syntax::literal(expr).is_some() {
        let path = syntax::string(expr, "an output")?;
        return Ok(Output {
            path: absolute(vec![path])?.remove(0),
            max_age: None,
            enforce_freshness: true,
        });
    }
    let how = "an output is a path (a string) or \
               `output(\"/out/file\", max_age = \"1h\", enforce_freshness = false)`";
    let Expr::Call(ExprCall { func, args, .. }) = expr else {
        return Err(syn::Error::new_spanned(expr, how));
    };
    match func.as_ref() {
        Expr::Path(ExprPath {
            path, qself: None, ..
        }) if path.is_ident("output") || path.is_ident("Output") => {}
        _ => return Err(syn::Error::new_spanned(func, how)),
    }
    let mut args = args.iter();
    let Some(first) = args.next() else {
        return Err(syn::Error::new_spanned(expr, how));
    };
    let mut output = Output {
        path: absolute(vec![syntax::string(first, "the path of `output`")?])?.remove(0),
        max_age: None,
        enforce_freshness: true,
    };
    for arg in args {
        let Expr::Assign(assign) = arg else {
            return Err(syn::Error::new_spanned(arg, how));
        };
        let key = match assign.left.as_ref() {
            Expr::Path(ExprPath {
                path, qself: None, ..
            }) => path.get_ident().map(Ident::to_string),
            _ => None,
        };
        match key.as_deref() {
            Some("max_age") => {
                output.max_age = Some(match syntax::literal(&assign.right) {
                    Some(Ok(Value::Text(t))) => t,
                    Some(Ok(Value::Integer(n))) if n >= 0 => n.to_string(),
                    Some(Ok(Value::Float(x))) if x >= 0.0 => x.to_string(),
                    _ => {
                        return Err(syn::Error::new_spanned(
                            &assign.right,
                            "`max_age` is a number of seconds or a text like \"4s\", \"4m\", \"4h\", \"4d\"",
                        ));
                    }
                });
            }
            Some("enforce_freshness") => match syntax::literal(&assign.right) {
                Some(Ok(Value::Boolean(flag))) => output.enforce_freshness = flag,
                _ => {
                    return Err(syn::Error::new_spanned(
                        &assign.right,
                        "`enforce_freshness` is `true` or `false`",
                    ));
                }
            },
            _ => {
                return Err(syn::Error::new_spanned(
                    &assign.left,
                    "`output(...)` takes `max_age = ...` and `enforce_freshness = ...`",
                ));
            }
        }
    }
    Ok(output)
}

fn parse_choice(expr: &Expr) -> syn::Result<Choice> {
    if let Ok(elements) = syntax::array(expr, "") {
        let literals: Option<Vec<_>> = elements.iter().map(|e| syntax::literal(e)).collect();
        if let Some(literals) = literals {
            let mut fixed = Vec::new();
            for (element, value) in elements.into_iter().zip(literals) {
                fixed.push((element.clone(), value?));
            }
            return Ok(Choice::Fixed(fixed));
        }
    }
    Ok(Choice::Computed(expr.clone()))
}

fn timeout_ms(expr: &Expr) -> syn::Result<u64> {
    let millis = match syntax::literal(expr) {
        Some(Ok(Value::Integer(secs))) => {
            u64::try_from(secs).ok().and_then(|s| s.checked_mul(1000))
        }
        Some(Ok(Value::Float(secs))) if (0.0..1e15).contains(&secs) => {
            // Rounded to whole milliseconds; the range check above keeps the cast exact.
            Some((secs * 1000.0).round() as u64)
        }
        Some(Err(e)) => return Err(e),
        _ => {
            return Err(syn::Error::new_spanned(
                expr,
                "`timeout` is a number of seconds: an integer or float literal",
            ));
        }
    };
    match millis {
        Some(ms) if ms > 0 => Ok(ms),
        _ => Err(syn::Error::new_spanned(
            expr,
            "`timeout` must be a positive number of seconds (at least one millisecond)",
        )),
    }
}

fn budget(expr: &Expr, what: &str) -> syn::Result<u64> {
    let n: u64 = syntax::integer(expr, what)?;
    if n == 0 {
        return Err(syn::Error::new_spanned(
            expr,
            format!("{what} must be more than zero"),
        ));
    }
    Ok(n)
}

fn parse_needs(entry: &Entry) -> syn::Result<Needs> {
    let list = entry.list(
        "needs(dirs = [...], dirs_rw = [...], env = [...], network = [...], input, tools = [...], \
         http = [...])",
    )?;
    syntax::check_unique(&list)?;
    let mut needs = Needs::default();
    for need in list {
        let key = need.name();
        match key.as_str() {
            "dirs" | "dirs_rw" => {
                let writable = key == "dirs_rw";
                for dir in syntax::strings(need.expr(&format!("{key} = [\"/path\"]"))?, &key)? {
                    if !dir.value().starts_with('/') {
                        return Err(syn::Error::new(
                            dir.span(),
                            format!(
                                "`{key}` path `{}` must be absolute (the path inside the sandbox)",
                                dir.value()
                            ),
                        ));
                    }
                    needs.dirs.push((dir, writable));
                }
            }
            "env" => needs.env = syntax::strings(need.expr("env = [\"NAME\"]")?, "env")?,
            "network" => {
                needs.network =
                    syntax::strings(need.expr("network = [\"host:port\"]")?, "network")?;
            }
            "input" => needs.input = need.flag()?,
            "tools" => {
                needs.tools = syntax::strings(need.expr("tools = [\"name\"]")?, "tools")?;
                for tool in &needs.tools {
                    if !is_tool_name(&tool.value()) {
                        return Err(syn::Error::new(
                            tool.span(),
                            format!(
                                "`tools` entry `{}` is not a tool name (up to 64 letters, digits, \
                                 `.`, `_` and `-`: the NAME of `--tool NAME=PATH.wasm`)",
                                tool.value()
                            ),
                        ));
                    }
                }
            }
            "http" => {
                needs.http = syntax::strings(need.expr("http = [\"https://host\"]")?, "http")?;
                for origin in &needs.http {
                    let text = origin.value();
                    if !(text.starts_with("https://") || text.starts_with("http://")) {
                        return Err(syn::Error::new(
                            origin.span(),
                            format!(
                                "`http` origin `{text}` must start with its scheme, like \
                                 `https://{text}` (or `http://`)"
                            ),
                        ));
                    }
                }
            }
            other => {
                return Err(syn::Error::new(
                    need.key.span(),
                    suggest::unknown("entry", other, "in `needs(...)`", NEEDS),
                ));
            }
        }
    }
    Ok(needs)
}

/// What the host accepts as the NAME of `--tool NAME=PATH.wasm`: 1 to 64 letters, digits,
/// `.`, `_` and `-`.
fn is_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

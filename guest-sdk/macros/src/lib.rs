//! The procedural macros of `parproc-guest`: [`macro@proc`], [`macro@proto`] and
//! [`export_jobs!`].
//!
//! Use them through `parproc-guest` (`use parproc_guest::prelude::*;`), which re-exports
//! them; the code they generate names `::parproc_guest`. The examples are compiled (not run:
//! the context calls need the parproc host) as doctests of this crate.
//!
//! Every mistake the macros can see is a compile error at the offending token, with a
//! sentence that names the thing: a placeholder without a parameter, a parameter that is
//! neither a placeholder nor in `args(...)`, an unsupported parameter type, a `#[proc]` name
//! with a placeholder, an unknown option (with a "did you mean"), a `choices` key that is not
//! a placeholder, a default or choice of the wrong type.

mod job;
mod module;
mod name;
mod options;
mod signature;
mod spec;
mod suggest;
mod syntax;

use proc_macro::TokenStream;

use options::Kind;

/// Declares a proc: a named job with a fully resolved name (parproc's `@Proc`).
///
/// ```no_run
/// use parproc_guest::prelude::*;
///
/// /// Checks the sources (the first doc line is the description).
/// #[proc(now, deps = ["setup", NO_FAILURES], locks = ["db"], timeout = 2.5, args(level = 3))]
/// fn lint(ctx: &Context, level: i64) -> Result<String, Error> {
///     ctx.info(&format!("lint level {level}"));
///     Ok("clean".to_owned())
/// }
///
/// #[proc]
/// fn setup() {}
///
/// parproc_guest::export_jobs!(setup, lint);
/// # fn main() {}
/// ```
///
/// The function takes an optional first parameter `&Context`, then parameters of type
/// `String`, an integer type, `f64`/`f32` or `bool`, each of which needs a default in
/// `args(...)`. It returns `()` or `Result<T, E>` with `T: serde::Serialize` and
/// `E: Into<parproc_guest::Error>`. The function stays an ordinary function; the macro adds
/// a hidden twin in the type namespace that [`export_jobs!`] reads.
///
/// # Options
///
/// All are optional and may come in any order, each at most once.
///
/// | option | meaning |
/// |---|---|
/// | `name = "..."` | the proc name (default: the function's name); no `[placeholders]` |
/// | `deps = [...]` | deps, in order: `"name"` (a name, filled-out proto name, pattern or glob), `NO_FAILURES`, or any other expression = a computed dep (see below) |
/// | `rdeps = [...]` | reverse deps: `"pattern"`, `when_scheduled("pattern")`, `when_target_scheduled("pattern")` |
/// | `locks = ["db", ...]` | named locks held while running |
/// | `now` | schedule as soon as the run starts (`now = false` also accepted) |
/// | `wave = N` | wave number, may be negative (default 0) |
/// | `timeout = 2` / `timeout = 0.5` | wall-clock budget in seconds |
/// | `fuel = N` | CPU budget in fuel units |
/// | `memory = 64_000_000` | memory budget in bytes |
/// | `args(x = 1, name = "a", flag = true, ratio = 0.5)` | argument defaults (literals; negative numbers allowed) |
/// | `log_ignore = ["regex"]` | log lines always hidden from failure snippets |
/// | `log_ignore_if_succeeded = ["regex"]` | log lines hidden when the proc succeeded |
/// | `needs(dirs = ["/src"], dirs_rw = ["/out"], env = ["HOME"], network = ["example.com:443"], input, tools = ["yosys"], http = ["https://api.example.com"])` | capabilities the proc asks for: `tools` are the WASI tools it runs with `parproc_guest::Exec` (the user maps each with `--tool NAME=PATH.wasm`), `http` the origins it reaches over `wasi:http` (granted with `--allow-http`) |
/// | `description = "..."` | shown by `parproc-host list` (default: the first line of the doc comment) |
///
/// A computed dep is a closure `|d| ...` (no type annotation needed) or a path to a function
/// taking `&DepContext`; it returns a `String`, `&str`, `Vec`/array of those, an `Option` of
/// those, or a `Result` of those whose error implements `Display`.
#[proc_macro_attribute]
pub fn proc(attr: TokenStream, item: TokenStream) -> TokenStream {
    job::expand(Kind::Proc, attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Declares a proto: a template whose name contains `[placeholders]` (parproc's `@Proto`).
///
/// ```no_run
/// use parproc_guest::prelude::*;
///
/// #[proto(
///     name = "deploy::[env]::[shard]",
///     deps = ["test::[env]", |d| format!("image::{}", d.arg("env").unwrap_or("dev"))],
///     choices(env = ["dev", "prod"], shard = [1, 2, 3]),
///     args(dry_run = false),
/// )]
/// fn deploy(ctx: &Context, env: String, shard: u32, dry_run: bool) -> Result<(), Error> {
///     ctx.info(&format!("deploying {env}/{shard} (dry run: {dry_run})"));
///     Ok(())
/// }
///
/// // Computed choices: one placeholder, or the whole map.
/// #[proto(name = "test::[env]", choices(env = |_d| vec!["dev", "prod"]))]
/// fn test(_env: String) {}
///
/// #[proto(name = "image::[env]", choices = |_d| [("env", vec![Value::from("dev")])])]
/// fn image(_env: String) {}
///
/// parproc_guest::export_jobs!(deploy, test, image);
/// # fn main() {}
/// ```
///
/// Every `[placeholder]` of the name needs a parameter of the same name (`_env` also
/// stands for `env`, to silence the unused-variable lint); every other parameter needs a
/// default in `args(...)`. The values taken from a name are converted to
/// the parameter types when the proc is created (`deploy::prod::2` gives `shard = 2`).
///
/// # Options
///
/// Everything [`macro@proc`] takes (the name may contain placeholders), plus:
///
/// | option | meaning |
/// |---|---|
/// | `choices(env = ["dev", "prod"], n = [1, 2])` | allowed values per placeholder; enables globs such as `deploy::*::1` |
/// | `choices(env = \|d\| vec!["a", "b"])` | computed values for one placeholder (a closure or a function taking `&DepContext`, returning a `Vec` or array of values, or a `Result` of one) |
/// | `choices = <expr>` | the whole map computed: returns `Vec<(&str, Vec<Value>)>`, an array of pairs or a map, or a `Result` of one |
///
/// In a proto, deps may also be patterns whose placeholders are filled from the created
/// proc's args (`"test::[env]"`), and `args(...)` may name keys that are not parameters:
/// they only feed dep resolution, as in parproc.
#[proc_macro_attribute]
pub fn proto(attr: TokenStream, item: TokenStream) -> TokenStream {
    job::expand(Kind::Proto, attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Exports the module's jobs to the host: the list of `#[proc]`/`#[proto]` functions, then
/// optionally `;` and module settings.
///
/// ```no_run
/// # use parproc_guest::prelude::*;
/// # #[proc] fn setup() {}
/// # #[proto(name = "build::[env]")] fn build(_env: String) {}
/// # #[proto(name = "deploy::[env]")] fn deploy(_env: String) {}
/// parproc_guest::export_jobs!(
///     setup, build, deploy;
///     targets = ["deploy::prod"],
///     parallel = 4,
///     mode = single,
///     separator = "::",
///     allow_missing_deps = false,
///     params(region = "eu", retries = 3, zones = ["a", "b"]),
/// );
/// # fn main() {}
/// ```
///
/// Invoke it exactly once, in the `cdylib` crate that becomes the component: it expands to
/// the wit-bindgen export glue, which must live in the final crate. The list is the whole
/// registry (no life-before-main tricks): a function that is not listed is not exported.
/// Jobs appear to the host in the order listed; two jobs with the same name are a compile
/// error.
///
/// # Settings
///
/// | setting | meaning |
/// |---|---|
/// | `targets = ["deploy::prod", "lint::*"]` | what runs when the user names no target (`now` procs run too); each must name a proc or proto passed to `export_jobs!` (a build error otherwise) |
/// | `parallel = N` | the most procs running at once |
/// | `mode = parallel` / `mode = single` | execution mode |
/// | `separator = "::"` | the separator between placeholders in names |
/// | `allow_missing_deps = true/false` | whether a dep on a proc that does not exist fails the dependent (true) or is an error when it is scheduled (false); with false, a literal dep that names no job passed here is a build error |
/// | `params(name = value, ...)` | global params; each value is any `serde::Serialize` expression and becomes JSON (`--param` overrides it) |
///
/// Command-line flags of the host override every setting.
#[proc_macro]
pub fn export_jobs(input: TokenStream) -> TokenStream {
    module::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

//! What a job module declares, in host terms, validated.
//!
//! This module is pure: it knows nothing of wasmtime or tokio. The runtime converts
//! the WIT `manifest` record into a [`Manifest`] (checking sizes and names); the
//! planner validates it further when a run begins.

pub mod name;
mod value;

pub use value::{Value, ValueType};

use std::time::Duration;

/// A dependency of a proc or proto.
#[derive(Debug, Clone, PartialEq)]
pub enum DepDecl {
    /// A proc name, filled-out name, pattern or glob.
    Name(String),
    /// Computed by the guest (`declarations.resolve-deps` with this dep's index).
    Computed,
    /// parproc's `NO_FAILURES`.
    NoFailures,
}

/// A reverse dependency.
#[derive(Debug, Clone, PartialEq)]
pub enum RdepDecl {
    /// Plain rdep pattern.
    Plain(String),
    /// parproc's `WhenScheduled`.
    WhenScheduled(String),
    /// parproc's `WhenTargetScheduled`.
    WhenTargetScheduled(String),
}

/// Where the allowed values of a placeholder come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceSource {
    /// A fixed list.
    Fixed(Vec<Value>),
    /// Computed by the guest.
    Computed,
}

/// A log-ignore rule (a regular expression).
#[derive(Debug, Clone, PartialEq)]
pub enum LogIgnore {
    /// Always ignored.
    Always(String),
    /// Ignored when the proc succeeded.
    IfSucceeded(String),
}

/// A directory a proc needs, by its guest path.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DirNeed {
    /// Path inside the sandbox.
    pub path: String,
    /// Whether the proc writes to it.
    pub writable: bool,
}

/// Capabilities a proc asks for.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Needs {
    /// Directories.
    pub dirs: Vec<DirNeed>,
    /// Environment variable names.
    pub env: Vec<String>,
    /// Network addresses.
    pub network: Vec<String>,
    /// Interactive input.
    pub input: bool,
    /// WASI command-line tools run through `context.exec`, by name.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Origins reached over `wasi:http` (`https://api.example.com`).
    #[serde(default)]
    pub http: Vec<String>,
}

/// Budgets a module declares; each can only lower the user's limit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limits {
    /// Wall-clock timeout.
    pub timeout: Option<Duration>,
    /// Fuel budget.
    pub fuel: Option<u64>,
    /// Memory cap in bytes.
    pub memory: Option<u64>,
}

/// Proc or proto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclKind {
    /// A concrete proc.
    Proc,
    /// A template.
    Proto,
}

/// One declaration of a module: a proc or a proto.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDecl {
    /// Proc or proto.
    pub kind: DeclKind,
    /// Name or name pattern.
    pub name: String,
    /// Function parameters and their declared types.
    pub params: Vec<(String, ValueType)>,
    /// Default args.
    pub defaults: Vec<(String, Value)>,
    /// Dependencies in order.
    pub deps: Vec<DepDecl>,
    /// Reverse dependencies.
    pub rdeps: Vec<RdepDecl>,
    /// Locks held while running.
    pub locks: Vec<String>,
    /// Wave number.
    pub wave: i32,
    /// Schedule as soon as it exists.
    pub now: bool,
    /// Declared budgets.
    pub limits: Limits,
    /// Choices per placeholder.
    pub choices: Vec<(String, ChoiceSource)>,
    /// The whole choices map is computed by the guest.
    pub choices_computed: bool,
    /// Log-ignore rules.
    pub log_ignore: Vec<LogIgnore>,
    /// Capabilities needed.
    pub needs: Needs,
    /// Free text for listings.
    pub description: String,
    /// Declared inputs, outputs and `no_skip` (docs/incremental.md).
    pub incremental: Incremental,
}

/// One declared input (parproc's `inputs`): guest paths whose `[param]`s are
/// filled from the proc's args.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum InputDecl {
    /// A path, or a glob when it contains `*`, `?` or `[`.
    Path(String),
    /// parproc's `regex_files(root, pattern)`.
    RegexFiles {
        /// The directory, a guest path.
        root: String,
        /// The regular expression, searched in each relative path.
        pattern: String,
    },
    /// Computed by the guest (`resolve-inputs`).
    Computed,
}

/// A file a proc must leave behind (parproc's `Output`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutputDecl {
    /// A guest path or glob.
    pub path: String,
    /// parproc's `max_age`.
    pub max_age: Option<Duration>,
    /// Check the age again after the run (parproc's `enforce_freshness`).
    pub enforce_freshness: bool,
}

/// What incremental runs know of a proc besides what it reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Incremental {
    /// Declared inputs.
    pub inputs: Vec<InputDecl>,
    /// Paths or globs removed from the declared inputs.
    pub inputs_ignore: Vec<String>,
    /// Files it must leave behind.
    pub outputs: Vec<OutputDecl>,
    /// Always run, never restore.
    pub no_skip: bool,
}

impl JobDecl {
    /// A proc declaration with defaults for everything but the name (for tests and tools).
    pub fn proc(name: impl Into<String>) -> Self {
        Self::new(DeclKind::Proc, name)
    }

    /// A proto declaration with defaults for everything but the name.
    pub fn proto(name: impl Into<String>) -> Self {
        Self::new(DeclKind::Proto, name)
    }

    fn new(kind: DeclKind, name: impl Into<String>) -> Self {
        JobDecl {
            kind,
            name: name.into(),
            params: Vec::new(),
            defaults: Vec::new(),
            deps: Vec::new(),
            rdeps: Vec::new(),
            locks: Vec::new(),
            wave: 0,
            now: false,
            limits: Limits::default(),
            choices: Vec::new(),
            choices_computed: false,
            log_ignore: Vec::new(),
            needs: Needs::default(),
            description: String::new(),
            incremental: Incremental::default(),
        }
    }

    /// The declared type of a parameter, if declared.
    pub fn param_type(&self, name: &str) -> Option<ValueType> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, t)| *t)
    }
}

/// Execution mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// One store per proc, concurrently.
    #[default]
    Parallel,
    /// One proc at a time.
    Single,
}

/// Run options a module may set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunOptions {
    /// Parallel limit.
    pub parallel: Option<u32>,
    /// Mode.
    pub mode: Option<Mode>,
    /// Name separator.
    pub separator: Option<String>,
    /// Whether missing deps fail the dependent (true) or are an error (false).
    pub allow_missing_deps: Option<bool>,
    /// The module asks for an incremental run (parproc's `task_db_path`).
    pub task_db: Option<bool>,
    /// Removed from every proc's declared inputs (parproc's `global_inputs_ignore`).
    pub inputs_ignore: Vec<String>,
}

/// Everything a module declares.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Manifest {
    /// Procs and protos in registration order.
    pub jobs: Vec<JobDecl>,
    /// Default targets.
    pub targets: Vec<String>,
    /// Run options.
    pub options: RunOptions,
    /// Global params as JSON values.
    pub params: Vec<(String, serde_json::Value)>,
}

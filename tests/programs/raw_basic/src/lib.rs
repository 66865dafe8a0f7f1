//! Runtime fixture: a job module written directly against wit-bindgen, built
//! against `parproc:jobs@0.1.0` (`wit/compat/`), so every runtime test that uses
//! it also checks that modules of the older version still load and run.
//!
//! Procs (run through `procs.run`):
//! - `hello`: prints a line to stdout and stderr, logs through the context and
//!   returns `"hi"`;
//! - `quiet`: returns `42` without touching the context;
//! - `partial`: prints (and flushes) without a trailing newline, returns `null`;
//! - `chatty`: prints 100 000 numbered lines, returns `null`;
//! - `spin`: loops forever; `sleep_forever`: sleeps for an hour;
//! - `alloc`: allocates and touches 200 MiB, returns its length;
//! - `panic`: panics with `boom`; `bad_json`: returns text that is not JSON;
//! - `huge_result`: returns a 17 MiB JSON string;
//! - `fail`, `skip`, `no_change`: return the matching `proc-error`;
//! - `echo_args`: returns how many args it got and the first one's name;
//! - `ctx_name`: returns its own name (through `context.proc-name`) as JSON;
//! - `ctx_create`: calls `context.create("quiet")` and returns the names;
//! - `ctx_wait`: waits for `quiet` (through `context.wait`) and returns the
//!   state it was told, as JSON (`"succeeded"`; a proc restored up to date by
//!   an incremental run is shown to a 0.1.0 module as succeeded);
//! - `build::[env]` (a proto): returns its env as JSON.
//!
//! Callbacks (through `declarations`): `resolve-deps` answers `["quiet"]`, but
//! panics for `build::boom`, loops forever for `build::loop`, and returns
//! 1 000 001 names for `build::many` (one over the limit); `resolve-choices` answers
//! `env = [dev, prod, boom]`.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the fixture's procs write to stdout and stderr on purpose"
)]

wit_bindgen::generate!({
    world: "jobs",
    path: "../../../wit/compat/parproc-0.1.0.wit",
});

use exports::parproc::jobs::{declarations, procs};
use parproc::jobs::context;
use parproc::jobs::types::{
    Arg, ArgChoices, ChoiceSource, DeclKind, DepContext, DepDecl, JobDecl, Limits, LogLevel,
    Manifest, Needs, ParamDecl, ProcError, ProcState, RunOptions, Value, ValueType,
};

struct Basic;

fn job(kind: DeclKind, name: &str) -> JobDecl {
    JobDecl {
        kind,
        name: name.to_owned(),
        params: Vec::new(),
        defaults: Vec::new(),
        deps: Vec::new(),
        rdeps: Vec::new(),
        locks: Vec::new(),
        wave: 0,
        now: false,
        limits: Limits {
            timeout_ms: None,
            fuel: None,
            memory_bytes: None,
        },
        choices: Vec::new(),
        choices_computed: false,
        log_ignore: Vec::new(),
        needs: Needs {
            dirs: Vec::new(),
            env: Vec::new(),
            network: Vec::new(),
            input: false,
        },
        description: String::new(),
    }
}

const PROCS: &[&str] = &[
    "hello",
    "quiet",
    "partial",
    "chatty",
    "spin",
    "sleep_forever",
    "alloc",
    "panic",
    "bad_json",
    "huge_result",
    "fail",
    "skip",
    "no_change",
    "echo_args",
    "ctx_name",
    "ctx_create",
    "ctx_wait",
];

impl declarations::Guest for Basic {
    fn describe() -> Manifest {
        let mut jobs: Vec<JobDecl> = PROCS.iter().map(|n| job(DeclKind::Proc, n)).collect();
        jobs[0].description = "says hi".to_owned();
        let mut build = job(DeclKind::Proto, "build::[env]");
        build.params = vec![ParamDecl {
            name: "env".to_owned(),
            ty: ValueType::Text,
        }];
        build.deps = vec![DepDecl::Computed, DepDecl::Name("quiet".to_owned())];
        build.choices = vec![ArgChoices {
            param: "env".to_owned(),
            source: ChoiceSource::Computed,
        }];
        jobs.push(build);
        Manifest {
            jobs,
            targets: vec!["hello".to_owned()],
            options: RunOptions {
                parallel: Some(4),
                mode: None,
                separator: None,
                allow_missing_deps: None,
            },
            params: vec![("level".to_owned(), "3".to_owned())],
        }
    }

    fn resolve_deps(decl: String, index: u32, ctx: DepContext) -> Result<Vec<String>, String> {
        match ctx.proc_name.as_str() {
            "build::boom" => panic!("callback boom"),
            "build::loop" => loop {
                std::hint::black_box(&ctx);
            },
            "build::many" => Ok((0..1_000_001).map(|i| format!("d{i}")).collect()),
            "build::err" => Err(format!("no deps for `{decl}` at {index}")),
            _ => Ok(vec!["quiet".to_owned()]),
        }
    }

    fn resolve_choices(
        _decl: String,
        param: Option<String>,
        _ctx: DepContext,
    ) -> Result<Vec<(String, Vec<Value>)>, String> {
        let values = ["dev", "prod", "boom"]
            .map(|v| Value::Text(v.to_owned()))
            .to_vec();
        Ok(vec![(param.unwrap_or_else(|| "env".to_owned()), values)])
    }
}

fn json_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl procs::Guest for Basic {
    fn run(decl: String, proc_name: String, args: Vec<Arg>) -> Result<String, ProcError> {
        match decl.as_str() {
            "hello" => {
                println!("hello from stdout");
                eprintln!("hello from stderr");
                context::log(LogLevel::Info, "hello from log");
                Ok("\"hi\"".to_owned())
            }
            "quiet" => Ok("42".to_owned()),
            "partial" => {
                print!("no newline");
                // Rust's stdout is line-buffered and an export returning does not flush it.
                let _ = std::io::Write::flush(&mut std::io::stdout());
                Ok("null".to_owned())
            }
            "chatty" => {
                for i in 0..100_000 {
                    println!("line {i}");
                }
                Ok("null".to_owned())
            }
            "spin" => {
                let mut x = 1u64;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            "sleep_forever" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok("null".to_owned())
            }
            "alloc" => {
                let v = vec![1u8; 200 << 20];
                Ok(std::hint::black_box(v).len().to_string())
            }
            "panic" => panic!("boom"),
            "bad_json" => Ok("not json {".to_owned()),
            "huge_result" => Ok(json_string(&"x".repeat(17 << 20))),
            "fail" => Err(ProcError::Failed("nope".to_owned())),
            "skip" => Err(ProcError::Skipped("nothing to do".to_owned())),
            "no_change" => Err(ProcError::NoChange("up to date".to_owned())),
            "echo_args" => {
                let first = args.first().map_or("", |a| a.name.as_str());
                Ok(format!("[{}, {}]", args.len(), json_string(first)))
            }
            "ctx_name" => Ok(json_string(&context::proc_name())),
            "ctx_create" => match context::create("quiet", &[], None) {
                Ok(names) => Ok(format!("{}", names.len())),
                Err(e) => Err(ProcError::Failed(e)),
            },
            "ctx_wait" => match context::wait(&["quiet".to_owned()]) {
                Ok(status) => Ok(json_string(
                    &status
                        .iter()
                        .map(|s| match s.state {
                            ProcState::Succeeded => "succeeded",
                            ProcState::Skipped => "skipped",
                            ProcState::Failed | ProcState::FailedDep => "failed",
                            _ => "other",
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                Err(e) => Err(ProcError::Failed(e)),
            },
            "build::[env]" => match args.iter().find(|a| a.name == "env").map(|a| &a.value) {
                Some(Value::Text(env)) => Ok(json_string(env)),
                _ => Err(ProcError::Failed(format!("`{proc_name}` has no env"))),
            },
            other => Err(ProcError::Failed(format!("unknown proc `{other}`"))),
        }
    }
}

export!(Basic);

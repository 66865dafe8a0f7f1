//! A whole module, built natively: what `describe` declares, what the callbacks compute and
//! what `run` returns. (Context calls need the host, so the jobs here avoid them.)

use std::collections::BTreeMap;

use parproc_guest::bindings::exports::parproc::jobs::declarations::Guest as _;
use parproc_guest::bindings::exports::parproc::jobs::procs::Guest as _;
use parproc_guest::bindings::parproc::jobs::types::{
    ArgChoices, ChoiceSource, DeclKind, DepContext as WitDepContext, DepDecl, DirNeed, Incremental,
    InputDecl, JobDecl, Limits, LogIgnore, Mode, Needs, OutputDecl, ParamDecl, ProcError, RdepDecl,
    RegexFiles, RunOptions, ValueType,
};
use parproc_guest::prelude::*;
use parproc_guest::{Arg, serde_json};

/// Prepares the workspace.
///
/// The rest of the docs is not the description.
#[proc(
    now,
    locks = ["db", "net"],
    wave = -2,
    timeout = 1.5,
    fuel = 1_000_000,
    memory = 64_000_000,
    log_ignore = ["^noise"],
    log_ignore_if_succeeded = ["^warning:"],
    needs(
        dirs = ["/src"],
        dirs_rw = ["/out"],
        env = ["HOME"],
        network = ["example.com:443"],
        input,
        tools = ["yosys", "nextpnr-ice40"],
        http = ["https://api.example.com", "http://127.0.0.1:8080"],
    ),
    inputs = ["/src/*.rs", regex_files("/src", r"\.toml$"), |d| vec![format!("/src/{}.cfg", d.proc_name())]],
    inputs_ignore = ["/src/**/*.bak"],
    outputs = ["/out/bin", output("/out/map", max_age = "2h", enforce_freshness = false)],
    no_skip,
)]
fn setup() {}

fn lint_deps(d: &DepContext) -> Result<Vec<String>, String> {
    match d.arg("env") {
        Some(env) => Ok(vec![format!("lint::{env}"), "fmt".to_owned()]),
        None => Err("no env".to_owned()),
    }
}

#[proto(
    name = "build::[env]::[n]",
    deps = ["setup", NO_FAILURES, |d| format!("gen::{}", d.proc_name()), lint_deps],
    rdeps = ["deploy::[env]", when_scheduled("test::[env]"), when_target_scheduled("pkg::[env]")],
    choices(env = ["dev", "prod"], n = |_d| vec![1, 2]),
    args(n = 1, extra = "x"),
    description = "Builds one shard",
)]
fn build(ctx: &Context, env: String, n: i32) -> Result<String, Error> {
    Ok(format!("{} built {env}/{n}", ctx.proc_name()))
}

#[proto(name = "matrix::[os]::[arch]", choices = |d| vec![
    ("os", vec![Value::from("linux"), Value::from(d.arg("arch").unwrap_or("?"))]),
    ("arch", vec![Value::from("x86")]),
])]
fn matrix(os: String, arch: String) -> Result<BTreeMap<String, String>, Error> {
    Ok(BTreeMap::from([(os, arch)]))
}

#[proto(name = "quiet::[env]")]
fn quiet(_env: String) {}

#[proc(args(count = 3, label = "a", flag = true, ratio = 0.5, small = 7))]
fn typed(count: i64, label: String, flag: bool, ratio: f64, small: u8) -> Result<Value, Error> {
    Err(Error::failed(format!(
        "{count} {label} {flag} {ratio} {small}"
    )))
}

#[proc]
fn nothing_to_do() -> Result<(), Error> {
    Err(Error::skipped("Nothing to do for this run"))
}

#[proc]
fn io_failure() -> Result<String, Error> {
    Ok(std::fs::read_to_string("/definitely/not/here")?)
}

#[proc]
fn unserialisable() -> Result<BTreeMap<(i32, i32), i32>, Error> {
    Ok(BTreeMap::from([((1, 2), 3)]))
}

#[proc]
fn structured() -> Result<serde_json::Value, std::io::Error> {
    Ok(json!({ "ok": true, "items": [1, 2] }))
}

parproc_guest::export_jobs!(
    setup, build, matrix, typed, nothing_to_do, io_failure, unserialisable, structured, quiet;
    targets = ["build::*::1", "setup"],
    parallel = 4,
    mode = single,
    separator = "::",
    allow_missing_deps = false,
    params(region = "eu", retries = 3, zones = ["a", "b"]),
    task_db,
    inputs_ignore = ["/src/**/*.tmp"],
);

fn dep_ctx(proc_name: &str, args: &[(&str, &str)]) -> WitDepContext {
    WitDepContext {
        proc_name: proc_name.to_owned(),
        args: args
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        params: vec![],
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

#[test]
fn describe_declares_the_module() {
    let manifest = __ParprocJobs::describe();
    let names: Vec<&str> = manifest.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "setup",
            "build::[env]::[n]",
            "matrix::[os]::[arch]",
            "typed",
            "nothing_to_do",
            "io_failure",
            "unserialisable",
            "structured",
            "quiet::[env]"
        ]
    );
    assert_eq!(manifest.targets, ["build::*::1", "setup"]);
    assert_eq!(
        manifest.options,
        RunOptions {
            parallel: Some(4),
            mode: Some(Mode::Single),
            separator: Some("::".to_owned()),
            allow_missing_deps: Some(false),
            task_db: Some(true),
            inputs_ignore: vec!["/src/**/*.tmp".to_owned()],
        }
    );
    assert_eq!(
        manifest.params,
        [
            ("region".to_owned(), "\"eu\"".to_owned()),
            ("retries".to_owned(), "3".to_owned()),
            ("zones".to_owned(), "[\"a\",\"b\"]".to_owned()),
        ]
    );
}

#[test]
fn proc_options_map_onto_job_decl() {
    let manifest = __ParprocJobs::describe();
    assert_eq!(
        manifest.jobs[0],
        JobDecl {
            kind: DeclKind::Proc,
            name: "setup".to_owned(),
            params: vec![],
            defaults: vec![],
            deps: vec![],
            rdeps: vec![],
            locks: vec!["db".to_owned(), "net".to_owned()],
            wave: -2,
            now: true,
            limits: Limits {
                timeout_ms: Some(1500),
                fuel: Some(1_000_000),
                memory_bytes: Some(64_000_000),
            },
            choices: vec![],
            choices_computed: false,
            log_ignore: vec![
                LogIgnore::Always("^noise".to_owned()),
                LogIgnore::IfSucceeded("^warning:".to_owned()),
            ],
            needs: Needs {
                dirs: vec![
                    DirNeed {
                        path: "/src".to_owned(),
                        writable: false
                    },
                    DirNeed {
                        path: "/out".to_owned(),
                        writable: true
                    },
                ],
                env: vec!["HOME".to_owned()],
                network: vec!["example.com:443".to_owned()],
                input: true,
                tools: vec!["yosys".to_owned(), "nextpnr-ice40".to_owned()],
                http: vec![
                    "https://api.example.com".to_owned(),
                    "http://127.0.0.1:8080".to_owned()
                ],
            },
            description: "Prepares the workspace.".to_owned(),
            incremental: Incremental {
                inputs: vec![
                    InputDecl::Path("/src/*.rs".to_owned()),
                    InputDecl::RegexFiles(RegexFiles {
                        root: "/src".to_owned(),
                        pattern: r"\.toml$".to_owned(),
                    }),
                    InputDecl::Computed,
                ],
                inputs_ignore: vec!["/src/**/*.bak".to_owned()],
                outputs: vec![
                    OutputDecl {
                        path: "/out/bin".to_owned(),
                        max_age: None,
                        enforce_freshness: true,
                    },
                    OutputDecl {
                        path: "/out/map".to_owned(),
                        max_age: Some("2h".to_owned()),
                        enforce_freshness: false,
                    },
                ],
                no_skip: true,
            },
        }
    );
    assert_eq!(
        __ParprocJobs::resolve_inputs("setup".to_owned(), 2, dep_ctx("setup", &[])),
        Ok(vec!["/src/setup.cfg".to_owned()])
    );
    assert_eq!(
        __ParprocJobs::resolve_inputs("setup".to_owned(), 0, dep_ctx("setup", &[])),
        Err("input 0 of `setup` is not a computed input".to_owned())
    );
}

#[test]
fn proto_options_map_onto_job_decl() {
    let manifest = __ParprocJobs::describe();
    let build = &manifest.jobs[1];
    assert_eq!(build.kind, DeclKind::Proto);
    assert_eq!(
        build.params,
        [
            ParamDecl {
                name: "env".to_owned(),
                ty: ValueType::Text
            },
            ParamDecl {
                name: "n".to_owned(),
                ty: ValueType::Integer
            },
        ]
    );
    assert_eq!(
        build.defaults,
        [Arg::new("n", Value::Integer(1)), Arg::new("extra", "x")]
    );
    assert_eq!(
        build.deps,
        [
            DepDecl::Name("setup".to_owned()),
            DepDecl::NoFailures,
            DepDecl::Computed,
            DepDecl::Computed,
        ]
    );
    assert_eq!(
        build.rdeps,
        [
            RdepDecl::Plain("deploy::[env]".to_owned()),
            RdepDecl::WhenScheduled("test::[env]".to_owned()),
            RdepDecl::WhenTargetScheduled("pkg::[env]".to_owned()),
        ]
    );
    assert_eq!(
        build.choices,
        [
            ArgChoices {
                param: "env".to_owned(),
                source: ChoiceSource::Fixed(vec![text("dev"), text("prod")]),
            },
            ArgChoices {
                param: "n".to_owned(),
                source: ChoiceSource::Computed
            },
        ]
    );
    assert!(!build.choices_computed);
    assert_eq!(build.description, "Builds one shard");
    assert_eq!(
        build.limits,
        Limits {
            timeout_ms: None,
            fuel: None,
            memory_bytes: None
        }
    );

    let matrix = &manifest.jobs[2];
    assert!(matrix.choices_computed);
    assert!(matrix.choices.is_empty());

    let typed = &manifest.jobs[3];
    let types: Vec<ValueType> = typed.params.iter().map(|p| p.ty).collect();
    assert_eq!(
        types,
        [
            ValueType::Integer,
            ValueType::Text,
            ValueType::Boolean,
            ValueType::Float,
            ValueType::Integer
        ]
    );
    assert_eq!(typed.defaults[3], Arg::new("ratio", 0.5));

    let quiet = manifest.jobs.last().unwrap();
    assert_eq!(
        quiet.params,
        [ParamDecl {
            name: "env".to_owned(),
            ty: ValueType::Text
        }]
    );
}

#[test]
fn computed_deps_are_called_by_index() {
    let deps = __ParprocJobs::resolve_deps(
        "build::[env]::[n]".to_owned(),
        2,
        dep_ctx("build::prod::2", &[("env", "prod")]),
    );
    assert_eq!(deps, Ok(vec!["gen::build::prod::2".to_owned()]));

    let deps = __ParprocJobs::resolve_deps(
        "build::[env]::[n]".to_owned(),
        3,
        dep_ctx("build::prod::2", &[("env", "prod")]),
    );
    assert_eq!(deps, Ok(vec!["lint::prod".to_owned(), "fmt".to_owned()]));

    let failed =
        __ParprocJobs::resolve_deps("build::[env]::[n]".to_owned(), 3, dep_ctx("build", &[]));
    assert_eq!(failed, Err("no env".to_owned()));

    let not_computed =
        __ParprocJobs::resolve_deps("build::[env]::[n]".to_owned(), 0, dep_ctx("x", &[]));
    assert_eq!(
        not_computed,
        Err("dep 0 of `build::[env]::[n]` is not a computed dep".to_owned())
    );
    let unknown = __ParprocJobs::resolve_deps("nope".to_owned(), 0, dep_ctx("x", &[]));
    assert_eq!(
        unknown,
        Err("this module declares no proc or proto named `nope`".to_owned())
    );
}

#[test]
fn computed_choices() {
    let n = __ParprocJobs::resolve_choices(
        "build::[env]::[n]".to_owned(),
        Some("n".to_owned()),
        dep_ctx("build::*::*", &[]),
    );
    assert_eq!(
        n,
        Ok(vec![(
            "n".to_owned(),
            vec![Value::Integer(1), Value::Integer(2)]
        )])
    );

    let all = __ParprocJobs::resolve_choices(
        "build::[env]::[n]".to_owned(),
        None,
        dep_ctx("build::*::*", &[]),
    );
    assert_eq!(
        all,
        Ok(vec![
            ("env".to_owned(), vec![text("dev"), text("prod")]),
            ("n".to_owned(), vec![Value::Integer(1), Value::Integer(2)]),
        ])
    );

    let map = __ParprocJobs::resolve_choices(
        "matrix::[os]::[arch]".to_owned(),
        None,
        dep_ctx("matrix::*::arm", &[("arch", "arm")]),
    );
    assert_eq!(
        map,
        Ok(vec![
            ("os".to_owned(), vec![text("linux"), text("arm")]),
            ("arch".to_owned(), vec![text("x86")]),
        ])
    );
}

#[test]
fn run_converts_args_and_results() {
    let built = __ParprocJobs::run(
        "build::[env]::[n]".to_owned(),
        "build::prod::2".to_owned(),
        vec![Arg::new("env", "prod"), Arg::new("n", 2)],
    );
    assert_eq!(built, Ok("\"build::prod::2 built prod/2\"".to_owned()));

    // A parameter the host did not send takes its `args(...)` default.
    let defaulted = __ParprocJobs::run(
        "build::[env]::[n]".to_owned(),
        "build::dev::1".to_owned(),
        vec![Arg::new("env", "dev")],
    );
    assert_eq!(defaulted, Ok("\"build::dev::1 built dev/1\"".to_owned()));

    let out_of_range = __ParprocJobs::run(
        "build::[env]::[n]".to_owned(),
        "build::dev::3000000000".to_owned(),
        vec![
            Arg::new("env", "dev"),
            Arg::new("n", Value::Integer(3_000_000_000)),
        ],
    );
    assert_eq!(
        out_of_range,
        Err(ProcError::Failed(
            "argument `n`: 3000000000 is out of range for `i32`".to_owned()
        ))
    );

    let typed = __ParprocJobs::run("typed".to_owned(), "typed".to_owned(), vec![]);
    assert_eq!(typed, Err(ProcError::Failed("3 a true 0.5 7".to_owned())));

    let matrix = __ParprocJobs::run(
        "matrix::[os]::[arch]".to_owned(),
        "matrix::linux::x86".to_owned(),
        vec![Arg::new("os", "linux"), Arg::new("arch", "x86")],
    );
    assert_eq!(matrix, Ok("{\"linux\":\"x86\"}".to_owned()));
}

#[test]
fn run_outcomes() {
    let run = |name: &str| __ParprocJobs::run(name.to_owned(), name.to_owned(), vec![]);
    assert_eq!(run("setup"), Ok("null".to_owned()));
    assert_eq!(
        run("nothing_to_do"),
        Err(ProcError::Skipped("Nothing to do for this run".to_owned()))
    );
    assert!(matches!(run("io_failure"), Err(ProcError::Failed(m)) if m.contains("No such file")));
    assert_eq!(
        run("unserialisable"),
        Err(ProcError::Failed(
            "result is not serialisable: key must be a string".to_owned()
        ))
    );
    let structured: serde_json::Value = serde_json::from_str(&run("structured").unwrap()).unwrap();
    assert_eq!(structured, json!({ "ok": true, "items": [1, 2] }));
    assert_eq!(
        run("nope"),
        Err(ProcError::Failed(
            "this module declares no proc or proto named `nope`".to_owned()
        ))
    );
}

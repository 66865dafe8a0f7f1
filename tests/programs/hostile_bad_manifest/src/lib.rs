//! Test fixture: a job module whose `describe` returns a malformed declaration
//! (a network need that is not an address). Loading it is an error naming the
//! declaration.

wit_bindgen::generate!({
    world: "jobs",
    path: "../../../wit",
    generate_all,
});

use exports::parproc::jobs::{declarations, procs};
use parproc::jobs::types::{
    Arg, DeclKind, DepContext, Incremental, JobDecl, Limits, Manifest, Needs, ProcError,
    RunOptions, Value,
};

struct BadManifest;

fn job(name: &str, network: Vec<String>) -> JobDecl {
    JobDecl {
        kind: DeclKind::Proc,
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
            network,
            input: false,
            tools: Vec::new(),
            http: Vec::new(),
        },
        description: String::new(),
        incremental: Incremental {
            inputs: Vec::new(),
            inputs_ignore: Vec::new(),
            outputs: Vec::new(),
            no_skip: false,
        },
    }
}

impl declarations::Guest for BadManifest {
    fn describe() -> Manifest {
        Manifest {
            jobs: vec![
                job("fine", Vec::new()),
                job("fetch", vec!["not an address".to_owned()]),
            ],
            targets: Vec::new(),
            options: RunOptions {
                parallel: None,
                mode: None,
                separator: None,
                allow_missing_deps: None,
                task_db: None,
                inputs_ignore: Vec::new(),
            },
            params: Vec::new(),
        }
    }

    fn resolve_deps(_decl: String, _index: u32, _ctx: DepContext) -> Result<Vec<String>, String> {
        Err("unused".to_owned())
    }

    fn resolve_inputs(_decl: String, _index: u32, _ctx: DepContext) -> Result<Vec<String>, String> {
        Err("unused".to_owned())
    }

    fn resolve_choices(
        _decl: String,
        _param: Option<String>,
        _ctx: DepContext,
    ) -> Result<Vec<(String, Vec<Value>)>, String> {
        Err("unused".to_owned())
    }
}

impl procs::Guest for BadManifest {
    fn run(_decl: String, _proc_name: String, _args: Vec<Arg>) -> Result<String, ProcError> {
        Err(ProcError::Failed("unused".to_owned()))
    }
}

export!(BadManifest);

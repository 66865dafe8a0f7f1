//! Runtime fixture: a job module whose `describe` panics (a load error).

wit_bindgen::generate!({
    world: "jobs",
    path: "../../../wit/compat/parproc-0.1.0.wit",
});

use exports::parproc::jobs::{declarations, procs};
use parproc::jobs::types::{Arg, DepContext, Manifest, ProcError, Value};

struct BadDescribe;

impl declarations::Guest for BadDescribe {
    fn describe() -> Manifest {
        panic!("describe is broken")
    }

    fn resolve_deps(_decl: String, _index: u32, _ctx: DepContext) -> Result<Vec<String>, String> {
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

impl procs::Guest for BadDescribe {
    fn run(_decl: String, _proc_name: String, _args: Vec<Arg>) -> Result<String, ProcError> {
        Err(ProcError::Failed("unused".to_owned()))
    }
}

export!(BadDescribe);

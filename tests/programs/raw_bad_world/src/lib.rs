//! Runtime fixture: a job module that also imports an interface the host does
//! not provide (`test:bad/missing`), so loading it fails at link time.

wit_bindgen::generate!({
    path: "../../../wit/compat/parproc-0.1.0.wit",
    inline: "
        package test:bad;

        interface missing {
            nothing: func();
        }

        world bad {
            include parproc:jobs/jobs@0.1.0;
            import missing;
        }
    ",
    world: "test:bad/bad",
    generate_all,
});

use exports::parproc::jobs::{declarations, procs};
use parproc::jobs::types::{Arg, DepContext, Manifest, ProcError, RunOptions, Value};

struct BadWorld;

impl declarations::Guest for BadWorld {
    fn describe() -> Manifest {
        Manifest {
            jobs: Vec::new(),
            targets: Vec::new(),
            options: RunOptions {
                parallel: None,
                mode: None,
                separator: None,
                allow_missing_deps: None,
            },
            params: Vec::new(),
        }
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

impl procs::Guest for BadWorld {
    fn run(_decl: String, _proc_name: String, _args: Vec<Arg>) -> Result<String, ProcError> {
        test::bad::missing::nothing();
        Ok("null".to_owned())
    }
}

export!(BadWorld);

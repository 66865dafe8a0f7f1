//! Test fixture: procs that run WASI tools through `context.exec`.
//!
//! Protos `p1::[case]` and `p2::[case]` need the tool of the same name
//! (`--tool p1=…` a preview1 command module, `--tool p2=…` a component) and
//! the directories `/data` (read-only) and `/out` (writable); `undeclared`
//! needs no tool and calls one anyway. Each case is one `exec` (see
//! [`request`]); the result is the output as JSON
//! (`{"exit", "stdout", "stderr", "truncated"}`, text lossily decoded, and
//! `stdout_len`/`stderr_len`) or `{"err": …}` when exec refused.

wit_bindgen::generate!({
    world: "jobs",
    path: "../../../wit",
    generate_all,
});

use exports::parproc::jobs::{declarations, procs};
use parproc::jobs::context;
use parproc::jobs::types::{
    Arg, DeclKind, DepContext, DirNeed, ExecDir, ExecRequest, Incremental, JobDecl, Limits,
    Manifest, Needs, ParamDecl, ProcError, RunOptions, Value, ValueType,
};

struct ToolJobs;

fn job(name: &str, tools: &[&str]) -> JobDecl {
    let placeholder = name.contains('[');
    JobDecl {
        kind: if placeholder {
            DeclKind::Proto
        } else {
            DeclKind::Proc
        },
        name: name.to_owned(),
        params: match placeholder {
            true => vec![ParamDecl {
                name: "case".to_owned(),
                ty: ValueType::Text,
            }],
            false => Vec::new(),
        },
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
            dirs: vec![
                DirNeed {
                    path: "/data".to_owned(),
                    writable: false,
                },
                DirNeed {
                    path: "/out".to_owned(),
                    writable: true,
                },
            ],
            env: Vec::new(),
            network: Vec::new(),
            input: false,
            tools: tools.iter().map(|t| (*t).to_owned()).collect(),
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

fn dir(path: &str, writable: bool) -> ExecDir {
    ExecDir {
        path: path.to_owned(),
        writable,
    }
}

/// The exec of `case` with the tool `tool`.
fn request(tool: &str, case: &str) -> ExecRequest {
    let mut r = ExecRequest {
        tool: tool.to_owned(),
        args: Vec::new(),
        env: Vec::new(),
        stdin: Vec::new(),
        dirs: Vec::new(),
        max_output: None,
    };
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    match case {
        "echo" => {
            r.args = args(&["echo", "a", "b c"]);
            r.env = vec![("GREETING".to_owned(), "hi".to_owned())];
        }
        "cat" => {
            r.args = args(&["cat", "/data/in.txt"]);
            r.dirs = vec![dir("/data", false)];
        }
        // The proc has /data but does not pass it on.
        "cat_unpassed" => r.args = args(&["cat", "/data/in.txt"]),
        "cat_outside" => {
            r.args = args(&["cat", "/data/../../etc/passwd"]);
            r.dirs = vec![dir("/data", false)];
        }
        "write_ro" => {
            r.args = args(&["write", "/data/new.txt", "nope"]);
            r.dirs = vec![dir("/data", false)];
        }
        "write_out" => {
            r.args = args(&["write", "/out/hello.txt", "written by a tool"]);
            r.dirs = vec![dir("/out", true)];
        }
        "pass_writable" => {
            r.args = args(&["ls", "/data"]);
            r.dirs = vec![dir("/data", true)];
        }
        "pass_ungranted" => {
            r.args = args(&["ls", "/secret"]);
            r.dirs = vec![dir("/secret", false)];
        }
        "stdin" => {
            r.args = args(&["stdin"]);
            r.stdin = b"piped in".to_vec();
        }
        "exit" => r.args = args(&["exit", "7"]),
        "flood" => {
            r.args = args(&["flood", "3000000"]);
            r.max_output = Some(1000);
        }
        "flood_default" => r.args = args(&["flood", "3000000"]),
        "spin" => r.args = args(&["spin"]),
        "sleep" => r.args = args(&["sleep"]),
        "alloc" => r.args = args(&["alloc", "512"]),
        "tmp" => r.args = args(&["tmp", "2000000"]),
        "ls_tmp" => r.args = args(&["ls", "/tmp"]),
        "ls_root" => r.args = args(&["ls", "/"]),
        "unknown_tool" => r.tool = "nope".to_owned(),
        other => r.args = args(&[other]),
    }
    r
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn exec_json(r: ExecRequest) -> serde_json::Value {
    match context::exec(&r) {
        Ok(o) => serde_json::json!({
            "exit": o.exit_code,
            "stdout": text(&o.stdout[..o.stdout.len().min(4096)]),
            "stderr": text(&o.stderr[..o.stderr.len().min(4096)]),
            "stdout_len": o.stdout.len(),
            "stderr_len": o.stderr.len(),
            "truncated": o.truncated,
        }),
        Err(e) => serde_json::json!({ "err": e }),
    }
}

impl declarations::Guest for ToolJobs {
    fn describe() -> Manifest {
        Manifest {
            jobs: vec![
                job("p1::[case]", &["p1"]),
                job("p2::[case]", &["p2"]),
                job("undeclared", &[]),
                job("twice", &["p2"]),
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

impl procs::Guest for ToolJobs {
    fn run(decl: String, _proc_name: String, args: Vec<Arg>) -> Result<String, ProcError> {
        let case = args
            .iter()
            .find(|a| a.name == "case")
            .and_then(|a| match &a.value {
                Value::Text(t) => Some(t.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let value = match decl.as_str() {
            "undeclared" => exec_json(request("p2", "echo")),
            // Two tool runs in one proc: the second sees a fresh, empty /tmp.
            "twice" => serde_json::json!([
                exec_json(request("p2", "tmp")),
                exec_json(request("p2", "ls_tmp")),
            ]),
            d => exec_json(request(&d[..2], &case)),
        };
        Ok(value.to_string())
    }
}

export!(ToolJobs);

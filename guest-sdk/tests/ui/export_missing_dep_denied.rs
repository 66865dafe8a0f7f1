use parproc_guest::prelude::*;

#[proc]
fn build() {}

// `build` is a job; `test::[env]` names nothing, which can never run when missing deps are
// denied (allowed, the default, it fails `deploy::...` at run time as in parproc).
#[proto(name = "deploy::[env]", deps = ["build", "test::[env]"])]
fn deploy(_env: String) {}

parproc_guest::export_jobs!(build, deploy; allow_missing_deps = false);

fn main() {}

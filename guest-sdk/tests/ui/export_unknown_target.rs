use parproc_guest::prelude::*;

#[proc]
fn build() {}

#[proto(name = "deploy::[env]")]
fn deploy(_env: String) {}

// `deploy::prod` and `deploy::*` name the proto; `buidl` names nothing.
parproc_guest::export_jobs!(build, deploy; targets = ["build", "deploy::prod", "deploy::*", "buidl"]);

fn main() {}

use parproc_guest::prelude::*;

#[proc]
fn build() {}

parproc_guest::export_jobs!(build; target = ["build"]);

fn main() {}

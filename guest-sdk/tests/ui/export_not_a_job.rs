use parproc_guest::prelude::*;

#[proc]
fn build() {}

fn helper() {}

parproc_guest::export_jobs!(build, helper);

fn main() {}

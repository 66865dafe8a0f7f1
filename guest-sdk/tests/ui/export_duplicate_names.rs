use parproc_guest::prelude::*;

#[proc(name = "build")]
fn build_a() {}

#[proc(name = "build")]
fn build_b() {}

parproc_guest::export_jobs!(build_a, build_b);

fn main() {}

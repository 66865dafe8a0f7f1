use parproc_guest::prelude::*;

#[proc(now, wave = 1, now)]
fn build() {}

fn main() {}

use parproc_guest::prelude::*;

#[proc(args(count = 1))]
fn setup(count: i64, label: String) {
    let _ = (count, label);
}

fn main() {}

use parproc_guest::prelude::*;

#[proto(name = "shard::[n]", args(n = "one"))]
fn shard(n: u32) {
    let _ = n;
}

fn main() {}

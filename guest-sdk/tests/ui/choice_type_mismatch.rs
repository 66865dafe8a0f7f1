use parproc_guest::prelude::*;

#[proto(name = "shard::[n]", choices(n = [1, 2, "three"]))]
fn shard(n: u32) {
    let _ = n;
}

fn main() {}

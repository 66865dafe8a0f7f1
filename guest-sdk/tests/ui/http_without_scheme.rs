use parproc_guest::prelude::*;

#[proc(needs(http = ["https://api.example.com", "example.com:443"]))]
fn fetch() {}

fn main() {}

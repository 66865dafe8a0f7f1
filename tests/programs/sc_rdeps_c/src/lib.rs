//! Scenario fixture: an rdep runs strictly before its target (S-RDEP-06). `B::[a]::[b]`
//! says `B_before_setup` if `setup`'s result is not visible to it when it starts.

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;

#[proc(rdeps = ["B::[a]::[b]"])]
fn setup() -> Result<String, Error> {
    sleep(Duration::from_millis(50));
    Ok("setup_done".to_owned())
}

#[proto(name = "B::[a]::[b]")]
fn proto_b(ctx: &Context, a: String, b: i64) -> Result<String, Error> {
    if ctx.result_json("setup").is_none() {
        return Ok("B_before_setup".to_owned());
    }
    Ok(format!("B_{a}_{b}"))
}

parproc_guest::export_jobs!(setup, proto_b);

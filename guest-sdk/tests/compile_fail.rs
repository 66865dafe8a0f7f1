//! The macros' compile errors, pinned: each `ui/*.rs` must fail to compile with exactly the
//! message in its `.stderr` (regenerate with `TRYBUILD=overwrite cargo test -p parproc-guest
//! --test compile_fail` and review the diff). `pass/*.rs` must compile and run.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/pass/*.rs");
}

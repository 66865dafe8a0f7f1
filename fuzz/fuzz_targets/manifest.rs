//! Declaration validation: any set of declarations (names, deps, rdeps, locks, waves) either
//! loads or is refused with an error, and creating and starting any names on a loaded one
//! answers or refuses, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parproc_core::plan::{PlanOptions, Planner, Step};
use parproc_core::spec::{DepDecl, JobDecl, Manifest, RdepDecl};

#[derive(Debug, arbitrary::Arbitrary)]
struct Decl {
    proto: bool,
    name: String,
    deps: Vec<String>,
    rdeps: Vec<(u8, String)>,
    locks: Vec<String>,
    wave: i8,
    now: bool,
}

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    decls: Vec<Decl>,
    targets: Vec<String>,
    allow_missing: bool,
}

fuzz_target!(|i: Input| {
    let jobs = i
        .decls
        .into_iter()
        .take(32)
        .map(|d| {
            let mut j = match d.proto {
                true => JobDecl::proto(d.name),
                false => JobDecl::proc(d.name),
            };
            j.deps = d.deps.into_iter().take(8).map(DepDecl::Name).collect();
            j.rdeps = d
                .rdeps
                .into_iter()
                .take(4)
                .map(|(k, p)| match k % 3 {
                    0 => RdepDecl::Plain(p),
                    1 => RdepDecl::WhenScheduled(p),
                    _ => RdepDecl::WhenTargetScheduled(p),
                })
                .collect();
            j.locks = d.locks.into_iter().take(4).collect();
            j.wave = i32::from(d.wave);
            j.now = d.now;
            j
        })
        .collect();
    let manifest = Manifest {
        jobs,
        ..Manifest::default()
    };
    // The bounds are the defaults scaled down, so that a graph that grows to them (which the
    // defaults allow, and bound) takes milliseconds here instead of seconds; what is looked
    // for is a panic or growth past them.
    let opts = PlanOptions {
        allow_missing_deps: i.allow_missing,
        max_procs: 20_000,
        max_name_bytes: 1 << 20,
        ..PlanOptions::default()
    };
    let Ok(mut p) = Planner::new(&manifest, opts) else {
        return;
    };
    for t in i.targets.iter().take(8) {
        // A `Need` would ask the guest (computed deps); none are declared here.
        if let Ok(Step::Done(names)) = p.create(t, &[], None) {
            let _ = p.start(&names);
        }
    }
    let _ = p.start_deferred();
});

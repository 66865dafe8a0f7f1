//! parproc's arg-choice and glob scenarios (S-ARGC-*, from its `tests/arg_choices.py`) and the supplementary ones on globs
//! (S-SUP-13's glob line, S-SUP-17, S-SUP-18), on `sc_argc` (and `sc_basic` for a proto
//! without choices).
//!
//! The S-ARGC scenarios' `foo::[x]::[y]` has different `arg_choices` in each scenario; `sc_argc` computes
//! them in the guest from the param `ac`, which each test sets (see its module docs).

use std::collections::BTreeSet;

use parproc_host::outcome::ProcState;
use parproc_host::spec::Mode;
use parproc_test_artifacts::{SC_ARGC, SC_BASIC};
use serde_json::{Value as Json, json};

use crate::harness::{Harness, plan, scenario};

/// A session over `jobs` of `sc_argc` with the choices `ac`.
async fn with_choices(jobs: &[&str], ac: Json, mode: Mode) -> Harness {
    Harness::with(SC_ARGC, jobs, plan(mode), vec![("ac".to_owned(), ac)])
        .await
        .expect("session")
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn as_set(names: Vec<String>) -> BTreeSet<String> {
    names.into_iter().collect()
}

async fn start_wait(h: &Harness, names: &[String]) {
    h.session.start(names).await.expect("start");
    for s in h.wait_names(names).await.expect("wait") {
        assert_eq!(s.state, ProcState::Succeeded, "{s:?}");
    }
}

const FOO: &str = "foo::[x]::[y]";

scenario!(s_argc_01_allowed_literal_value);
async fn s_argc_01_allowed_literal_value(mode: Mode) {
    let h = with_choices(&[FOO], json!({"x": ["a", "b"], "y": [1, 2]}), mode).await;
    let names = h.create("foo::a::2").await.expect("create");
    assert_eq!(names, ["foo::a::2"]);
    start_wait(&h, &names).await;
    assert_eq!(h.results_json(), json!({"foo::a::2": "a_2"}));
}

scenario!(s_argc_02_disallowed_literal_value);
async fn s_argc_02_disallowed_literal_value(mode: Mode) {
    let h = with_choices(&[FOO], json!({"x": ["a", "b"]}), mode).await;
    assert_eq!(
        h.create("foo::c::2").await,
        Err("Argument \"x\" value 'c' is not in allowed choices: ['a', 'b']".to_owned())
    );
}

scenario!(s_argc_04_single_glob_match_still_returns_a_list);
async fn s_argc_04_single_glob_match_still_returns_a_list(mode: Mode) {
    let h = with_choices(&[FOO], json!({"x": ["a"], "y": [1, 2]}), mode).await;
    assert_eq!(
        h.create("foo::*::2").await,
        Ok(vec!["foo::a::2".to_owned()])
    );
}

scenario!(s_argc_05_question_mark_and_prefix_globs);
async fn s_argc_05_question_mark_and_prefix_globs(mode: Mode) {
    let h = with_choices(&[FOO], json!({"x": ["a", "ab", "b"], "y": [1]}), mode).await;
    let first = h.create("foo::?::1").await.expect("create ?");
    assert_eq!(as_set(first), set(&["foo::a::1", "foo::b::1"]));
    let second = h.create("foo::a*::1").await.expect("create a*");
    assert_eq!(second.len(), 2, "{second:?}");
    assert_eq!(as_set(second), set(&["foo::a::1", "foo::ab::1"]));
    assert_eq!(h.procs().len(), 3);
}

scenario!(s_argc_06_globs_need_arg_choices);
async fn s_argc_06_globs_need_arg_choices(mode: Mode) {
    // `sc_basic`'s `foo::[x]::[y]` has no choices.
    let h = Harness::new(SC_BASIC, &[FOO], mode).await;
    let expected = "Glob patterns (* and ?) in argument values are only allowed when the \
                    proto defines arg_choices for that argument.";
    let err = h.create("foo::*::2").await.expect_err("no choices");
    assert_eq!(err, expected);
    assert!(err.contains("Glob") && err.to_lowercase().contains("arg_choices"));
    let err = h.create("foo::x?::2").await.expect_err("no choices");
    assert!(err.to_lowercase().contains("arg_choices"), "{err}");
}

scenario!(s_argc_07_several_globs_give_the_cartesian_product);
async fn s_argc_07_several_globs_give_the_cartesian_product(mode: Mode) {
    let h = with_choices(&[FOO], json!({"x": ["a", "b"], "y": [1, 2]}), mode).await;
    let names = h.create("foo::*::*").await.expect("create");
    assert_eq!(
        as_set(names.clone()),
        set(&["foo::a::1", "foo::a::2", "foo::b::1", "foo::b::2"])
    );
    start_wait(&h, &names).await;
    assert_eq!(
        h.results_json(),
        json!({"foo::a::1": "a_1", "foo::a::2": "a_2", "foo::b::1": "b_1", "foo::b::2": "b_2"})
    );
}

scenario!(s_argc_08_glob_matching_nothing);
async fn s_argc_08_glob_matching_nothing(mode: Mode) {
    let h = with_choices(&[FOO], json!({"x": ["a", "b"], "y": [1]}), mode).await;
    assert_eq!(
        h.create("foo::z*::1").await,
        Err(
            "Glob pattern \"z*\" for argument \"x\" matched no allowed values. Allowed: ['a', 'b']"
                .to_owned()
        )
    );
}

scenario!(s_argc_09_run_with_a_glob_creates_and_starts_every_match);
async fn s_argc_09_run_with_a_glob_creates_and_starts_every_match(mode: Mode) {
    let h = with_choices(&[FOO], json!({"x": ["a", "b"], "y": [2]}), mode).await;
    let names = h.run("foo::*::2").await.expect("run");
    assert_eq!(as_set(names), set(&["foo::a::2", "foo::b::2"]));
    h.wait(&["foo::a::2", "foo::b::2"]).await.expect("wait");
    assert_eq!(
        h.results_json(),
        json!({"foo::a::2": "a_2", "foo::b::2": "b_2"})
    );
}

// Computed choices are checked when they are evaluated; the declared (fixed) form is in
// `scenarios_decl`.
scenario!(s_argc_10_computed_choice_keys_must_be_placeholders);
async fn s_argc_10_computed_choice_keys_must_be_placeholders(mode: Mode) {
    let h = with_choices(&["foo::[x]"], json!({"y": ["a"]}), mode).await;
    let err = h.create("foo::a").await.expect_err("y is no placeholder");
    assert_eq!(
        err,
        "arg_choices key \"y\" is not a parameter in pattern \"foo::[x]\". Pattern parameters: ['x']"
    );
    assert!(err.contains("arg_choices") && err.contains("not a parameter"));
}

scenario!(s_sup_13_glob_on_a_placeholder_without_choices);
async fn s_sup_13_glob_on_a_placeholder_without_choices(mode: Mode) {
    let h = Harness::new(SC_ARGC, &["h::[x]::[y]"], mode).await;
    assert_eq!(
        h.create("h::a::*").await,
        Err(
            "Glob pattern in argument \"y\" is only allowed when the proto defines arg_choices \
             for that argument."
                .to_owned()
        )
    );
}

scenario!(s_sup_17_glob_order_follows_the_choices_and_literals_are_not_checked);
async fn s_sup_17_glob_order_follows_the_choices_and_literals_are_not_checked(mode: Mode) {
    let h = Harness::new(SC_ARGC, &["g::[x]::[y]"], mode).await;
    let names = h.create("g::*::*").await.expect("create");
    assert_eq!(names, ["g::b::1", "g::b::2", "g::a::1", "g::a::2"]);
    start_wait(&h, &names).await;
    assert_eq!(
        h.results_json(),
        json!({
            "g::b::1": ["b", 1], "g::b::2": ["b", 2],
            "g::a::1": ["a", 1], "g::a::2": ["a", 2]
        })
    );
    assert_eq!(
        h.create("g::*::3").await,
        Ok(vec!["g::b::3".to_owned(), "g::a::3".to_owned()])
    );
    assert_eq!(
        h.create("g::c::1").await,
        Err("Argument \"x\" value 'c' is not in allowed choices: ['b', 'a']".to_owned())
    );
    assert_eq!(
        h.create("g::z*::1").await,
        Err(
            "Glob pattern \"z*\" for argument \"x\" matched no allowed values. Allowed: ['b', 'a']"
                .to_owned()
        )
    );
}

scenario!(s_sup_18_glob_inside_a_proto_dep);
async fn s_sup_18_glob_inside_a_proto_dep(mode: Mode) {
    let h = Harness::new(SC_ARGC, &["b::[env]", "all"], mode).await;
    assert_eq!(h.create("all").await, Ok(vec!["all".to_owned()]));
    assert_eq!(h.deps("all"), ["b::dev", "b::prod"]);
    start_wait(&h, &["all".to_owned()]).await;
    assert_eq!(
        h.results_json(),
        json!({"b::dev": "b_dev", "b::prod": "b_prod", "all": ["b::dev", "b::prod"]})
    );
}

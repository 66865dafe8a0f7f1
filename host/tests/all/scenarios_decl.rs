//! Declaration-time validation (S-SUP-13, and S-ARGC-10's declared form): declarations the
//! guest SDK cannot express (it rejects duplicates, placeholders in proc names and choice
//! keys that are not placeholders at compile time) are added to a real fixture's manifest,
//! and the session must refuse them with parproc's words.

use parproc_host::spec::{ChoiceSource, JobDecl, Mode, Value};
use parproc_test_artifacts::SC_BASIC;

use crate::harness::{Harness, load, plan, scenario};

/// The error the session gives for `sc_basic`'s `t2` plus `decls`.
async fn refused(mode: Mode, decls: Vec<JobDecl>) -> String {
    let (runtime, mut manifest) = load(SC_BASIC, &["t2"]);
    manifest.jobs.extend(decls);
    match Harness::over(runtime, &manifest, plan(mode), Vec::new()).await {
        Ok(_) => panic!("the declarations were accepted"),
        Err(e) => e,
    }
}

fn with_choices(mut decl: JobDecl, key: &str) -> JobDecl {
    decl.choices = vec![(
        key.to_owned(),
        ChoiceSource::Fixed(vec![Value::Text("a".into())]),
    )];
    decl
}

scenario!(s_sup_13_declaration_time_validation_messages);
async fn s_sup_13_declaration_time_validation_messages(mode: Mode) {
    let cases = [
        (
            vec![JobDecl::proc("d1"), JobDecl::proc("d1")],
            "Proc \"d1\" already created",
        ),
        (
            vec![JobDecl::proto("dp"), JobDecl::proto("dp")],
            "Proto \"dp\" already created",
        ),
        (
            vec![JobDecl::proc("p::[x]")],
            "Proc name \"p::[x]\" contains proto pattern placeholders. Proc names must be fully \
             resolved (no [param] placeholders).",
        ),
        (
            vec![JobDecl::proto("q::[x]-[y]")],
            "Pattern \"q::[x]-[y]\" must use the configured separator \"::\" between \
             placeholders; found \"-\"",
        ),
        (
            vec![JobDecl::proto("q2::[x]::tail")],
            "Pattern \"q2::[x]::tail\" must use the configured separator \"::\" between \
             placeholders; found \"::tail\"",
        ),
        (
            vec![with_choices(JobDecl::proto("q17::[x]"), "y")],
            "Proto arg_choices key \"y\" is not a parameter in pattern \"q17::[x]\". Pattern \
             parameters: ['x']",
        ),
    ];
    for (decls, expected) in cases {
        assert_eq!(refused(mode, decls).await, expected);
    }
}

scenario!(s_argc_10_declared_choice_keys_must_be_placeholders);
async fn s_argc_10_declared_choice_keys_must_be_placeholders(mode: Mode) {
    let err = refused(mode, vec![with_choices(JobDecl::proto("foo::[x]"), "y")]).await;
    assert!(
        err.contains("arg_choices") && err.contains("not a parameter"),
        "{err}"
    );
}

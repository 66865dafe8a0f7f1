//! Test fixture for the host's report tests: procs whose logs hold warnings,
//! errors, shell-command failure blocks and 100-line failures; procs with
//! hostile names (path separators, `..`, names reserved on Windows, quotes);
//! and a proc that tries to forge terminal output with escape sequences.
//!
//! Nothing is `now`: the tests name their targets.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a proc's stdout and stderr are its log: the host captures them"
)]

use parproc_guest::prelude::*;

/// Succeeds with a compiler-style warning in its log (shown as a snippet).
#[proc]
fn warns(ctx: &Context) {
    for i in 1..=3 {
        println!("compiling unit {i}");
    }
    println!("warning: unused variable `x`");
    for i in 4..=8 {
        println!("compiling unit {i}");
    }
    ctx.info("all units compiled");
}

/// Succeeds with a warning its module ignores when it succeeds.
#[proc(log_ignore_if_succeeded = ["^warning: flaky"])]
fn quiet_warning() {
    println!("running tests");
    println!("warning: flaky test retried");
    println!("tests passed");
}

/// Fails after 100 lines, one of them an error and one an ignored error.
#[proc(log_ignore = ["^error: noise"])]
fn long_failure() -> Result<(), Error> {
    for i in 1..=100 {
        match i {
            40 => println!("error: disk quota exceeded"),
            70 => eprintln!("error: noise that the module ignores"),
            _ => println!("step {i} of 100"),
        }
    }
    Err(Error::failed("build failed"))
}

/// Needs `long_failure`, so it never runs.
#[proc(deps = ["long_failure"])]
fn after_long() {}

/// Needs `after_long`, so it never runs either.
#[proc(deps = ["after_long"])]
fn after_after() {}

/// Fails after 100 lines without a keyword: the last 16 lines show.
#[proc]
fn tail_failure() -> Result<(), Error> {
    for i in 1..=100 {
        println!("line {i}");
    }
    Err(Error::failed("exit status 3"))
}

/// Fails with a shell-command failure block in its log.
#[proc]
fn shell() -> Result<(), Error> {
    println!("preparing the build");
    println!("  RAN: /bin/sh -c make all");
    println!();
    println!("  STDOUT:");
    println!("  make: Entering directory '/src'");
    println!("  STDERR:");
    println!("  make: *** [all] Error 2");
    Err(Error::failed("Command failed with exit code 2"))
}

/// Prints escape sequences that would clear the screen and forge lines, and
/// fails with a message that tries the same.
#[proc]
fn forger() -> Result<(), Error> {
    println!("\u{1b}[2J\u{1b}[Hcleared the screen");
    println!("\r✓ forged line one");
    println!("\u{1b}]8;;http://evil.invalid/\u{1b}\\click\u{1b}]8;;\u{1b}\\ error");
    Err(Error::failed("bad\n✓ forged ok\u{1b}[31m"))
}

/// A coloured warning (as compilers print it) still counts.
#[proc]
fn colored() {
    println!("\u{1b}[1m\u{1b}[33mwarning\u{1b}[0m: coloured output");
}

/// Prints nothing at all: it gets no log file.
#[proc]
fn silent() {}

/// A name that would climb out of the log directory.
#[proc(name = "../../etc/passwd")]
fn climber() {
    println!("climbing");
}

/// Path separators, the name separator and a space.
#[proc(name = "a/b::c d")]
fn slashes() {
    println!("slashes");
}

/// The same name as `slashes` once odd characters are replaced.
#[proc(name = "a_b__c_d")]
fn lookalike() {
    println!("lookalike");
}

/// A name reserved on Windows.
#[proc(name = "CON")]
fn console() {
    println!("console");
}

/// Quotes, a backslash and a leading dot.
#[proc(name = ".say \"hi\"\\now")]
fn quoted() {
    println!("quoted");
}

parproc_guest::export_jobs!(
    warns,
    quiet_warning,
    long_failure,
    after_long,
    after_after,
    tail_failure,
    shell,
    forger,
    colored,
    silent,
    climber,
    slashes,
    lookalike,
    console,
    quoted,
);

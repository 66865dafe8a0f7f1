//! [`Exec`]: run a WASI command-line tool as a sub-step of the running proc (the WIT
//! `context.exec`).

use std::borrow::Cow;

use crate::Error;
use crate::bindings::parproc::jobs::context as host;
use crate::bindings::parproc::jobs::types::{ExecDir, ExecOutput, ExecRequest};

/// A run of a WASI command-line tool the proc declared with `needs(tools = [...])`, built
/// like [`std::process::Command`] and started with [`run`](Self::run) (the WIT
/// `context.exec`).
///
/// The user maps each declared name to a `.wasm` file with `--tool NAME=PATH.wasm` (a WASI
/// preview1 command module, such as the YoWASP tools, or a `wasi:cli/command` component).
/// The tool runs to its end in a store of its own inside this proc's sandbox:
///
/// - `argv[0]` is its name, then the [`arg`](Self::arg)s; its environment is exactly the
///   [`env`](Self::env) given; it reads the [`stdin`](Self::stdin) bytes, then end of file;
/// - it sees only the directories passed with [`dir`](Self::dir), at the same paths (each
///   one of this proc's granted directories or a directory below one, writable only where
///   the proc's is), its own read-only data directories (`--tool-dir`) and an empty,
///   private, writable `/tmp`; no network, no input, no context;
/// - its fuel comes out of this proc's remaining fuel and its memory out of this proc's
///   cap; this proc's timeout ends both. A tool that uses up the fuel ends this proc too
///   (out of fuel).
///
/// [`run`](Self::run) fails (an [`Error`] whose message is the host's) when the tool cannot
/// start: a name the proc did not declare in `needs(tools = [...])`, a directory that is not
/// one of the proc's or writable where the proc's is not, a tool that does not load. A tool
/// that starts gives an [`ExecOutput`] whatever its exit code; a tool that traps (its memory
/// ran out, `unreachable`, ...) exits with 134 and the host's reason at the end of its
/// stderr. Its stdout and stderr also go to this proc's log.
///
/// # Examples
///
/// ```no_run
/// use parproc_guest::prelude::*;
///
/// #[proc(needs(dirs_rw = ["/design"], tools = ["yosys"]))]
/// fn synth() -> Result<String, Error> {
///     let out = Exec::new("yosys")
///         .args(["-q", "-p", "synth -top top; write_json /design/top.json", "/design/top.v"])
///         .dir("/design", true)
///         .run()?;
///     if !out.success() {
///         return Err(Error::failed(format!(
///             "yosys exited with {}: {}",
///             out.exit_code,
///             out.stderr_text()
///         )));
///     }
///     Ok(out.stdout_text().into_owned())
/// }
/// # parproc_guest::export_jobs!(synth);
/// # fn main() {}
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Exec {
    request: ExecRequest,
}

impl Exec {
    /// A run of the tool `tool` (a name the proc declared in `needs(tools = [...])`) with no
    /// arguments, no environment, empty stdin, no directories and the host's output bound.
    pub fn new(tool: impl Into<String>) -> Self {
        Self {
            request: ExecRequest {
                tool: tool.into(),
                args: Vec::new(),
                env: Vec::new(),
                stdin: Vec::new(),
                dirs: Vec::new(),
                max_output: None,
            },
        }
    }

    /// Adds an argument (after `argv[0]`, which the host sets to the tool's name).
    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.request.args.push(arg.into());
        self
    }

    /// Adds arguments, in order.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.request.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable of the tool (it gets no other: none of the host's, none
    /// of this proc's).
    pub fn env(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.request.env.push((name.into(), value.into()));
        self
    }

    /// Sets environment variables, in order.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.request
            .env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// What the tool reads on stdin, then end of file (default: nothing).
    pub fn stdin(&mut self, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.request.stdin = bytes.into();
        self
    }

    /// Passes one of this proc's directories to the tool, at the same guest path: a
    /// directory the proc was granted (or one below it), writable only if the proc's is.
    pub fn dir(&mut self, path: impl Into<String>, writable: bool) -> &mut Self {
        self.request.dirs.push(ExecDir {
            path: path.into(),
            writable,
        });
        self
    }

    /// The most bytes of stdout and of stderr returned (the host's default and cap, 1 MiB,
    /// when not set or set higher). The rest still goes to this proc's log, and
    /// [`ExecOutput::truncated`] says that some was cut.
    pub fn max_output(&mut self, bytes: u64) -> &mut Self {
        self.request.max_output = Some(bytes);
        self
    }

    /// The WIT request this run sends.
    pub fn request(&self) -> &ExecRequest {
        &self.request
    }

    /// Runs the tool to its end and returns how it ended; fails when it cannot start (see
    /// [`Exec`]). Only a running proc can run tools: from a computed dep, input or choices
    /// callback the host refuses.
    pub fn run(&self) -> Result<ExecOutput, Error> {
        host::exec(&self.request).map_err(Error::failed)
    }
}

impl ExecOutput {
    /// Whether the tool exited with code 0.
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }

    /// Stdout as text (invalid UTF-8 replaced by `U+FFFD`).
    pub fn stdout_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stdout)
    }

    /// Stderr as text (invalid UTF-8 replaced by `U+FFFD`).
    pub fn stderr_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stderr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_fills_the_request() {
        let mut exec = Exec::new("yosys");
        exec.arg("-q")
            .args(["-p", "synth"])
            .env("A", "1")
            .envs([("B", "2")])
            .stdin(b"read_verilog top.v")
            .dir("/design", true)
            .dir("/src", false)
            .max_output(4096);
        assert_eq!(
            exec.request(),
            &ExecRequest {
                tool: "yosys".to_owned(),
                args: vec!["-q".to_owned(), "-p".to_owned(), "synth".to_owned()],
                env: vec![
                    ("A".to_owned(), "1".to_owned()),
                    ("B".to_owned(), "2".to_owned())
                ],
                stdin: b"read_verilog top.v".to_vec(),
                dirs: vec![
                    ExecDir {
                        path: "/design".to_owned(),
                        writable: true
                    },
                    ExecDir {
                        path: "/src".to_owned(),
                        writable: false
                    },
                ],
                max_output: Some(4096),
            }
        );
        assert_eq!(
            Exec::new("t").request().max_output,
            None,
            "the host's bound by default"
        );
    }

    #[test]
    fn output_text_is_lossy() {
        let out = ExecOutput {
            exit_code: 134,
            stdout: b"ok\n".to_vec(),
            stderr: vec![b'a', 0xff],
            truncated: false,
        };
        assert!(!out.success());
        assert_eq!(out.stdout_text(), "ok\n");
        assert_eq!(out.stderr_text(), "a\u{fffd}");
    }
}

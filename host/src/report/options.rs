//! The command-line options of what a run shows and writes (flattened into
//! `parproc-host run`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ProgressArg {
    /// Dynamic when stdout is a terminal, else static.
    #[default]
    Auto,
    /// A live line per running proc, with counts and an estimate of the time
    /// left (on a terminal; elsewhere static lines print instead).
    Dynamic,
    /// One line per state change (parproc's static mode).
    Static,
}

/// When to use colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorArg {
    /// When stdout is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always (even when `NO_COLOR` is set).
    Always,
    /// Never.
    Never,
}

/// Options of `run` about output, logs and reports.
#[derive(Debug, Clone, Default, Args)]
pub struct ReportArgs {
    /// How to show progress: `dynamic` is a live view (a terminal only), `static`
    /// prints a line when a proc starts and when it ends.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto, value_name = "MODE")]
    pub progress: ProgressArg,
    /// When to use colours; `auto` respects `NO_COLOR`.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
    /// Show a failed proc's whole log instead of the lines around its errors.
    #[arg(long)]
    pub full_log_on_failure: bool,
    /// In an incremental run, say under each proc why it ran or was not
    /// remembered (`first run`, ``input `src/a.txt` changed``, …).
    #[arg(long)]
    pub explain: bool,
    /// Where to keep per-proc logs; each run gets a directory inside
    /// [default: `$PARPROC_LOG_DIR`, else `parproc-logs-$USER` in the temp dir].
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Write a JSON report of the run (schema in the README).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write a JUnit XML report (one test case per proc).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the run as a Chrome trace (JSON trace events: each proc on the
    /// slot it ran in), for Perfetto or chrome://tracing.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Write a self-contained HTML page of the run: the procs on their slots,
    /// the critical path, the slots' utilisation, every proc's figures.
    #[arg(long, value_name = "FILE")]
    pub timings: Option<PathBuf>,
    /// Where to keep the durations of earlier runs, used to estimate the time
    /// left [default: `$PARPROC_HISTORY_DIR`, else `parproc/history` in the
    /// user's cache directory].
    #[arg(long, value_name = "DIR")]
    pub history_dir: Option<PathBuf>,
    /// Neither read nor write the history of durations.
    #[arg(long)]
    pub no_history: bool,
}

impl ReportArgs {
    /// Whether to use the live view: only on a terminal (asked for one
    /// elsewhere, the static lines print instead, with a warning).
    pub fn dynamic(&self) -> bool {
        let tty = super::terminal::stdout_is_terminal();
        match self.progress {
            ProgressArg::Auto => tty,
            ProgressArg::Dynamic => {
                if !tty {
                    tracing::warn!("stdout is not a terminal; showing static progress");
                }
                tty
            }
            ProgressArg::Static => false,
        }
    }

    /// Whether to colour output.
    pub fn colors(&self) -> bool {
        match self.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && super::terminal::stdout_is_terminal()
            }
        }
    }

    /// Whether to mark names as links to their log files (OSC 8): only on a
    /// terminal that is known to support them.
    pub fn hyperlinks(&self) -> bool {
        super::terminal::stdout_is_terminal()
            && supports_hyperlinks::on(supports_hyperlinks::Stream::Stdout)
    }
}

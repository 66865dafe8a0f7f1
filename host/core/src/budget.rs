//! Budgets per proc: the user's defaults, pattern rules that set a limit for
//! chosen procs (`--fuel 'build::*=5e10'`), and the module's declared limits,
//! which can only lower what the user allows.

use std::time::Duration;

use wildmatch::WildMatch;

use crate::spec::Limits;

/// The effective budgets of one proc run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Budget {
    /// Fuel (CPU) budget.
    pub fuel: u64,
    /// Wall-clock timeout; enforced by the driver, which drops the run.
    pub timeout: Option<Duration>,
    /// Memory cap in bytes over all memories and tables of the store.
    pub memory: u64,
}

/// One value of a limit flag: the default for every proc (`VALUE`) or a rule for
/// the procs a glob matches (`PATTERN=VALUE`).
#[derive(Debug, Clone, PartialEq)]
pub enum LimitArg<T> {
    /// `VALUE`: the default for every proc no rule matches.
    Default(T),
    /// `PATTERN=VALUE`: the limit for the procs `pattern` matches.
    Rule {
        /// A glob (`*`, `?`) over proc names (`build::*`) or a declaration name
        /// as written (`build::[env]`).
        pattern: String,
        /// The limit for matching procs.
        value: T,
    },
}

/// Parse `VALUE` or `PATTERN=VALUE` with `parse` for the value; the split is at
/// the last `=`.
pub fn parse_limit_arg<T>(
    s: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<LimitArg<T>, String> {
    match s.rsplit_once('=') {
        None => parse(s).map(LimitArg::Default),
        Some((pattern, value)) => {
            let pattern = pattern.trim();
            if pattern.is_empty() {
                return Err(format!(
                    "`{s}` has an empty pattern; write `VALUE` or `PATTERN=VALUE` (like `build::*=5e10`)"
                ));
            }
            Ok(LimitArg::Rule {
                pattern: pattern.to_owned(),
                value: parse(value.trim())?,
            })
        }
    }
}

/// Pattern rules for one limit; the last matching rule wins.
#[derive(Debug, Clone, Default)]
pub struct Rules<T> {
    rules: Vec<(String, WildMatch, T)>,
}

impl<T: Copy> Rules<T> {
    /// Split flag values into the default (the last bare value, if any) and the rules.
    pub fn from_args(args: &[LimitArg<T>]) -> (Option<T>, Rules<T>) {
        let mut default = None;
        let mut rules = Vec::new();
        for arg in args {
            match arg {
                LimitArg::Default(v) => default = Some(*v),
                LimitArg::Rule { pattern, value } => {
                    rules.push((pattern.clone(), WildMatch::new(pattern), *value));
                }
            }
        }
        (default, Rules { rules })
    }

    /// The value of the last rule matching the proc name or, written exactly,
    /// its declaration name.
    pub fn pick(&self, proc_name: &str, decl_name: &str) -> Option<T> {
        self.rules
            .iter()
            .rev()
            .find(|(pattern, glob, _)| glob.matches(proc_name) || pattern == decl_name)
            .map(|(_, _, v)| *v)
    }

    /// True when there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// The pattern rules of all three budgets.
#[derive(Debug, Clone, Default)]
pub struct BudgetRules {
    /// `--fuel PATTERN=N`.
    pub fuel: Rules<u64>,
    /// `--timeout PATTERN=DURATION`.
    pub timeout: Rules<Duration>,
    /// `--max-memory PATTERN=SIZE`.
    pub memory: Rules<u64>,
}

impl BudgetRules {
    /// The user's limits for one proc: a matching rule, else the default.
    pub fn user_budget(&self, proc_name: &str, decl_name: &str, defaults: Budget) -> Budget {
        Budget {
            fuel: self
                .fuel
                .pick(proc_name, decl_name)
                .unwrap_or(defaults.fuel),
            timeout: self.timeout.pick(proc_name, decl_name).or(defaults.timeout),
            memory: self
                .memory
                .pick(proc_name, decl_name)
                .unwrap_or(defaults.memory),
        }
    }
}

/// The budget a proc runs with: each of the module's declared limits can only
/// lower the user's (a declared timeout applies when the user set none).
pub fn effective(user: Budget, declared: &Limits) -> Budget {
    Budget {
        fuel: declared.fuel.map_or(user.fuel, |f| f.min(user.fuel)),
        timeout: match (user.timeout, declared.timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
        memory: declared.memory.map_or(user.memory, |m| m.min(user.memory)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(s: &str) -> Result<u64, String> {
        s.parse::<u64>().map_err(|e| e.to_string())
    }

    #[test]
    fn parses_defaults_and_rules() {
        assert_eq!(parse_limit_arg("5", count), Ok(LimitArg::Default(5)));
        assert_eq!(
            parse_limit_arg("build::*=7", count),
            Ok(LimitArg::Rule {
                pattern: "build::*".into(),
                value: 7
            })
        );
        assert!(parse_limit_arg("=7", count).is_err());
        assert!(parse_limit_arg("x=y", count).is_err());
    }

    #[test]
    fn the_last_matching_rule_wins_and_the_module_only_lowers() {
        let args = [
            LimitArg::Default(100u64),
            LimitArg::Rule {
                pattern: "build::*".into(),
                value: 500,
            },
            LimitArg::Rule {
                pattern: "build::prod".into(),
                value: 900,
            },
        ];
        let (default, fuel) = Rules::from_args(&args);
        assert_eq!(default, Some(100));
        let rules = BudgetRules {
            fuel,
            ..BudgetRules::default()
        };
        let defaults = Budget {
            fuel: 100,
            timeout: None,
            memory: 64,
        };
        let b = |name: &str, decl: &str| rules.user_budget(name, decl, defaults).fuel;
        assert_eq!(b("build::dev", "build::[env]"), 500);
        assert_eq!(b("build::prod", "build::[env]"), 900);
        assert_eq!(b("test", "test"), 100);

        let user = rules.user_budget("build::prod", "build::[env]", defaults);
        let lower = Limits {
            fuel: Some(10),
            timeout: Some(Duration::from_secs(1)),
            memory: Some(1 << 40),
        };
        let e = effective(user, &lower);
        assert_eq!(
            (e.fuel, e.timeout, e.memory),
            (10, Some(Duration::from_secs(1)), 64)
        );
        let greedy = Limits {
            fuel: Some(u64::MAX),
            timeout: None,
            memory: Some(u64::MAX),
        };
        assert_eq!(effective(user, &greedy), user);
    }

    #[test]
    fn a_rule_may_name_the_declaration() {
        let (_, rules) = Rules::from_args(&[LimitArg::Rule {
            pattern: "build::[env]".to_owned(),
            value: Duration::from_secs(9),
        }]);
        assert_eq!(
            rules.pick("build::dev", "build::[env]"),
            Some(Duration::from_secs(9))
        );
        assert_eq!(rules.pick("deploy::dev", "deploy::[env]"), None);
    }
}

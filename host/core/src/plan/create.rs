//! Creating procs from protos: finding the proto, arg choices and globs,
//! converting values, and resolving deps (docs/planner.md §5–§8).

use std::collections::HashSet;

use super::{
    DeclId, MAX_CREATE_DEPTH, PlanError, Planner, Proc, ProcId, ProcState, Step, Stop,
    has_no_failures, step, user,
};
use crate::plan::resolve::{DepContext, ResolveAnswer, ResolveRequest};
use crate::spec::name::{Pattern, glob_match, has_placeholder, is_glob};
use crate::spec::{ChoiceSource, DeclKind, DepDecl, Value};

/// Where an interrupted glob expansion stands (see `Planner::expand_glob`).
#[derive(Debug)]
pub(crate) struct GlobProgress {
    decl: DeclId,
    all: ArgList,
    axes: Vec<(String, Vec<Value>)>,
    combo: Vec<usize>,
    names: Vec<String>,
    seen: HashSet<String>,
}

/// An arg value during creation: raw text taken from a name, or a typed value
/// (a default, a `create` arg or a choice).
type ArgList = Vec<(String, Value)>;

/// A proto that matched a name, with the values captured from the name.
type ProtoMatch = (DeclId, Vec<(String, String)>);

impl Planner {
    /// Create procs from a name (docs/planner.md §5.1): an existing proc name returns itself; a
    /// filled-out proto name, a glob over arg choices, or a pattern filled from
    /// `args` creates the procs that do not exist yet. `proc_name` names a single
    /// created proc. Returns the names, in order.
    pub fn create(
        &mut self,
        name: &str,
        args: &[(String, Value)],
        proc_name: Option<&str>,
    ) -> Result<Step<Vec<String>>, PlanError> {
        self.creation.new_in_call = 0;
        self.creation.creating.clear();
        let r = self.create_inner(name, args, proc_name);
        self.creation.creating.clear();
        if !matches!(r, Err(Stop::Need(_))) {
            // Done (or failed for good): no expansion will resume.
            self.creation.glob_resume.clear();
        }
        step(r)
    }

    /// [`Planner::create`] that registers at most `max_new` new procs (deps
    /// included): the one that would pass it is refused with
    /// [`PlanError::CreateLimit`] before it exists. See
    /// [`Planner::created_in_last_call`] for how many a call registered.
    pub fn create_at_most(
        &mut self,
        name: &str,
        args: &[(String, Value)],
        proc_name: Option<&str>,
        max_new: usize,
    ) -> Result<Step<Vec<String>>, PlanError> {
        self.creation.new_budget = Some((max_new, max_new));
        let r = self.create(name, args, proc_name);
        self.creation.new_budget = None;
        r
    }

    /// How many new procs the last create registered (also when it stopped
    /// for a guest answer or failed). O(1).
    pub fn created_in_last_call(&self) -> usize {
        self.creation.new_in_call
    }

    pub(super) fn create_inner(
        &mut self,
        name: &str,
        args: &[(String, Value)],
        proc_name: Option<&str>,
    ) -> Result<Vec<String>, Stop> {
        let name = if args.is_empty() {
            name.to_owned()
        } else {
            Pattern::parse(name)
                .map_err(|e| user(e.to_string()))?
                .fill_partial(|k| lookup(args, k).map(|v| v.to_string()))
        };
        if self.graph.by_name.contains_key(&name) {
            return Ok(vec![name]);
        }
        if let Some(pn) = proc_name
            && self.graph.by_name.contains_key(pn)
        {
            return Ok(vec![pn.to_owned()]);
        }
        // A plain proc declaration that is not registered yet (during `new`).
        if let Some(&d) = self.reg.decl_by_name.get(&name)
            && self.reg.decls[d.0 as usize].kind == DeclKind::Proc
        {
            let defaults = self.reg.decls[d.0 as usize].defaults.clone();
            return self
                .create_one(d, &name, defaults, Vec::new(), None)
                .map(|n| vec![n]);
        }
        if let Some(progress) = self.creation.glob_resume.remove(&name) {
            return self.expand_glob(&name, progress);
        }
        let Some((decl, captured)) = self.find_proto(&name)? else {
            return Err(user(format!("No proto found matching \"{name}\"")));
        };
        let d = &self.reg.decls[decl.0 as usize];
        let mut all: ArgList = d.defaults.clone();
        for (k, v) in &captured {
            set(&mut all, k, Value::Text(v.clone()));
        }
        let has_choices = !d.choices.is_empty() || d.choices_computed;
        let choices = if has_choices {
            self.eval_choices(decl, &name, &all)?
        } else {
            Vec::new()
        };
        let globbed: Vec<&(String, String)> = captured.iter().filter(|(_, v)| is_glob(v)).collect();
        if !globbed.is_empty() {
            if !has_choices {
                return Err(user(
                    "Glob patterns (* and ?) in argument values are only allowed when the proto defines arg_choices for that argument.",
                ));
            }
            // Each placeholder in order: its candidate values.
            let mut axes: Vec<(String, Vec<Value>)> = Vec::new();
            for (k, v) in &captured {
                if is_glob(v) {
                    let Some((_, allowed)) = choices.iter().find(|(c, _)| c == k) else {
                        return Err(user(format!(
                            "Glob pattern in argument \"{k}\" is only allowed when the proto defines arg_choices for that argument."
                        )));
                    };
                    let matched: Vec<Value> = allowed
                        .iter()
                        .filter(|c| glob_match(v, &c.to_string()))
                        .cloned()
                        .collect();
                    if matched.is_empty() {
                        return Err(user(format!(
                            "Glob pattern \"{v}\" for argument \"{k}\" matched no allowed values. Allowed: [{}]",
                            repr_list(allowed)
                        )));
                    }
                    axes.push((k.clone(), matched));
                } else {
                    axes.push((k.clone(), vec![Value::Text(v.clone())]));
                }
            }
            let progress = GlobProgress {
                decl,
                all,
                combo: vec![0; axes.len()],
                axes,
                names: Vec::new(),
                seen: HashSet::new(),
            };
            return self.expand_glob(&name, progress);
        }
        for (k, v) in &captured {
            if let Some((_, allowed)) = choices.iter().find(|(c, _)| c == k)
                && !allowed.iter().any(|c| c.to_string() == *v)
            {
                return Err(user(format!(
                    "Argument \"{k}\" value '{v}' is not in allowed choices: [{}]",
                    repr_list(allowed)
                )));
            }
        }
        self.create_one(decl, &name, all, captured, proc_name)
            .map(|n| vec![n])
    }

    /// Create every combination of a glob's axes, in order (the last
    /// placeholder varies fastest). A guest question on the way saves the
    /// progress, so the retry continues from the same combination.
    fn expand_glob(&mut self, name: &str, mut p: GlobProgress) -> Result<Vec<String>, Stop> {
        loop {
            let mut a = p.all.clone();
            let mut texts = Vec::with_capacity(p.axes.len());
            for (i, (k, vals)) in p.axes.iter().enumerate() {
                set(&mut a, k, vals[p.combo[i]].clone());
                texts.push((k.clone(), vals[p.combo[i]].to_string()));
            }
            let n = match self.create_one(p.decl, name, a, texts, None) {
                Ok(n) => n,
                Err(e @ Stop::Need(_)) => {
                    self.creation.glob_resume.insert(name.to_owned(), p);
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            if p.seen.insert(n.clone()) {
                p.names.push(n);
            }
            // Advance the odometer: the last placeholder varies fastest.
            let mut i = p.axes.len();
            loop {
                if i == 0 {
                    return Ok(p.names);
                }
                i -= 1;
                p.combo[i] += 1;
                if p.combo[i] < p.axes[i].1.len() {
                    break;
                }
                p.combo[i] = 0;
            }
        }
    }

    /// The proto for a name: an exact proto name, else the one pattern that
    /// matches (with its captured values). More than one match is an error.
    fn find_proto(&self, name: &str) -> Result<Option<ProtoMatch>, Stop> {
        if let Some(&d) = self.reg.decl_by_name.get(name)
            && self.reg.decls[d.0 as usize].kind == DeclKind::Proto
        {
            return Ok(Some((d, Vec::new())));
        }
        let mut found: Option<ProtoMatch> = None;
        let mut all = Vec::new();
        for &d in &self.reg.protos {
            if let Some(c) = self.reg.patterns[d.0 as usize].match_proto(name, &self.opts.separator)
            {
                all.push(self.reg.decls[d.0 as usize].name.clone());
                found.get_or_insert((d, c));
            }
        }
        if all.len() > 1 {
            return Err(user(format!(
                "Name \"{name}\" matches multiple protos: [{}]",
                all.iter()
                    .map(|n| format!("'{n}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(found)
    }

    /// Evaluate a proto's choices (fixed, or asked of the guest).
    fn eval_choices(
        &self,
        decl: DeclId,
        name: &str,
        all: &ArgList,
    ) -> Result<Vec<(String, Vec<Value>)>, Stop> {
        let d = &self.reg.decls[decl.0 as usize];
        let pattern = &self.reg.patterns[decl.0 as usize];
        if d.choices_computed {
            let map = self.ask_choices(decl, None, name, all)?;
            for (k, _) in &map {
                if !pattern.placeholders().iter().any(|p| p == k) {
                    return Err(user(format!(
                        "arg_choices key \"{k}\" is not a parameter in pattern \"{}\". Pattern parameters: [{}]",
                        d.name,
                        super::quoted_list(pattern.placeholders())
                    )));
                }
            }
            return Ok(map);
        }
        let mut out = Vec::new();
        for (k, src) in d.choices.clone() {
            match src {
                ChoiceSource::Fixed(v) => out.push((k, v)),
                ChoiceSource::Computed => {
                    let map = self.ask_choices(decl, Some(k.clone()), name, all)?;
                    let vals = map
                        .into_iter()
                        .find(|(n, _)| *n == k)
                        .map(|(_, v)| v)
                        .unwrap_or_default();
                    out.push((k, vals));
                }
            }
        }
        Ok(out)
    }

    fn dep_context(&self, proc_name: &str, all: &ArgList) -> DepContext {
        DepContext {
            proc_name: proc_name.to_owned(),
            args: all
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            params: self
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        }
    }

    fn ask_choices(
        &self,
        decl: DeclId,
        param: Option<String>,
        name: &str,
        all: &ArgList,
    ) -> Result<Vec<(String, Vec<Value>)>, Stop> {
        let req = ResolveRequest::Choices {
            decl: self.reg.decls[decl.0 as usize].name.clone(),
            param,
            ctx: self.dep_context(name, all),
        };
        match self.creation.answers.get(&req) {
            Some(ResolveAnswer::Choices(Ok(v))) => Ok(v.clone()),
            Some(ResolveAnswer::Choices(Err(e))) | Some(ResolveAnswer::Deps(Err(e))) => {
                Err(Stop::Error(PlanError::Callback(format!(
                    "arg_choices of \"{}\" failed: {e}",
                    self.reg.decls[decl.0 as usize].name
                ))))
            }
            Some(ResolveAnswer::Deps(Ok(_))) | None => Err(Stop::Need(req)),
        }
    }

    fn ask_deps(
        &self,
        decl: DeclId,
        index: u32,
        name: &str,
        all: &ArgList,
    ) -> Result<Vec<String>, Stop> {
        let req = ResolveRequest::Deps {
            decl: self.reg.decls[decl.0 as usize].name.clone(),
            index,
            ctx: self.dep_context(name, all),
        };
        match self.creation.answers.get(&req) {
            Some(ResolveAnswer::Deps(Ok(v))) => Ok(v.clone()),
            Some(ResolveAnswer::Deps(Err(e))) | Some(ResolveAnswer::Choices(Err(e))) => {
                Err(Stop::Error(PlanError::Callback(format!(
                    "computed dependency of \"{name}\" failed: {e}"
                ))))
            }
            Some(ResolveAnswer::Choices(Ok(_))) | None => Err(Stop::Need(req)),
        }
    }

    /// Create one proc (docs/planner.md §5.2). `all` holds every arg (defaults, captured
    /// values, choices); `texts` the text each placeholder had in the requested
    /// name, which the created name keeps.
    fn create_one(
        &mut self,
        decl: DeclId,
        requested: &str,
        all: ArgList,
        texts: Vec<(String, String)>,
        proc_name: Option<&str>,
    ) -> Result<String, Stop> {
        let d = &self.reg.decls[decl.0 as usize];
        let pattern = &self.reg.patterns[decl.0 as usize];
        let mut args = Vec::new();
        for ph in pattern.placeholders() {
            let Some(v) = lookup(&all, ph) else {
                return Err(user(format!(
                    "Pattern \"{}\" requires argument \"{ph}\" but was not provided",
                    d.name
                )));
            };
            let v = match d.param_type(ph) {
                Some(ty) => v.convert(ty).map_err(|e| {
                    user(format!(
                        "Argument \"{ph}\" of \"{requested}\" must be of type {ty}: {e}"
                    ))
                })?,
                None => v.clone(),
            };
            args.push((ph.clone(), v));
        }
        // Non-placeholder params of a plain proc come from its defaults.
        if d.kind == DeclKind::Proc {
            for (k, v) in &d.defaults {
                let v = match d.param_type(k) {
                    Some(ty) => v.convert(ty).map_err(|e| {
                        user(format!(
                            "Argument \"{k}\" of \"{}\" must be of type {ty}: {e}",
                            d.name
                        ))
                    })?,
                    None => v.clone(),
                };
                args.push((k.clone(), v));
            }
        }
        let name = match proc_name {
            Some(n) => n.to_owned(),
            None => pattern
                .fill(|k| {
                    texts
                        .iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, t)| t.clone())
                        .or_else(|| lookup(&args, k).map(|v| v.to_string()))
                })
                .map_err(|e| user(e.to_string()))?,
        };
        if has_placeholder(&name) {
            return Err(user(format!(
                "Proc name \"{name}\" contains proto pattern placeholders. Proc names must be fully resolved (no [param] placeholders)."
            )));
        }
        if name.len() > super::MAX_NAME_BYTES && !self.graph.by_name.contains_key(&name) {
            // An rdep or dep that builds a longer name matching its own proto
            // would create procs without end, each name twice the last.
            let shown: String = name.chars().take(60).collect();
            return Err(user(format!(
                "Proc name \"{shown}…\" ({} bytes) is longer than {} bytes: a dep or rdep that \
                 builds a proc's name from its own keeps growing it",
                name.len(),
                super::MAX_NAME_BYTES
            )));
        }
        if self.graph.by_name.contains_key(&name) {
            return Ok(name);
        }
        if self.creation.creating.contains(&name) {
            let start = self
                .creation
                .creating
                .iter()
                .position(|n| *n == name)
                .unwrap_or(0);
            let mut cycle: Vec<String> = self.creation.creating[start..].to_vec();
            cycle.push(name.clone());
            return Err(user(format!(
                "dependency cycle: {}",
                cycle
                    .iter()
                    .map(|n| format!("\"{n}\""))
                    .collect::<Vec<_>>()
                    .join(" -> ")
            )));
        }
        if self.creation.creating.len() >= MAX_CREATE_DEPTH {
            return Err(user(format!(
                "dependencies nest more than {MAX_CREATE_DEPTH} levels deep while creating \"{name}\""
            )));
        }
        if let Some((0, limit)) = self.creation.new_budget {
            return Err(Stop::Error(PlanError::CreateLimit(limit)));
        }
        if self.graph.procs.len() >= self.opts.max_procs {
            return Err(user(format!(
                "cannot create \"{name}\": the run already has {} procs (the limit)",
                self.opts.max_procs
            )));
        }
        if self.graph.name_bytes.saturating_add(name.len()) > self.opts.max_name_bytes {
            let shown: String = name.chars().take(60).collect();
            return Err(user(format!(
                "cannot create \"{shown}\": the run's proc names already take {} bytes (the \
                 limit is {}); a dep or rdep that keeps making new names would not stop",
                self.graph.name_bytes, self.opts.max_name_bytes
            )));
        }
        self.creation.creating.push(name.clone());
        let deps = self.resolve_deps(decl, &name, &all);
        self.creation.creating.pop();
        let deps = deps?;
        let no_failures = has_no_failures(&self.reg.decls[decl.0 as usize]);
        let placeholder_texts: Vec<(String, String)> = self.reg.patterns[decl.0 as usize]
            .placeholders()
            .iter()
            .map(|ph| {
                let text = texts
                    .iter()
                    .find(|(n, _)| n == ph)
                    .map(|(_, t)| t.clone())
                    .or_else(|| lookup(&args, ph).map(|v| v.to_string()))
                    .unwrap_or_default();
                (ph.clone(), text)
            })
            .collect();
        self.register(
            decl,
            name.clone(),
            args,
            placeholder_texts,
            deps,
            no_failures,
        );
        Ok(name)
    }

    /// Resolve a decl's deps for the proc `name` with args `all` (docs/planner.md §8.1).
    fn resolve_deps(
        &mut self,
        decl: DeclId,
        name: &str,
        all: &ArgList,
    ) -> Result<Vec<String>, Stop> {
        let mut out = Vec::new();
        let deps = self.reg.decls[decl.0 as usize].deps.clone();
        for (i, dep) in deps.iter().enumerate() {
            let names = match dep {
                DepDecl::NoFailures => continue,
                DepDecl::Name(n) => vec![n.clone()],
                DepDecl::Computed => self.ask_deps(decl, i as u32, name, all)?,
            };
            for n in names {
                let filled = if has_placeholder(&n) {
                    Pattern::parse(&n)
                        .map_err(|e| user(e.to_string()))?
                        .fill(|k| lookup(all, k).map(|v| v.to_string()))
                        .map_err(|e| user(e.to_string()))?
                } else {
                    n
                };
                out.extend(self.resolve_dep_name(filled)?);
            }
        }
        Ok(out)
    }

    /// A filled dep name: an existing proc, a name a proto creates, or a plain
    /// name that may be registered later (else missing when scheduled).
    fn resolve_dep_name(&mut self, name: String) -> Result<Vec<String>, Stop> {
        if self.graph.by_name.contains_key(&name) {
            return Ok(vec![name]);
        }
        if let Some(&d) = self.reg.decl_by_name.get(&name)
            && self.reg.decls[d.0 as usize].kind == DeclKind::Proc
        {
            // A plain proc declared later in the module: registered in its turn.
            return Ok(vec![name]);
        }
        if self.find_proto(&name)?.is_some() {
            return self.create_inner(&name, &[], None);
        }
        Ok(vec![name])
    }

    fn register(
        &mut self,
        decl: DeclId,
        name: String,
        args: Vec<(String, Value)>,
        texts: Vec<(String, String)>,
        deps: Vec<String>,
        no_failures: bool,
    ) -> ProcId {
        let id = ProcId(self.graph.procs.len() as u32);
        self.gate.moved(id, None, ProcState::Idle);
        self.creation.new_in_call += 1;
        if let Some((left, _)) = &mut self.creation.new_budget {
            *left = left.saturating_sub(1);
        }
        self.graph.name_bytes += name.len();
        self.graph.procs.push(Proc {
            name: name.clone(),
            decl,
            args,
            deps,
            no_failures,
            state: ProcState::Idle,
            failure: None,
            pending: 0,
            missing: 0,
            blocked: false,
            waiting_on: Vec::new(),
            result_seq: None,
            result: None,
            changed_deps: Vec::new(),
            texts,
            settled: false,
            awaited: false,
        });
        self.graph.dependents.push(Vec::new());
        self.graph.by_name.insert(name.clone(), id);
        self.index_rdeps(id);
        if self.reg.decls[decl.0 as usize].now || self.graph.missing_names.contains(&name) {
            self.work.deferred.push(id);
        }
        // WANTED procs that recorded this name as missing now wait on it.
        if let Some(waiters) = self.graph.missing_waiters.remove(&name) {
            for w in waiters {
                let p = &mut self.graph.procs[w.ix()];
                if p.state == ProcState::Wanted {
                    p.missing -= 1;
                    p.pending += 1;
                    self.graph.dependents[id.ix()].push(w);
                }
            }
        }
        id
    }
}

fn lookup<'a>(args: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
    args.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn set(args: &mut ArgList, key: &str, value: Value) {
    match args.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value,
        None => args.push((key.to_owned(), value)),
    }
}

/// Python-repr-like list of choices: `'a', 'b'` for text, `1, 2` for numbers.
fn repr_list(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| match v {
            Value::Text(s) => format!("'{s}'"),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

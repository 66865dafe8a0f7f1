//! Scheduling: IDLE → WANTED, with deps, reverse deps and conditional reverse
//! deps (docs/planner.md §8.2, §9, §10, §11, §15.1).
//!
//! Making procs wanted may create procs (a proto's rdep pattern supplies its
//! placeholders), which may need guest answers. The work is therefore a resumable
//! worklist kept in the planner: `mark_queue` (procs to make WANTED), `want_queue`
//! (WANTED procs whose deps are still to be scheduled) and `unsettled` (WANTED
//! procs whose pending deps are still to be counted). Each step does every
//! creation it needs *before* it changes anything, so a
//! [`PlanError::Need`](super::PlanError::Need) leaves the worklist consistent and
//! the next call continues it. Usage errors found on the way (a missing dep with
//! `allow_missing_deps` off, a wave inversion, a conditional rdep scheduled too
//! late) do not stop the work: they are collected and returned when the worklist
//! is empty, so no proc is left half-scheduled.

use super::{Failure, FailureKind, PlanError, Planner, ProcId, ProcState, Step, Stop, step, user};
use crate::spec::RdepDecl;
use crate::spec::name::Pattern;

impl Planner {
    /// Start the procs whose start was deferred (`now` procs and procs registered
    /// under a name that was once a missing dep), and finish any scheduling a
    /// previous call left for a guest answer.
    pub fn start_deferred(&mut self) -> Result<Step<()>, PlanError> {
        let ids = std::mem::take(&mut self.work.deferred);
        self.work.mark_queue.extend(ids);
        step(self.drain())
    }

    /// Schedule procs by name (two passes, as parproc: every named IDLE proc
    /// becomes WANTED with its rdeps and conditional rdeps first, then their deps
    /// are scheduled). Non-IDLE procs are left alone; an unknown name is an error.
    pub fn start(&mut self, names: &[String]) -> Result<Step<()>, PlanError> {
        let mut ids = Vec::with_capacity(names.len());
        for n in names {
            match self.id(n) {
                Some(id) => ids.push(id),
                None => return Err(PlanError::Usage(self.unknown_proc(n))),
            }
        }
        self.work.mark_queue.extend(ids);
        step(self.drain())
    }

    /// `unknown proc "x"; did you mean "y"?`
    pub fn unknown_proc(&self, name: &str) -> String {
        match self.suggest(name) {
            Some(s) => format!("unknown proc \"{name}\"; did you mean \"{s}\"?"),
            None => format!("unknown proc \"{name}\""),
        }
    }

    /// The closest existing proc or proto name, if one is close.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        let candidates = self
            .graph
            .procs
            .iter()
            .map(|p| p.name.as_str())
            .chain(self.reg.decls.iter().map(|d| d.name.as_str()));
        closest(name, candidates)
    }

    /// Run the scheduling worklist to the end.
    fn drain(&mut self) -> Result<(), Stop> {
        loop {
            if let Some(&id) = self.work.mark_queue.front() {
                if self.graph.procs[id.ix()].state == ProcState::Idle {
                    self.mark_wanted(id)?;
                }
                self.work.mark_queue.pop_front();
                continue;
            }
            if let Some(&id) = self.work.want_queue.front() {
                let deps = self.graph.procs[id.ix()].deps.clone();
                for d in &deps {
                    match self.graph.by_name.get(d) {
                        Some(&q) if self.graph.procs[q.ix()].state == ProcState::Idle => {
                            self.mark_wanted(q)?;
                        }
                        Some(_) => {}
                        None if !self.opts.allow_missing_deps => {
                            let missing = super::MissingDep {
                                proc: self.graph.procs[id.ix()].name.clone(),
                                dep: d.clone(),
                            };
                            self.work.errors.push(missing.text());
                            self.work.missing.push(missing);
                        }
                        None => {}
                    }
                }
                self.work.want_queue.pop_front();
                self.work.unsettled.push(id);
                continue;
            }
            break;
        }
        let settled = std::mem::take(&mut self.work.unsettled);
        for &id in &settled {
            if self.graph.procs[id.ix()].state == ProcState::Wanted
                && !self.graph.procs[id.ix()].settled
            {
                self.settle_wanted(id);
            }
        }
        let mut roots = settled;
        roots.append(&mut self.graph.edge_targets);
        self.break_cycles(roots);
        // One edge can be checked twice (when added and when counted): say it once.
        let mut errors = std::mem::take(&mut self.work.errors);
        let mut seen = std::collections::HashSet::new();
        errors.retain(|e| seen.insert(e.clone()));
        let mut missing = std::mem::take(&mut self.work.missing);
        let mut seen = std::collections::HashSet::new();
        missing.retain(|m| seen.insert(m.text()));
        match errors.is_empty() {
            true => Ok(()),
            // Only missing deps: kept apart, so a front end can say what to do.
            false if errors.len() == missing.len() => {
                Err(Stop::Error(PlanError::MissingDeps(missing)))
            }
            false => Err(user(errors.join("\n"))),
        }
    }

    /// Make one IDLE proc WANTED: inject its rdeps, apply its conditional rdeps,
    /// queue its deps. Creations happen first; a `Need` changes nothing.
    fn mark_wanted(&mut self, id: ProcId) -> Result<(), Stop> {
        let injected = self.rdep_injections(id)?;
        let conditional = self.conditional_targets(id)?;
        // Nothing below can stop for a guest answer.
        self.set_state(id, ProcState::Wanted);
        self.gate.active += 1;
        for d in injected {
            if !self.graph.procs[id.ix()].deps.contains(&d) {
                self.graph.procs[id.ix()].deps.push(d);
            }
        }
        self.index_when_scheduled(id);
        let me = self.graph.procs[id.ix()].name.clone();
        for (target, rule) in conditional {
            let t = &self.graph.procs[target.ix()];
            let st = t.state;
            let tname = t.name.clone();
            if !matches!(st, ProcState::Idle | ProcState::Wanted) {
                self.work.errors.push(format!(
                    "Proc \"{me}\" has a {rule} rdep on \"{tname}\", but \"{tname}\" is already {st}. The ordering contract (run \"{me}\" before \"{tname}\") cannot be satisfied because \"{me}\" was scheduled too late."
                ));
                continue;
            }
            if rule == "WhenTargetScheduled" && st == ProcState::Idle {
                continue;
            }
            self.add_dep(target, &me);
            if st == ProcState::Idle {
                self.work.mark_queue.push_back(target);
            }
        }
        self.work.want_queue.push_back(id);
        Ok(())
    }

    /// The procs to inject as deps of `t` when it becomes WANTED (docs/planner.md §9):
    /// procs created from protos whose plain or `WhenTargetScheduled` rdep
    /// pattern matches `t`, existing procs whose rdep matches, and WANTED or
    /// RUNNING declarers of a `WhenScheduled` rule naming `t`.
    fn rdep_injections(&mut self, t: ProcId) -> Result<Vec<String>, Stop> {
        let tname = self.graph.procs[t.ix()].name.clone();
        let sep = self.opts.separator.clone();
        let mut out: Vec<String> = Vec::new();
        // Protos whose rdep pattern supplies their placeholders create a proc.
        for &d in &self.rdeps.rdep_protos.clone() {
            let own = &self.reg.patterns[d.0 as usize];
            if own.match_proto(&tname, &sep).is_some() {
                continue;
            }
            for rule in self.reg.decls[d.0 as usize].rdeps.clone() {
                let (RdepDecl::Plain(p) | RdepDecl::WhenTargetScheduled(p)) = &rule else {
                    continue;
                };
                let Ok(pat) = Pattern::parse(p) else { continue };
                let Some(vals) = pat.match_rdep(&tname, &sep) else {
                    continue;
                };
                let own = &self.reg.patterns[d.0 as usize];
                if !own
                    .placeholders()
                    .iter()
                    .all(|ph| vals.iter().any(|(k, _)| k == ph))
                {
                    continue;
                }
                let Ok(name) =
                    own.fill(|k| vals.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
                else {
                    continue;
                };
                match self.create_inner_fresh(&name) {
                    Ok(names) => out.extend(names),
                    Err(Stop::Need(r)) => return Err(Stop::Need(r)),
                    Err(Stop::Error(PlanError::Callback(message))) => {
                        // The guest could not say what the injected proc needs, so
                        // it does not exist: `t` depends on the missing name and
                        // ends FAILED_DEP instead of running without it.
                        self.work.errors.push(message);
                        out.push(name);
                    }
                    // The name does not fit the proto (a value of the wrong type,
                    // not among its choices): the rule does not apply to `t`.
                    Err(Stop::Error(_)) => {}
                }
            }
        }
        // Existing procs whose (own-args-filled) rdep names `t`.
        if let Some(ids) = self.rdeps.rdep_exact.get(&tname) {
            out.extend(ids.iter().map(|&q| self.graph.procs[q.ix()].name.clone()));
        }
        for (pat, q) in &self.rdeps.rdep_patterns {
            if pat.match_rdep(&tname, &sep).is_some() {
                out.push(self.graph.procs[q.ix()].name.clone());
            }
        }
        // WANTED/RUNNING declarers of a WhenScheduled on `t`.
        if let Some(ids) = self.rdeps.ws_exact.get(&tname) {
            for &q in ids {
                if matches!(
                    self.graph.procs[q.ix()].state,
                    ProcState::Wanted | ProcState::Running
                ) {
                    out.push(self.graph.procs[q.ix()].name.clone());
                }
            }
        }
        out.retain(|n| *n != tname);
        let mut seen = std::collections::HashSet::new();
        out.retain(|n| seen.insert(n.clone()));
        Ok(out)
    }

    /// Create `name` outside any ongoing creation (fresh cycle stack).
    fn create_inner_fresh(&mut self, name: &str) -> Result<Vec<String>, Stop> {
        let saved = std::mem::take(&mut self.creation.creating);
        let r = self.create_inner(name, &[], None);
        self.creation.creating = saved;
        r
    }

    /// The targets of `d`'s conditional rdeps (docs/planner.md §10), created from their
    /// protos where needed, with the rule's name.
    fn conditional_targets(&mut self, d: ProcId) -> Result<Vec<(ProcId, &'static str)>, Stop> {
        let decl = self.graph.procs[d.ix()].decl;
        let mut out = Vec::new();
        for rule in self.reg.decls[decl.0 as usize].rdeps.clone() {
            let (p, kind) = match &rule {
                RdepDecl::WhenScheduled(p) => (p, "WhenScheduled"),
                RdepDecl::WhenTargetScheduled(p) => (p, "WhenTargetScheduled"),
                RdepDecl::Plain(_) => continue,
            };
            let Some(target) = self.fill_from_proc(d, p) else {
                continue;
            };
            let id = match self.graph.by_name.get(&target) {
                Some(&id) => id,
                None if kind == "WhenTargetScheduled" => continue,
                None => match self.create_inner_fresh(&target) {
                    Ok(names) => match names.first().and_then(|n| self.graph.by_name.get(n)) {
                        Some(&id) => id,
                        None => continue,
                    },
                    Err(Stop::Need(r)) => return Err(Stop::Need(r)),
                    Err(Stop::Error(PlanError::Callback(message))) => {
                        self.work.errors.push(message);
                        continue;
                    }
                    Err(Stop::Error(_)) => continue,
                },
            };
            if id != d {
                out.push((id, kind));
            }
        }
        Ok(out)
    }

    /// A conditional-rdep pattern filled with the values the declarer's name had;
    /// `None` if a placeholder stays unresolved.
    fn fill_from_proc(&self, d: ProcId, pattern: &str) -> Option<String> {
        let pat = Pattern::parse(pattern).ok()?;
        let texts = &self.graph.procs[d.ix()].texts;
        pat.fill(|k| texts.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .ok()
    }

    /// Remember where a newly WANTED declarer's `WhenScheduled` rules point, so a
    /// target scheduled later finds it (docs/planner.md §9 step 3).
    fn index_when_scheduled(&mut self, d: ProcId) {
        let decl = self.graph.procs[d.ix()].decl;
        for rule in self.reg.decls[decl.0 as usize].rdeps.clone() {
            if let RdepDecl::WhenScheduled(p) = &rule
                && let Some(t) = self.fill_from_proc(d, p)
            {
                self.rdeps.ws_exact.entry(t).or_default().push(d);
            }
        }
    }

    /// Index a newly registered proc's plain and `WhenTargetScheduled` rdeps,
    /// filled with its own values where it has them.
    pub(super) fn index_rdeps(&mut self, q: ProcId) {
        let decl = self.graph.procs[q.ix()].decl;
        for rule in self.reg.decls[decl.0 as usize].rdeps.clone() {
            let (RdepDecl::Plain(p) | RdepDecl::WhenTargetScheduled(p)) = &rule else {
                continue;
            };
            let Ok(pat) = Pattern::parse(p) else { continue };
            let texts = &self.graph.procs[q.ix()].texts;
            let filled =
                pat.fill_partial(|k| texts.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
            match Pattern::parse(&filled) {
                Ok(f) if !f.has_placeholders() => {
                    self.rdeps.rdep_exact.entry(filled).or_default().push(q);
                }
                Ok(f) => self.rdeps.rdep_patterns.push((f, q)),
                Err(_) => {}
            }
        }
    }

    /// Add `dep` to `target`'s deps; if `target` was already counted, count it in.
    fn add_dep(&mut self, target: ProcId, dep: &str) {
        if self.graph.procs[target.ix()].deps.iter().any(|d| d == dep) {
            return;
        }
        self.graph.procs[target.ix()].deps.push(dep.to_owned());
        let Some(&q) = self.graph.by_name.get(dep) else {
            return;
        };
        self.check_wave(target, q);
        let t = &self.graph.procs[target.ix()];
        if !(t.settled && t.state == ProcState::Wanted) {
            return;
        }
        self.graph.edge_targets.push(target);
        let qs = self.graph.procs[q.ix()].state;
        if qs.is_failure() {
            self.fail_dep(target);
        } else if !qs.is_complete() {
            self.graph.procs[target.ix()].pending += 1;
            self.graph.dependents[q.ix()].push(target);
            if self.gate.ready.remove(&target) {
                self.leave_active(target);
            }
            self.gate.nf_ready.remove(&target);
        }
    }

    /// parproc's wave check: a dep must not be in a higher wave (collected error).
    fn check_wave(&mut self, p: ProcId, dep: ProcId) {
        let (pw, dw) = (self.decl_of(p).wave, self.decl_of(dep).wave);
        if dw > pw {
            self.work.errors.push(format!(
                "Proc \"{}\" (wave {pw}) cannot depend on proc \"{}\" (wave {dw}). Dependencies must have equal or lower wave number to avoid deadlock.",
                self.graph.procs[p.ix()].name,
                self.graph.procs[dep.ix()].name
            ));
        }
    }

    /// Count a newly WANTED proc's incomplete deps and place it: ready, waiting,
    /// or FAILED_DEP at once.
    fn settle_wanted(&mut self, id: ProcId) {
        let deps = self.graph.procs[id.ix()].deps.clone();
        let mut pending = 0;
        let mut missing = 0;
        let mut failed = false;
        let mut counted = std::collections::HashSet::new();
        for d in &deps {
            if !counted.insert(d.as_str()) {
                continue;
            }
            match self.graph.by_name.get(d) {
                Some(&dep) => {
                    self.check_wave(id, dep);
                    let st = self.graph.procs[dep.ix()].state;
                    if st.is_failure() {
                        failed = true;
                    } else if !st.is_complete() {
                        pending += 1;
                        self.graph.dependents[dep.ix()].push(id);
                    }
                }
                None => {
                    missing += 1;
                    self.graph.missing_names.insert(d.clone());
                    self.graph
                        .missing_waiters
                        .entry(d.clone())
                        .or_default()
                        .push(id);
                }
            }
        }
        let p = &mut self.graph.procs[id.ix()];
        p.pending = pending;
        p.missing = missing;
        p.settled = true;
        if failed || (pending == 0 && missing > 0) {
            self.fail_dep(id);
        } else if pending == 0 {
            self.make_ready(id);
        }
    }

    /// Fail a WANTED proc that can never run, with a reason of its own.
    pub(super) fn fail_unrunnable(&mut self, id: ProcId, kind: FailureKind, message: String) {
        self.complete_without_running(id, ProcState::Failed, Failure::new(kind, message));
    }

    /// Find dependency cycles among WANTED procs reachable from `roots` (through
    /// deps that are WANTED too) and end every proc on a cycle FAILED_DEP naming
    /// it, with a collected error: such procs could never start.
    fn break_cycles(&mut self, roots: Vec<ProcId>) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnPath,
            Done,
        }
        let mut mark: std::collections::HashMap<ProcId, Mark> = std::collections::HashMap::new();
        let mut cycles: Vec<Vec<ProcId>> = Vec::new();
        for root in roots {
            if mark.get(&root).copied().unwrap_or(Mark::New) != Mark::New
                || self.graph.procs[root.ix()].state != ProcState::Wanted
            {
                continue;
            }
            // Iterative DFS: (node, index of the next dep to look at).
            let mut stack: Vec<(ProcId, usize)> = vec![(root, 0)];
            mark.insert(root, Mark::OnPath);
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let deps = &self.graph.procs[node.ix()].deps;
                if *next >= deps.len() {
                    mark.insert(node, Mark::Done);
                    stack.pop();
                    continue;
                }
                let dep = deps[*next].clone();
                *next += 1;
                let Some(&q) = self.graph.by_name.get(&dep) else {
                    continue;
                };
                if self.graph.procs[q.ix()].state != ProcState::Wanted {
                    continue;
                }
                match mark.get(&q).copied().unwrap_or(Mark::New) {
                    Mark::New => {
                        mark.insert(q, Mark::OnPath);
                        stack.push((q, 0));
                    }
                    Mark::OnPath => {
                        let start = stack.iter().position(|(n, _)| *n == q).unwrap_or(0);
                        cycles.push(stack[start..].iter().map(|(n, _)| *n).collect());
                    }
                    Mark::Done => {}
                }
            }
        }
        for cycle in cycles {
            if cycle
                .iter()
                .any(|id| self.graph.procs[id.ix()].state != ProcState::Wanted)
            {
                continue;
            }
            let mut names: Vec<String> = cycle
                .iter()
                .map(|id| format!("\"{}\"", self.graph.procs[id.ix()].name))
                .collect();
            names.push(names[0].clone());
            let message = format!("dependency cycle: {}", names.join(" -> "));
            self.work.errors.push(message.clone());
            for id in cycle {
                if self.graph.procs[id.ix()].state == ProcState::Wanted {
                    let saved = std::mem::take(&mut self.graph.dependents[id.ix()]);
                    self.complete_without_running(
                        id,
                        ProcState::FailedDep,
                        Failure::new(FailureKind::Deadlock, message.clone()),
                    );
                    self.graph.dependents[id.ix()] = saved;
                    self.propagate(id);
                }
            }
        }
    }
}

/// The candidate closest to `name`, if one is close (Jaro-Winkler above 0.8):
/// the `did you mean` of every unknown name.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(name, c);
        if score > 0.8 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

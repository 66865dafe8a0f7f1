//! Context waits: a running proc blocks on others, gives its parallel slot back,
//! and resumes ahead of new launches. Waits that could never finish are refused
//! with the reason instead of hanging (parproc spins forever on all of these).

use std::collections::{HashMap, VecDeque};

use super::{PlanError, Planner, ProcId, ProcState, usage};

impl Planner {
    /// A RUNNING proc waits for `targets`: it gives its parallel slot back (its
    /// store stays live). Refused when the wait could never finish: the waiter
    /// itself, a target that waits (through deps or waits) on the waiter, a
    /// target that needs a lock the waiter holds, or a target in a higher wave.
    pub fn block(&mut self, waiter: ProcId, targets: &[ProcId]) -> Result<(), PlanError> {
        if self.graph.procs[waiter.ix()].state != ProcState::Running
            || self.graph.procs[waiter.ix()].blocked
        {
            return Err(usage(format!(
                "proc \"{}\" is not running",
                self.graph.procs[waiter.ix()].name
            )));
        }
        if let Some(reason) = self.wait_deadlock(waiter, targets) {
            return Err(PlanError::WaitRefused(reason));
        }
        self.mark_awaited(targets);
        let p = &mut self.graph.procs[waiter.ix()];
        p.blocked = true;
        p.waiting_on = targets.to_vec();
        self.gate.running -= 1;
        self.gate.blocked += 1;
        Ok(())
    }

    /// A blocked proc's wait is over; it resumes when
    /// [`Planner::next_ready`](super::Planner::next_ready) gives it a slot.
    pub fn request_resume(&mut self, id: ProcId) {
        let p = &mut self.graph.procs[id.ix()];
        if p.state == ProcState::Running && p.blocked && !self.gate.resume.contains(&id) {
            p.waiting_on.clear();
            self.gate.resume.push_back(id);
        }
    }

    /// Mark what blocked procs wait for (targets and their incomplete deps):
    /// these get stores first when live stores are scarce.
    fn mark_awaited(&mut self, targets: &[ProcId]) {
        let mut stack: Vec<ProcId> = targets.to_vec();
        while let Some(x) = stack.pop() {
            let p = &mut self.graph.procs[x.ix()];
            if p.awaited || p.state.is_complete() {
                continue;
            }
            p.awaited = true;
            for d in p.deps.clone() {
                if let Some(&q) = self.graph.by_name.get(&d) {
                    stack.push(q);
                }
            }
        }
    }

    /// Why a wait by `waiter` on `targets` could never finish, if it could not.
    fn wait_deadlock(&self, waiter: ProcId, targets: &[ProcId]) -> Option<String> {
        let quote = |id: ProcId| format!("\"{}\"", self.graph.procs[id.ix()].name);
        let held: Vec<&String> = self
            .gate
            .locks
            .iter()
            .filter(|(_, h)| **h == waiter)
            .map(|(l, _)| l)
            .collect();
        let wave = self.decl_of(waiter).wave;
        let mut parent: HashMap<ProcId, ProcId> = HashMap::new();
        let mut queue: VecDeque<ProcId> = VecDeque::new();
        for &t in targets {
            if t == waiter {
                return Some(format!("{} waits for itself", quote(waiter)));
            }
            if !self.graph.procs[t.ix()].state.is_complete() && parent.insert(t, waiter).is_none() {
                queue.push_back(t);
            }
        }
        let path = |parent: &HashMap<ProcId, ProcId>, end: ProcId| {
            let mut chain = vec![end];
            let mut cur = end;
            while let Some(&p) = parent.get(&cur) {
                chain.push(p);
                if p == waiter {
                    break;
                }
                cur = p;
            }
            chain.reverse();
            chain
        };
        while let Some(x) = queue.pop_front() {
            let p = &self.graph.procs[x.ix()];
            let decl = self.decl_of(x);
            if let Some(lock) = decl.locks.iter().find(|l| held.contains(l)) {
                return Some(format!(
                    "{} needs lock \"{lock}\", which the waiting proc {} holds",
                    quote(x),
                    quote(waiter)
                ));
            }
            if decl.wave > wave && matches!(p.state, ProcState::Idle | ProcState::Wanted) {
                return Some(format!(
                    "{} (wave {}) cannot start while {} (wave {wave}) waits for it",
                    quote(x),
                    decl.wave,
                    quote(waiter)
                ));
            }
            let next: Vec<ProcId> = match p.state {
                ProcState::Wanted | ProcState::Idle => p
                    .deps
                    .iter()
                    .filter_map(|d| self.graph.by_name.get(d).copied())
                    .collect(),
                ProcState::Running if p.blocked => p.waiting_on.clone(),
                _ => Vec::new(),
            };
            for y in next {
                if y == waiter {
                    let mut chain = path(&parent, x);
                    chain.push(waiter);
                    return Some(
                        chain
                            .into_iter()
                            .map(quote)
                            .collect::<Vec<_>>()
                            .join(" waits for "),
                    );
                }
                if self.graph.procs[y.ix()].state.is_complete() {
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(y) {
                    e.insert(x);
                    queue.push_back(y);
                }
            }
        }
        None
    }
}

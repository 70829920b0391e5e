//! The order a tenant's clients see: commits pushed in commit order, pushes
//! held around a running request, each request's answer released in its
//! place among them. Pure bookkeeping, with no sockets in it: commits go in,
//! (connection, packet) decisions come out.
//!
//! The rules it keeps:
//!
//! * commits are pushed in sequence order, each once; a commit that arrives
//!   early waits for the ones before it ([`Sequencer::take_due`]);
//! * while any request of a connection runs ([`Sequencer::hold`]), pushes to
//!   it are held; when a request ends, the held pushes of commits older than
//!   the request's own go first, then its answer, then the rest (or, while
//!   later requests of the connection still run, the rest stays held for
//!   them), so a write's ack never arrives before an older change;
//! * a connection's requests are answered in the order they started, each
//!   once its own commit (if it wrote) has been pushed ([`Sequencer::end`]),
//!   so an answer never overtakes its own pushes or an earlier answer;
//! * a commit that never comes (its request died) holds the others back
//!   only until the caller gives up on it ([`Sequencer::skip_gap`]).

use std::collections::{BTreeMap, VecDeque};
use std::hash::Hash;

use foldhash::{HashMap, HashMapExt};

/// Where one connection's packets go, in the order the sequencer decides.
pub trait Outbox<P, A> {
    /// Sends a push.
    fn push(&mut self, packet: P);
    /// Sends the answer that ends the connection's request.
    fn answer(&mut self, answer: A);
}

/// A request waiting to end: its answer goes out once its commit is pushed.
#[derive(Debug)]
pub struct Ending<K, A> {
    /// The connection the request came on.
    pub conn: K,
    /// Its place among the connection's requests.
    pub nth: u64,
    /// The commit it made, if it wrote.
    pub commit: Option<u64>,
    /// Its answer.
    pub answer: A,
}

/// One tenant's delivery order. `K` names a connection, `P` is a packet,
/// `T` a commit waiting to be pushed and `A` a request's answer.
#[derive(Debug)]
pub struct Sequencer<K, P, T, A> {
    /// The next commit to push.
    next: u64,
    /// Commits that arrived before their turn.
    commits: BTreeMap<u64, T>,
    /// Commits that arrived after their turn was skipped: pushed as they
    /// come, since late is better than never.
    late: VecDeque<(u64, T)>,
    /// Whether commit `next` has been taken and is being pushed.
    pushing: bool,
    /// Requests that ended, waiting for their commit to be pushed, by
    /// commit.
    waiting: BTreeMap<u64, Vec<Ending<K, A>>>,
    /// Requests whose commit has been pushed (or that wrote nothing), by
    /// connection and place: each is answered once the connection's
    /// earlier requests have been. Kept apart so that finding the next one
    /// to answer looks at the connections that may have one, not at every
    /// request waiting.
    ready: HashMap<K, BTreeMap<u64, Ending<K, A>>>,
    /// Connections that may have a request to answer now.
    candidates: VecDeque<K>,
    /// Connections mid-request: their requests running, and the pushes held
    /// for them with the commit each came from.
    held: HashMap<K, Holding<P>>,
}

/// A connection with requests running.
#[derive(Debug)]
struct Holding<P> {
    /// Its requests started and not yet answered, by place.
    running: std::collections::BTreeSet<u64>,
    pushes: Vec<(u64, P)>,
}

impl<P> Default for Holding<P> {
    fn default() -> Self {
        Self {
            running: Default::default(),
            pushes: Vec::new(),
        }
    }
}

impl<K: Eq + Hash + Clone, P, T, A> Sequencer<K, P, T, A> {
    /// A sequencer whose first commit to push is `next`.
    pub fn new(next: u64) -> Self {
        Self {
            next,
            commits: BTreeMap::new(),
            late: VecDeque::new(),
            pushing: false,
            waiting: BTreeMap::new(),
            ready: HashMap::new(),
            candidates: VecDeque::new(),
            held: HashMap::new(),
        }
    }

    /// The next commit to push.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Starts request `nth` of `conn`: pushes to it are held until it ends.
    pub fn hold(&mut self, conn: K, nth: u64) {
        self.held.entry(conn).or_default().running.insert(nth);
    }

    /// Hands over commit `seq`.
    pub fn committed(&mut self, seq: u64, commit: T) {
        if seq >= self.next {
            self.commits.insert(seq, commit);
        } else {
            self.late.push_back((seq, commit));
        }
    }

    /// The next commit to push, if its turn has come and none is being
    /// pushed: late commits first. Push it with [`route`](Self::route), then
    /// call [`pushed`](Self::pushed).
    pub fn take_due(&mut self) -> Option<(u64, T)> {
        if let Some(late) = self.late.pop_front() {
            return Some(late);
        }
        if self.pushing {
            return None;
        }
        let commit = self.commits.remove(&self.next)?;
        self.pushing = true;
        Some((self.next, commit))
    }

    /// Decides one packet of commit `seq` for `to`: `Some` to send it now,
    /// `None` when it is held for `to`'s running request.
    pub fn route(&mut self, seq: u64, to: &K, packet: P) -> Option<P> {
        match self.held.get_mut(to) {
            Some(holding) => {
                holding.pushes.push((seq, packet));
                None
            }
            None => Some(packet),
        }
    }

    /// Packets that follow what has been pushed so far (custom events of a
    /// request that wrote nothing) are routed as part of the last commit.
    pub fn last_pushed(&self) -> u64 {
        self.next.saturating_sub(1)
    }

    /// Commit `seq` has been pushed (or given up on); the next may go.
    pub fn pushed(&mut self, seq: u64) {
        if self.pushing && seq == self.next {
            self.pushing = false;
            self.next += 1;
        }
    }

    /// Whether commits are waiting for one that has not arrived.
    pub fn stalled(&self) -> bool {
        !self.pushing && !self.commits.is_empty()
    }

    /// Whether commit `seq` has been handed over already (pushed or
    /// waiting).
    pub fn has(&self, seq: u64) -> bool {
        seq < self.next || self.commits.contains_key(&seq)
    }

    /// Starts again after `seq`, when the commits up to it will never
    /// come: those waiting up to it are dropped.
    pub fn restart_after(&mut self, seq: u64) {
        if self.pushing || seq < self.next {
            return;
        }
        self.commits.retain(|waiting, _| *waiting > seq);
        self.next = seq + 1;
    }

    /// Gives up on the missing commits: the first waiting one is next.
    /// Returns the range skipped.
    pub fn skip_gap(&mut self) -> std::ops::Range<u64> {
        let from = self.next;
        if !self.pushing
            && let Some(first) = self.commits.keys().next()
        {
            self.next = *first;
        }
        from..self.next
    }

    /// Ends request `nth` of `conn`: its answer is released once `commit`
    /// (if it wrote) has been pushed and the connection's earlier requests
    /// have been answered. Take the endings due with
    /// [`next_ending`](Self::next_ending).
    pub fn end(&mut self, conn: K, nth: u64, commit: Option<u64>, answer: A) {
        let ending = Ending {
            conn,
            nth,
            commit,
            answer,
        };
        match commit {
            Some(seq) if seq >= self.next => self.waiting.entry(seq).or_default().push(ending),
            _ => self.make_ready(ending),
        }
    }

    fn make_ready(&mut self, ending: Ending<K, A>) {
        self.candidates.push_back(ending.conn.clone());
        self.ready
            .entry(ending.conn.clone())
            .or_default()
            .insert(ending.nth, ending);
    }

    /// A request that may be answered now, if any; release it before asking
    /// again.
    pub fn next_ending(&mut self) -> Option<Ending<K, A>> {
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() >= self.next {
                break;
            }
            for ending in entry.remove() {
                self.make_ready(ending);
            }
        }
        while let Some(conn) = self.candidates.pop_front() {
            let Some(queue) = self.ready.get_mut(&conn) else {
                continue;
            };
            // Only the connection's first ready request can be its first
            // running one: the others wait for it.
            let Some(first) = queue.first_entry() else {
                self.ready.remove(&conn);
                continue;
            };
            let running = self.held.get(&conn).and_then(|h| h.running.first());
            if running.is_none_or(|nth| nth == first.key()) {
                let ending = first.remove();
                if queue.is_empty() {
                    self.ready.remove(&conn);
                } else {
                    // Its next may go once this one is released.
                    self.candidates.push_back(conn);
                }
                return Some(ending);
            }
        }
        None
    }

    /// Releases an ending request into `out`: its held pushes of older
    /// commits, its answer, then the rest, unless later requests of the
    /// connection still run, which the rest waits for.
    pub fn release(&mut self, ending: Ending<K, A>, out: &mut impl Outbox<P, A>) {
        let mut holding = self.held.remove(&ending.conn).unwrap_or_default();
        holding.running.remove(&ending.nth);
        // A read's answer may lack any held change, so they all follow it; a
        // write's answer includes every commit before its own.
        let (before, after): (Vec<_>, Vec<_>) = std::mem::take(&mut holding.pushes)
            .into_iter()
            .partition(|(seq, _)| ending.commit.is_some_and(|own| *seq < own));
        for (_, packet) in before {
            out.push(packet);
        }
        out.answer(ending.answer);
        if holding.running.is_empty() {
            for (_, packet) in after {
                out.push(packet);
            }
        } else {
            holding.pushes = after;
            self.held.insert(ending.conn, holding);
        }
    }
}

#[cfg(test)]
mod tests;

//! The sequencer's order, case by case and under random interleavings.

use proptest::prelude::*;

use super::{Outbox, Sequencer};

/// What one connection received, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got<A = &'static str> {
    Push(u64),
    Answer(A),
}

type Seq<A = &'static str> = Sequencer<u32, u64, (), A>;

/// Records what a connection is sent.
struct Inbox<'a, A>(&'a mut Vec<Got<A>>);

impl<A> Outbox<u64, A> for Inbox<'_, A> {
    fn push(&mut self, packet: u64) {
        self.0.push(Got::Push(packet));
    }
    fn answer(&mut self, answer: A) {
        self.0.push(Got::Answer(answer));
    }
}

/// Pushes every due commit to `subscribers` (each packet is its commit's
/// number), then releases every request that may end.
fn pump(seq: &mut Seq, subscribers: &[u32], inboxes: &mut [Vec<Got>]) {
    pump_by(seq, &|_| subscribers.to_vec(), inboxes);
}

/// [`pump`], with the subscribers of each commit.
fn pump_by(seq: &mut Seq, subscribers: &dyn Fn(u64) -> Vec<u32>, inboxes: &mut [Vec<Got>]) {
    while let Some((n, ())) = seq.take_due() {
        for to in subscribers(n) {
            if let Some(packet) = seq.route(n, &to, n) {
                inboxes[to as usize].push(Got::Push(packet));
            }
        }
        seq.pushed(n);
    }
    while let Some(ending) = seq.next_ending() {
        let conn = ending.conn as usize;
        seq.release(ending, &mut Inbox(&mut inboxes[conn]));
    }
}

#[test]
fn commits_are_pushed_in_order_whatever_order_they_arrive_in() {
    let mut seq: Seq = Seq::new(1);
    let mut inboxes = vec![Vec::new()];
    seq.committed(3, ());
    seq.committed(2, ());
    pump(&mut seq, &[0], &mut inboxes);
    assert!(inboxes[0].is_empty(), "1 is missing, so 2 and 3 wait");
    assert!(seq.stalled());
    seq.committed(1, ());
    pump(&mut seq, &[0], &mut inboxes);
    assert_eq!(inboxes[0], [Got::Push(1), Got::Push(2), Got::Push(3)]);
    assert!(!seq.stalled());
}

#[test]
fn a_write_is_answered_after_older_held_pushes_and_before_newer_ones() {
    let mut seq: Seq = Seq::new(1);
    let mut inboxes = vec![Vec::new(), Vec::new()];
    // Connection 0 starts a request; commits 1 (someone else's), 2 (its
    // own) and 3 (someone else's) are pushed meanwhile.
    seq.hold(0, 0);
    seq.committed(1, ());
    pump(&mut seq, &[0, 1], &mut inboxes);
    assert!(inboxes[0].is_empty(), "held while its request runs");
    seq.committed(2, ());
    seq.end(0, 0, Some(2), "ack");
    seq.committed(3, ());
    pump(&mut seq, &[1], &mut inboxes);
    assert_eq!(inboxes[0], [Got::Push(1), Got::Answer("ack")]);
    // Commit 3 was routed before the request ended, so it was held and
    // follows the answer; anything routed after goes straight out.
    seq.hold(0, 1);
    seq.committed(4, ());
    pump(&mut seq, &[0], &mut inboxes);
    seq.end(0, 1, None, "read");
    pump(&mut seq, &[], &mut inboxes);
    assert_eq!(
        inboxes[0],
        [
            Got::Push(1),
            Got::Answer("ack"),
            Got::Answer("read"),
            Got::Push(4)
        ],
        "a read's answer may lack held changes, so they follow it"
    );
    assert_eq!(inboxes[1], [Got::Push(1), Got::Push(2), Got::Push(3)]);
}

#[test]
fn a_write_waits_for_its_own_commit_to_be_pushed() {
    let mut seq: Seq = Seq::new(1);
    let mut inboxes = vec![Vec::new(), Vec::new()];
    seq.hold(0, 0);
    seq.end(0, 0, Some(2), "ack");
    pump(&mut seq, &[1], &mut inboxes);
    assert!(inboxes[0].is_empty(), "commit 2 is not pushed yet");
    seq.committed(2, ());
    seq.committed(1, ());
    pump(&mut seq, &[1], &mut inboxes);
    assert_eq!(inboxes[0], [Got::Answer("ack")]);
    assert_eq!(inboxes[1], [Got::Push(1), Got::Push(2)]);
}

#[test]
fn a_commit_being_pushed_holds_the_next_until_it_is_done() {
    let mut seq: Seq = Seq::new(1);
    seq.committed(1, ());
    seq.committed(2, ());
    let (first, ()) = seq.take_due().expect("1 is due");
    assert_eq!(first, 1);
    assert!(seq.take_due().is_none(), "2 waits while 1 is being pushed");
    assert!(!seq.stalled(), "a commit being pushed is no gap");
    seq.pushed(1);
    assert_eq!(seq.take_due().map(|(n, ())| n), Some(2));
}

#[test]
fn a_skipped_gap_lets_later_commits_go_and_a_late_one_still_goes_out() {
    let mut seq: Seq = Seq::new(1);
    let mut inboxes = vec![Vec::new()];
    seq.committed(3, ());
    pump(&mut seq, &[0], &mut inboxes);
    assert_eq!(seq.skip_gap(), 1..3);
    pump(&mut seq, &[0], &mut inboxes);
    seq.committed(1, ());
    pump(&mut seq, &[0], &mut inboxes);
    assert_eq!(inboxes[0], [Got::Push(3), Got::Push(1)]);
    assert_eq!(seq.next(), 4, "a late commit does not move the order back");
}

#[test]
fn a_subscriber_joining_mid_stream_gets_only_later_commits_in_order() {
    let mut seq: Seq = Seq::new(1);
    let mut inboxes = vec![Vec::new(), Vec::new()];
    seq.committed(1, ());
    pump(&mut seq, &[0], &mut inboxes);
    // Connection 1 subscribes with a read: it joins, reads what commit 1
    // left, and commits 2 and 3 land while its read runs.
    seq.hold(1, 0);
    seq.committed(3, ());
    seq.committed(2, ());
    pump(&mut seq, &[0, 1], &mut inboxes);
    seq.end(1, 0, None, "read");
    pump(&mut seq, &[0, 1], &mut inboxes);
    assert_eq!(
        inboxes[1],
        [Got::Answer("read"), Got::Push(2), Got::Push(3)]
    );
    assert_eq!(inboxes[0], [Got::Push(1), Got::Push(2), Got::Push(3)]);
}

#[test]
fn pipelined_requests_are_answered_in_order_each_after_the_pushes_before_it() {
    let mut seq: Seq = Seq::new(1);
    let mut inboxes = vec![Vec::new(), Vec::new()];
    // Connection 0 sends three writes without waiting: they commit as 2, 4
    // and 5, between other connections' commits 1 and 3.
    for nth in 0..3 {
        seq.hold(0, nth);
    }
    // The third is durable first and ends first: it waits for the others.
    seq.end(0, 2, Some(5), "third");
    seq.end(0, 1, Some(4), "second");
    // Connection 0's own commits are not pushed to it.
    let subscribers = |n: u64| {
        if [2, 4, 5].contains(&n) {
            vec![1]
        } else {
            vec![0, 1]
        }
    };
    for n in [5, 4, 3, 1] {
        seq.committed(n, ());
        pump_by(&mut seq, &subscribers, &mut inboxes);
    }
    assert!(inboxes[0].is_empty(), "nothing before the first answer");
    seq.committed(2, ());
    seq.end(0, 0, Some(2), "first");
    pump_by(&mut seq, &subscribers, &mut inboxes);
    assert_eq!(
        inboxes[0],
        [
            Got::Push(1),
            Got::Answer("first"),
            Got::Push(3),
            Got::Answer("second"),
            Got::Answer("third"),
        ]
    );
}

/// One step of a random run.
#[derive(Debug, Clone)]
enum Step {
    /// `conn` starts a request, once its earlier ones have applied (a
    /// connection's requests apply in arrival order).
    Start(u32),
    /// `conn`'s earliest request not yet applied applies: it writes (takes
    /// the next commit number) or only reads.
    Apply(u32, bool),
    /// A made commit is handed to the sequencer, out of order.
    HandOver(usize),
    /// An applied request of `conn` ends (any of them: they finish side by
    /// side), once its commit is handed over.
    End(u32, usize),
}

fn step(conns: u32) -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..conns).prop_map(Step::Start),
        (0..conns, any::<bool>()).prop_map(|(c, w)| Step::Apply(c, w)),
        any::<usize>().prop_map(Step::HandOver),
        (0..conns, any::<usize>()).prop_map(|(c, pick)| Step::End(c, pick)),
    ]
}

/// A request as the model tracks it.
#[derive(Debug, Clone, Copy)]
struct Running {
    nth: u64,
    applied: bool,
    commit: Option<u64>,
    handed_over: bool,
}

/// What a random run left.
struct Played {
    /// What each connection received, in order; answers carry the
    /// request's place.
    inboxes: Vec<Vec<Got<u64>>>,
    /// Who made each commit (commit `n` at `n - 1`).
    made: Vec<u32>,
    /// Each connection's requests' commits, by place.
    requests: Vec<Vec<Option<u64>>>,
}

/// The model of a tenant: connections pipelining requests, every connection
/// subscribed to every commit but its own.
struct Model {
    seq: Seq<u64>,
    inboxes: Vec<Vec<Got<u64>>>,
    running: Vec<Vec<Running>>,
    made: Vec<u32>,
    pending: Vec<u64>,
    requests: Vec<Vec<Option<u64>>>,
}

impl Model {
    fn new(conns: usize) -> Self {
        Self {
            seq: Sequencer::new(1),
            inboxes: vec![Vec::new(); conns],
            running: vec![Vec::new(); conns],
            made: Vec::new(),
            pending: Vec::new(),
            requests: vec![Vec::new(); conns],
        }
    }

    fn apply(&mut self, step: &Step) {
        match *step {
            Step::Start(c) => {
                let c = c as usize;
                if self.running[c].iter().all(|r| r.applied) {
                    let nth = self.requests[c].len() as u64;
                    self.requests[c].push(None);
                    self.seq.hold(c as u32, nth);
                    self.running[c].push(Running {
                        nth,
                        applied: false,
                        commit: None,
                        handed_over: false,
                    });
                }
            }
            Step::Apply(c, writes) => {
                let Some(r) = self.running[c as usize].iter_mut().find(|r| !r.applied) else {
                    return;
                };
                r.applied = true;
                if writes {
                    self.made.push(c);
                    let n = self.made.len() as u64;
                    r.commit = Some(n);
                    self.requests[c as usize][r.nth as usize] = Some(n);
                    self.pending.push(n);
                }
            }
            Step::HandOver(pick) if !self.pending.is_empty() => {
                let n = self.pending.remove(pick % self.pending.len());
                self.seq.committed(n, ());
                for r in self.running.iter_mut().flatten() {
                    if r.commit == Some(n) {
                        r.handed_over = true;
                    }
                }
            }
            Step::End(c, pick) => {
                let ready: Vec<usize> = self.running[c as usize]
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.applied && (r.commit.is_none() || r.handed_over))
                    .map(|(at, _)| at)
                    .collect();
                if ready.is_empty() {
                    return;
                }
                let r = self.running[c as usize].remove(ready[pick % ready.len()]);
                self.seq.end(c, r.nth, r.commit, r.nth);
            }
            Step::HandOver(_) => {}
        }
        self.pump();
    }

    fn pump(&mut self) {
        while let Some((n, ())) = self.seq.take_due() {
            let committer = self.made[(n - 1) as usize];
            for to in (0..self.inboxes.len() as u32).filter(|c| *c != committer) {
                if let Some(packet) = self.seq.route(n, &to, n) {
                    self.inboxes[to as usize].push(Got::Push(packet));
                }
            }
            self.seq.pushed(n);
        }
        while let Some(ending) = self.seq.next_ending() {
            let conn = ending.conn as usize;
            self.seq
                .release(ending, &mut Inbox(&mut self.inboxes[conn]));
        }
    }

    /// Applies, hands over and ends everything still running.
    fn finish(mut self) -> Played {
        for c in 0..self.running.len() as u32 {
            while self.running[c as usize].iter().any(|r| !r.applied) {
                self.apply(&Step::Apply(c, false));
            }
        }
        while !self.pending.is_empty() {
            self.apply(&Step::HandOver(0));
        }
        for c in 0..self.running.len() as u32 {
            while !self.running[c as usize].is_empty() {
                self.apply(&Step::End(c, 0));
            }
        }
        Played {
            inboxes: self.inboxes,
            made: self.made,
            requests: self.requests,
        }
    }
}

fn play(conns: u32, steps: &[Step]) -> Played {
    let mut model = Model::new(conns as usize);
    for step in steps {
        model.apply(step);
    }
    model.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_connection_sees_one_order_and_no_ack_overtakes_an_older_change(
        steps in prop::collection::vec(step(4), 0..100)
    ) {
        let conns = 4;
        let Played { inboxes, made, requests } = play(conns, &steps);
        for (conn, inbox) in inboxes.iter().enumerate() {
            let pushes: Vec<u64> = inbox.iter().filter_map(|g| match g {
                Got::Push(n) => Some(*n),
                Got::Answer(_) => None,
            }).collect();
            let expected: Vec<u64> = (1..=made.len() as u64)
                .filter(|n| made[(*n - 1) as usize] != conn as u32)
                .collect();
            prop_assert_eq!(&pushes, &expected, "every other connection's commit, once, in order");
            let answers: Vec<usize> = inbox.iter().enumerate()
                .filter(|(_, g)| matches!(g, Got::Answer(_)))
                .map(|(at, _)| at)
                .collect();
            let order: Vec<u64> = inbox.iter().filter_map(|g| match g {
                Got::Answer(nth) => Some(*nth),
                Got::Push(_) => None,
            }).collect();
            let started: Vec<u64> = (0..requests[conn].len() as u64).collect();
            prop_assert_eq!(order, started, "every request is answered once, in the order they started");
            // Answers come in the order the requests started, so the k-th
            // answer is request k's.
            for (at, commit) in answers.iter().zip(&requests[conn]) {
                if let Some(own) = commit {
                    let older_after = inbox[*at..].iter().any(|g| matches!(g, Got::Push(n) if n < own));
                    prop_assert!(!older_after, "the ack of commit {} came before an older change", own);
                }
            }
        }
    }
}

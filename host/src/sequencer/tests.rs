//! The sequencer's order, case by case and under random interleavings.

use proptest::prelude::*;

use super::{Outbox, Sequencer};

/// What one connection received, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Push(u64),
    Answer(&'static str),
}

type Seq = Sequencer<u32, u64, (), &'static str>;

/// Records what a connection is sent.
struct Inbox<'a>(&'a mut Vec<Got>);

impl Outbox<u64, &'static str> for Inbox<'_> {
    fn push(&mut self, packet: u64) {
        self.0.push(Got::Push(packet));
    }
    fn answer(&mut self, answer: &'static str) {
        self.0.push(Got::Answer(answer));
    }
}

/// Pushes every due commit to `subscribers` (each packet is its commit's
/// number), then releases every request that may end.
fn pump(seq: &mut Seq, subscribers: &[u32], inboxes: &mut [Vec<Got>]) {
    while let Some((n, ())) = seq.take_due() {
        for &to in subscribers {
            if let Some(packet) = seq.route(n, &to, n) {
                inboxes[to as usize].push(Got::Push(packet));
            }
        }
        seq.pushed(n);
    }
    for ending in seq.take_endings() {
        let conn = ending.conn as usize;
        seq.release(ending, &mut Inbox(&mut inboxes[conn]));
    }
}

#[test]
fn commits_are_pushed_in_order_whatever_order_they_arrive_in() {
    let mut seq = Seq::new(1);
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
    let mut seq = Seq::new(1);
    let mut inboxes = vec![Vec::new(), Vec::new()];
    // Connection 0 starts a request; commits 1 (someone else's), 2 (its
    // own) and 3 (someone else's) are pushed meanwhile.
    seq.hold(0);
    seq.committed(1, ());
    pump(&mut seq, &[0, 1], &mut inboxes);
    assert!(inboxes[0].is_empty(), "held while its request runs");
    seq.committed(2, ());
    seq.end(0, Some(2), "ack");
    seq.committed(3, ());
    pump(&mut seq, &[1], &mut inboxes);
    assert_eq!(inboxes[0], [Got::Push(1), Got::Answer("ack")]);
    // Commit 3 was routed before the request ended, so it was held and
    // follows the answer; anything routed after goes straight out.
    seq.hold(0);
    seq.committed(4, ());
    pump(&mut seq, &[0], &mut inboxes);
    seq.end(0, None, "read");
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
    let mut seq = Seq::new(1);
    let mut inboxes = vec![Vec::new(), Vec::new()];
    seq.hold(0);
    seq.end(0, Some(2), "ack");
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
    let mut seq = Seq::new(1);
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
    let mut seq = Seq::new(1);
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
    let mut seq = Seq::new(1);
    let mut inboxes = vec![Vec::new(), Vec::new()];
    seq.committed(1, ());
    pump(&mut seq, &[0], &mut inboxes);
    // Connection 1 subscribes with a read: it joins, reads what commit 1
    // left, and commits 2 and 3 land while its read runs.
    seq.hold(1);
    seq.committed(3, ());
    seq.committed(2, ());
    pump(&mut seq, &[0, 1], &mut inboxes);
    seq.end(1, None, "read");
    pump(&mut seq, &[0, 1], &mut inboxes);
    assert_eq!(
        inboxes[1],
        [Got::Answer("read"), Got::Push(2), Got::Push(3)]
    );
    assert_eq!(inboxes[0], [Got::Push(1), Got::Push(2), Got::Push(3)]);
}

/// One step of a random run: `conn` acts, `pick` chooses among pending
/// hand-overs.
#[derive(Debug, Clone)]
enum Step {
    /// `conn` starts a request, if it has none running.
    Start(u32),
    /// `conn`'s running request commits (takes the next number).
    Commit(u32),
    /// A made commit is handed to the sequencer, out of order.
    HandOver(usize),
    /// `conn`'s running request ends, once its commit is handed over.
    End(u32),
}

fn step(conns: u32) -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..conns).prop_map(Step::Start),
        (0..conns).prop_map(Step::Commit),
        any::<usize>().prop_map(Step::HandOver),
        (0..conns).prop_map(Step::End),
    ]
}

/// How many answers an inbox holds.
fn answered(inbox: &[Got]) -> usize {
    inbox
        .iter()
        .filter(|got| matches!(got, Got::Answer(_)))
        .count()
}

/// A request as the model tracks it.
#[derive(Debug, Clone, Copy, Default)]
struct Running {
    commit: Option<u64>,
    handed_over: bool,
}

/// Plays `steps` against a sequencer where every connection subscribes to
/// every commit but its own, then finishes every request; returns each
/// connection's inbox, the committer of each commit, and each connection's
/// requests' commits in order.
fn play(conns: u32, steps: &[Step]) -> Played {
    let mut seq = Seq::new(1);
    let mut inboxes = vec![Vec::new(); conns as usize];
    let mut running: Vec<Option<Running>> = vec![None; conns as usize];
    let mut made: Vec<u32> = Vec::new();
    let mut pending: Vec<u64> = Vec::new();
    let mut requests: Vec<Vec<Option<u64>>> = vec![Vec::new(); conns as usize];
    let pump_for = |seq: &mut Seq, made: &[u32], inboxes: &mut Vec<Vec<Got>>| {
        while let Some((n, ())) = seq.take_due() {
            let committer = made[(n - 1) as usize];
            for to in (0..conns).filter(|c| *c != committer) {
                if let Some(packet) = seq.route(n, &to, n) {
                    inboxes[to as usize].push(Got::Push(packet));
                }
            }
            seq.pushed(n);
        }
        for ending in seq.take_endings() {
            let conn = ending.conn as usize;
            seq.release(ending, &mut Inbox(&mut inboxes[conn]));
        }
    };
    let mut apply = |seq: &mut Seq,
                     step: &Step,
                     made: &mut Vec<u32>,
                     pending: &mut Vec<u64>,
                     inboxes: &[Vec<Got>]| {
        match *step {
            // A connection's next request starts once the last one is
            // answered: the connection waits for each ack.
            Step::Start(c)
                if running[c as usize].is_none()
                    && answered(&inboxes[c as usize]) == requests[c as usize].len() =>
            {
                seq.hold(c);
                running[c as usize] = Some(Running::default());
            }
            Step::Commit(c) => {
                if let Some(r) = running[c as usize].as_mut().filter(|r| r.commit.is_none()) {
                    made.push(c);
                    let n = made.len() as u64;
                    r.commit = Some(n);
                    pending.push(n);
                }
            }
            Step::HandOver(pick) if !pending.is_empty() => {
                let n = pending.remove(pick % pending.len());
                seq.committed(n, ());
                for r in running.iter_mut().flatten() {
                    if r.commit == Some(n) {
                        r.handed_over = true;
                    }
                }
            }
            Step::End(c) => {
                if let Some(r) = running[c as usize].filter(|r| r.commit.is_none() || r.handed_over)
                {
                    running[c as usize] = None;
                    requests[c as usize].push(r.commit);
                    seq.end(c, r.commit, "answer");
                }
            }
            _ => {}
        }
    };
    for s in steps {
        apply(&mut seq, s, &mut made, &mut pending, &inboxes);
        pump_for(&mut seq, &made, &mut inboxes);
    }
    // Every commit made is handed over, and every request ends.
    while !pending.is_empty() {
        apply(
            &mut seq,
            &Step::HandOver(0),
            &mut made,
            &mut pending,
            &inboxes,
        );
    }
    for c in 0..conns {
        apply(&mut seq, &Step::End(c), &mut made, &mut pending, &inboxes);
    }
    pump_for(&mut seq, &made, &mut inboxes);
    Played {
        inboxes,
        made,
        requests,
    }
}

/// What a random run left.
struct Played {
    /// What each connection received, in order.
    inboxes: Vec<Vec<Got>>,
    /// Who made each commit (commit `n` at `n - 1`).
    made: Vec<u32>,
    /// Each connection's requests' commits, in the order they ended.
    requests: Vec<Vec<Option<u64>>>,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_connection_sees_one_order_and_no_ack_overtakes_an_older_change(
        steps in prop::collection::vec(step(4), 0..80)
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
            prop_assert_eq!(answers.len(), requests[conn].len(), "every request is answered once");
            for (at, commit) in answers.iter().zip(&requests[conn]) {
                if let Some(own) = commit {
                    let older_after = inbox[*at..].iter().any(|g| matches!(g, Got::Push(n) if n < own));
                    prop_assert!(!older_after, "the ack of commit {} came before an older change", own);
                }
            }
        }
    }
}

//! Warm instances of a view, and one call run in one: under the tenant's
//! instance slots, the CPU deadline and a wall-clock backstop.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;

use super::bound::{Bound, Pre};
use super::engine::{Runtime, on_view_worker};
use super::host::{CallCtx, HostState, Limiter};
use super::output::{LogPipe, NowServing, Serving};
use super::{CallError, FailReason, LONG_STREAK, NUDGE_GRACE, SHORT_CALL_TICKS, TICK, View};
use super::{fair, offload};

/// One warm instance and the store it lives in.
pub(super) struct Instance {
    store: Store<HostState>,
    view: Bound,
    /// The call running now, for lines the view prints: WASI writes them
    /// from a task of its own, outside the call's span.
    now: NowServing,
}

/// A fresh instance of `pre`, made while holding `turn` (its start-up runs
/// view code), which it keeps; no turn on the view workers.
async fn instantiate(
    pre: Pre,
    runtime: Arc<Runtime>,
    view: Arc<str>,
    turn: Option<fair::Turn>,
    ran_long: offload::RanLong,
) -> Result<Instance, CallError> {
    let now: NowServing = Arc::new(Mutex::new(Serving::default()));
    let wasi = WasiCtxBuilder::new()
        .stdout(LogPipe::new(
            Arc::clone(&runtime.tenant),
            Arc::clone(&view),
            "stdout",
            Arc::clone(&now),
        ))
        .stderr(LogPipe::new(
            Arc::clone(&runtime.tenant),
            Arc::clone(&view),
            "stderr",
            Arc::clone(&now),
        ))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let limits = runtime.limits;
    let state = HostState {
        wasi,
        table: ResourceTable::new(),
        limiter: Limiter {
            max_memory: limits.memory_bytes,
            max_table_elements: 100_000,
            memory: 0,
            out_of_memory: false,
        },
        view,
        tenant: Arc::clone(&runtime.tenant),
        fair: Arc::clone(&runtime.engine.fair),
        turn: Arc::new(Mutex::new(turn)),
        ticks_used: 0,
        tick_budget: ticks(limits.cpu_deadline),
        nudges_seen: 0,
        out_of_time: false,
        ran_long,
        call: None,
    };
    let mut store = Store::new(&runtime.engine.engine, state);
    store.limiter(|state| &mut state.limiter);
    store.epoch_deadline_callback(|mut ctx| {
        let state = ctx.data_mut();
        let nudges = state.fair.nudges();
        let nudged = nudges != state.nudges_seen;
        if nudged {
            // A clock tick that coincides with a nudge goes uncounted: the
            // deadline errs on the long side.
            state.nudges_seen = nudges;
        } else {
            state.ticks_used += 1;
        }
        if state.ticks_used > state.tick_budget {
            state.out_of_time = true;
            return Err(wasmtime::Error::msg("view exceeded its CPU deadline"));
        }
        // It yields below. The first tick may come at any moment of a short
        // call; one that sees a second has run for a whole tick, and if it
        // runs on a socket worker, it moves now.
        if state.ticks_used > 1 {
            state.ran_long.store(true, Ordering::Release);
        }
        // A nudge hands the turn on once the holder has had it for longer
        // than a short call takes; a tick, once the call has run for more
        // than a short call's ticks.
        let hand_on = if nudged {
            let held = state.turn.lock().as_ref().map(fair::Turn::held_for);
            held.is_some_and(|held| held > NUDGE_GRACE)
        } else {
            state.ticks_used > SHORT_CALL_TICKS
        };
        if on_view_worker() {
            // At the lowest priority a call gets little more than what
            // request work leaves: it needs no turn, and must not hold one
            // while the kernel keeps it waiting, or other tenants' calls
            // would wait with it.
            drop(state.turn.lock().take());
        } else if hand_on && state.fair.contended() {
            // A long call, while others wait to run view code: hand the
            // turn on and queue for the next one. Time spent waiting is not CPU time: the
            // deadline is re-armed after the wait.
            let slot = Arc::clone(&state.turn);
            drop(slot.lock().take());
            let fair = Arc::clone(&state.fair);
            let tenant = Arc::clone(&state.tenant);
            return Ok(UpdateDeadline::YieldCustom(
                1,
                // Polled where the call goes on: on the view workers, if
                // it moved there meanwhile, it needs no turn.
                Box::pin(async move {
                    if !on_view_worker() {
                        let turn = fair.reacquire(&tenant).await;
                        *slot.lock() = Some(turn);
                    }
                }),
            ));
        }
        // A nudge that hands nothing on leaves the call running, where it was.
        if nudged {
            return Ok(UpdateDeadline::Continue(1));
        }
        // Yield every tick so a busy view never holds a runtime worker
        // for longer than one tick at a time.
        Ok(UpdateDeadline::Yield(1))
    });
    store.set_epoch_deadline(1);
    let view = pre
        .instantiate(&mut store)
        .await
        .map_err(|e| classify(&store, &e))?;
    Ok(Instance { store, view, now })
}

/// A call into an instance: borrows it for as long as the call runs.
type Call<T> = Box<
    dyn for<'a> FnOnce(
            &'a Bound,
            &'a mut Store<HostState>,
        ) -> Pin<Box<dyn Future<Output = wasmtime::Result<T>> + Send + 'a>>
        + Send,
>;

impl View {
    /// Runs `f` on a warm instance with `ctx` installed, under the CPU
    /// deadline and a wall-clock backstop: here while it is short, on the
    /// engine's view workers once it runs long (see `offload`). An instance
    /// that failed in any way is dropped, since a trap poisons its store.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        ctx: Option<CallCtx>,
        f: Call<T>,
    ) -> Result<(T, Option<CallCtx>), CallError> {
        let deadline = self.runtime.limits.cpu_deadline;
        // Waiting for a slot and the backstop both scale with the deadline,
        // so they stay proportionate when an operator raises it.
        let wall = deadline * 10 + Duration::from_secs(1);
        let permit: OwnedSemaphorePermit =
            match tokio::time::timeout(wall, Arc::clone(&self.runtime.slots).acquire_owned()).await
            {
                Ok(Ok(permit)) => permit,
                _ => return Err(CallError::Busy),
            };
        let idle = self.idle.lock().pop();
        if idle.is_some() {
            self.runtime.unpool(1);
        }
        let pre = self.pre.clone();
        let runtime = Arc::clone(&self.runtime);
        let view = Arc::clone(&self.name);
        let calls = self.calls.clone();
        let ran_long: offload::RanLong = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran_long);
        let caller = ctx
            .as_ref()
            .map(|ctx| ctx.caller.clone())
            .unwrap_or_default();
        // What the view logs names the request: its code (start-up and
        // call) runs in the request's span. Only those futures are wrapped,
        // boxed ones: wrapping this whole future would move it once more,
        // and it is a kilobyte.
        let span = tracing::Span::current();
        let call = async move {
            // The epoch must move for as long as view code may run.
            let _clock = runtime.engine.clock.running();
            // View code runs on the request threads only while holding
            // a turn (see `fair`); on the view workers it needs none.
            let turn = if on_view_worker() {
                None
            } else {
                let acquire = runtime.engine.fair.acquire(&runtime.tenant);
                match tokio::time::timeout(wall, acquire).await {
                    Ok(turn) => Some(turn),
                    Err(_) => return Err(CallError::Busy),
                }
            };
            let mut instance = match idle {
                Some(instance) => {
                    *instance.store.data().turn.lock() = turn;
                    instance
                }
                // Boxed: making an instance is rare, and its future is
                // kilobytes that every call's future would carry and move.
                // Its start-up runs view code, in the request's span too.
                None => {
                    Box::pin(
                        instantiate(
                            pre,
                            Arc::clone(&runtime),
                            Arc::clone(&view),
                            turn,
                            Arc::clone(&flag),
                        )
                        .instrument(span.clone()),
                    )
                    .await?
                }
            };
            {
                let state = instance.store.data_mut();
                state.ticks_used = 0;
                state.nudges_seen = state.fair.nudges();
                state.out_of_time = false;
                state.call = ctx;
                state.ran_long = flag;
            }
            // Deadlines are absolute: re-arm before every call.
            instance.store.set_epoch_deadline(1);
            *instance.now.lock() = Serving {
                caller,
                span: span.clone(),
            };
            let Instance {
                store,
                view: exports,
                ..
            } = &mut instance;
            let started = std::time::Instant::now();
            let outcome = tokio::time::timeout(wall, f(exports, store).instrument(span)).await;
            if let Some(calls) = &calls {
                calls.observe(started.elapsed().as_secs_f64());
            }
            // Hand the turn and the slot on before anything else.
            drop(instance.store.data().turn.lock().take());
            drop(permit);
            Ok((instance, outcome))
        };
        let workers = self.runtime.engine.workers();
        let streak = self.long_streak.load(Ordering::Relaxed);
        let moved = if streak > 0 {
            self.long_streak.store(streak - 1, Ordering::Relaxed);
            workers.spawn(call).await
        } else {
            match offload::Here::new(call, ran_long).await {
                offload::Outcome::Done(output) => Ok(output),
                offload::Outcome::Long(rest) => {
                    self.long_streak.store(LONG_STREAK, Ordering::Relaxed);
                    workers.spawn(rest).await
                }
            }
        };
        let (mut instance, outcome) = moved.map_err(|err| CallError::Failed {
            reason: FailReason::Trap,
            detail: format!("the view call's task failed: {err}"),
        })??;
        match outcome {
            Ok(Ok(value)) => {
                let ctx = instance.store.data_mut().call.take();
                let mut idle = self.idle.lock();
                // As many as calls have needed at once, within the tenant's
                // cap: a fresh instance costs 10-40 µs to make and more to
                // unmap, which under load is most of a call's cost.
                if self.runtime.reserve_pooled() {
                    idle.push(instance);
                }
                Ok((value, ctx))
            }
            // The instance is dropped with its poisoned store and the call's
            // transaction.
            Ok(Err(err)) => Err(classify(&instance.store, &err)),
            Err(_elapsed) => Err(CallError::Failed {
                reason: FailReason::Deadline,
                detail: format!("no answer within {wall:?} of wall-clock time"),
            }),
        }
    }
}

fn ticks(deadline: Duration) -> u64 {
    (deadline.as_millis() / TICK.as_millis()).max(1) as u64
}

fn classify(store: &Store<HostState>, err: &wasmtime::Error) -> CallError {
    let state = store.data();
    let reason = if state.out_of_time {
        FailReason::Deadline
    } else if state.limiter.out_of_memory {
        FailReason::Memory
    } else {
        FailReason::Trap
    };
    CallError::Failed {
        reason,
        detail: err.root_cause().to_string(),
    }
}

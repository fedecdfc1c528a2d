//! The log's writer: entries go through a bounded channel to one task that
//! appends them in batches (one store call per batch). A full queue drops
//! the entry and counts it, rather than make a sign-in wait for the store.
//! The writer wakes on a timer (`WAKE_MS`), not per entry: a sign-in never
//! pays for waking another thread; a flush wakes it at once.
//!
//! Sign-ins reach the writer as facts; their Graph records are built here,
//! off the request path. Successful non-interactive sign-ins (refreshes,
//! apps' client-credentials tokens) of the same user or app, app and
//! address within `AGGREGATION_MS` become one entry with a count, as Entra
//! aggregates them: an API client taking thousands of tokens a second
//! writes a few entries a second, not thousands.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::audit::signin::SignIn;
use crate::model::LogEntry;
use crate::store::Store;

/// Entries per store call at most.
const BATCH: usize = 512;

/// How long successful non-interactive sign-ins are gathered into one entry.
pub const AGGREGATION_MS: i64 = 1000;

/// How often the writer looks at its queue.
const WAKE_MS: u64 = 100;

enum Message {
    Entry(Box<LogEntry>),
    SignIn(Box<SignIn>),
    /// Answered once everything sent before it is written.
    Flush(oneshot::Sender<()>),
}

/// What makes successful non-interactive sign-ins one entry.
#[derive(Debug, Clone, Copy)]
pub struct Repeat<'a> {
    pub tenant_id: &'a str,
    /// The user, or none for an app signing in as itself.
    pub user_id: Option<&'a str>,
    pub app_id: &'a str,
    pub ip_address: &'a str,
}

impl Repeat<'_> {
    fn of(&self, sign_in: &SignIn) -> bool {
        sign_in.tenant_id == self.tenant_id
            && sign_in.user_id() == self.user_id
            && sign_in.app_id == self.app_id
            && sign_in.request.ip_address == self.ip_address
    }
}

struct Aggregate {
    first: SignIn,
    count: u64,
    last_ms: i64,
}

/// Open aggregates by the hash of their `Repeat` (a bucket holds the rare
/// collisions), in shards: each worker thread adds to a shard of its own
/// (threads take them in turn), so the token path never waits for another
/// worker's lock; the writer merges what the shards close.
struct Aggregates {
    shards: [Shard; SHARDS],
    hasher: foldhash::fast::RandomState,
}

const SHARDS: usize = 16;

/// A shard on a cache line of its own: two workers' shards side by side
/// would bounce that line between their cores.
#[derive(Default)]
#[repr(align(128))]
struct Shard(Mutex<HashMap<u64, Vec<Aggregate>>>);

thread_local! {
    /// This thread's shard.
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

impl Aggregates {
    fn new() -> Aggregates {
        Aggregates { shards: Default::default(), hasher: Default::default() }
    }
}

pub struct Recorder {
    queue: mpsc::Sender<Message>,
    dropped: Arc<AtomicU64>,
    /// Wakes the writer before its timer (a flush).
    wake: Arc<Notify>,
    open: Arc<Aggregates>,
}

impl Recorder {
    /// Starts the writer on the current runtime; it ends when the recorder
    /// is dropped. It holds the store weakly: whoever owns the store (the
    /// `Idp`) closes it when done, not this task some time later.
    pub fn start(store: &Arc<dyn Store>, capacity: usize) -> Recorder {
        let (queue, received) = mpsc::channel(capacity.max(1));
        let wake = Arc::new(Notify::new());
        let open = Arc::new(Aggregates::new());
        tokio::spawn(write(Arc::downgrade(store), received, wake.clone(), open.clone()));
        Recorder { queue, dropped: Arc::new(AtomicU64::new(0)), wake, open }
    }

    /// Queues a message; never waits.
    fn send(&self, message: Message) {
        if self.queue.try_send(message).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            metrics::counter!("b2b_idp_audit_dropped_total").increment(1);
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "the audit log's queue is full: entries are dropped (audit.queue)");
            }
        }
    }

    /// Counts a sign-in (`b2b_idp_sign_ins_total`) without logging it.
    pub fn count(&self, sign_in: &SignIn) {
        let (outcome, user_type) = (sign_in.outcome(), sign_in.user_type_label());
        crate::telemetry::count_for_tenant(
            "b2b_idp_sign_ins_total",
            &sign_in.tenant_label,
            [("outcome", outcome), ("user_type", user_type)],
        );
    }

    /// Logs a sign-in and counts it. Failures that anyone can cause go
    /// through `signin::log::failure`, which bounds them per client address.
    pub fn sign_in(&self, sign_in: SignIn) {
        self.count(&sign_in);
        if sign_in.error_code != 0 {
            tracing::warn!(
                tenant = %sign_in.tenant_id,
                app = %sign_in.app_id,
                error_code = sign_in.error_code,
                reason = %sign_in.failure_reason,
                "sign-in failed"
            );
        }
        self.send(Message::SignIn(Box::new(sign_in)));
    }

    /// A successful non-interactive sign-in (a refresh, an app's token):
    /// one more of an open aggregate when there is one (no allocation: the
    /// token path), else `build` makes the first.
    pub fn repeated_success(&self, tenant_label: &str, user_type: &'static str, repeat: Repeat<'_>, build: impl FnOnce() -> SignIn) {
        crate::telemetry::count_for_tenant("b2b_idp_sign_ins_total", tenant_label, [("outcome", "success"), ("user_type", user_type)]);
        let hash = self.open.hasher.hash_one((repeat.tenant_id, repeat.user_id, repeat.app_id, repeat.ip_address));
        let shard = &self.open.shards[SHARD.with(|shard| *shard)];
        let mut open = shard.0.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = open.entry(hash).or_default();
        let now = crate::util::now_ms();
        match bucket.iter_mut().find(|a| repeat.of(&a.first)) {
            Some(aggregate) => {
                aggregate.count += 1;
                aggregate.last_ms = now;
            }
            None => bucket.push(Aggregate { first: build(), count: 1, last_ms: now }),
        }
    }

    /// Logs a directory change.
    pub fn change(&self, change: crate::audit::change::Change) {
        if let Some(reason) = &change.failure {
            tracing::warn!(tenant = %change.tenant_id, activity = %change.activity, %reason, "directory change refused");
        }
        self.send(Message::Entry(Box::new(change.entry())));
    }

    /// Waits until everything recorded so far is in the store (a reader's
    /// own writes, a shutdown). Gives up if the writer is gone.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            self.wake.notify_one();
            let _ = wait.await;
        }
    }
}

/// Moves the aggregates begun before `before_ms` (all, with `i64::MAX`) to
/// `entries`, one per `Repeat` (merged across the shards).
fn close_aggregates(open: &Aggregates, before_ms: i64, entries: &mut Vec<LogEntry>) {
    let mut closed: HashMap<u64, Vec<Aggregate>> = HashMap::new();
    for shard in &open.shards {
        let mut open = shard.0.lock().unwrap_or_else(PoisonError::into_inner);
        open.retain(|hash, bucket| {
            let (old, young): (Vec<Aggregate>, Vec<Aggregate>) = bucket.drain(..).partition(|a| a.first.created_ms < before_ms);
            for aggregate in old {
                merge(closed.entry(*hash).or_default(), aggregate);
            }
            *bucket = young;
            !bucket.is_empty()
        });
    }
    // Records are built outside the locks: sign-ins never wait for JSON.
    entries.extend(closed.into_values().flatten().map(|a| a.first.entry(a.count, a.last_ms)));
}

/// Adds `aggregate` to the one of the same `Repeat` in `bucket`, if any.
fn merge(bucket: &mut Vec<Aggregate>, aggregate: Aggregate) {
    let first = &aggregate.first;
    let repeat =
        Repeat { tenant_id: &first.tenant_id, user_id: first.user_id(), app_id: &first.app_id, ip_address: &first.request.ip_address };
    match bucket.iter_mut().find(|a| repeat.of(&a.first)) {
        Some(same) => {
            same.count += aggregate.count;
            same.last_ms = same.last_ms.max(aggregate.last_ms);
            if aggregate.first.created_ms < same.first.created_ms {
                same.first = aggregate.first;
            }
        }
        None => bucket.push(aggregate),
    }
}

async fn write(store: Weak<dyn Store>, mut received: mpsc::Receiver<Message>, wake: Arc<Notify>, open: Arc<Aggregates>) {
    let mut tick = tokio::time::interval(Duration::from_millis(WAKE_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closed = false;
    while !closed {
        tokio::select! {
            _ = tick.tick() => {}
            _ = wake.notified() => {}
        }
        // Everything queued now, a batch at a time.
        loop {
            let mut messages = Vec::with_capacity(BATCH);
            while messages.len() < BATCH {
                match received.try_recv() {
                    Ok(message) => messages.push(message),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
            let more = messages.len() == BATCH;
            handle(&store, &open, messages, closed).await;
            if !more {
                break;
            }
        }
    }
}

/// Logs what `messages` bring and the aggregates that are old enough (all
/// of them before a flush or at the end), then answers the flushes.
async fn handle(store: &Weak<dyn Store>, open: &Aggregates, messages: Vec<Message>, last: bool) {
    let mut entries = Vec::new();
    let mut flushes = vec![];
    for message in messages {
        match message {
            Message::Entry(entry) => entries.push(*entry),
            Message::SignIn(sign_in) => entries.push(sign_in.entry(1, 0)),
            Message::Flush(done) => flushes.push(done),
        }
    }
    let horizon = if flushes.is_empty() && !last { crate::util::now_ms() - AGGREGATION_MS } else { i64::MAX };
    close_aggregates(open, horizon, &mut entries);
    append(store, &entries).await;
    for done in flushes {
        let _ = done.send(());
    }
}

/// Appends a batch, trying three times; what cannot be written is counted as dropped.
async fn append(store: &Weak<dyn Store>, entries: &[LogEntry]) {
    if entries.is_empty() {
        return;
    }
    let Some(store) = store.upgrade() else {
        // The server is gone (a last flush raced its shutdown).
        metrics::counter!("b2b_idp_audit_dropped_total").increment(entries.len() as u64);
        return;
    };
    let mut tries = 0;
    while let Err(e) = store.append_log(entries).await {
        tries += 1;
        tracing::warn!(error = %crate::util::error_chain(&e), entries = entries.len(), tries, "writing the audit log failed");
        if tries == 3 {
            metrics::counter!("b2b_idp_audit_dropped_total").increment(entries.len() as u64);
            return;
        }
        tokio::time::sleep(Duration::from_millis(200 * tries)).await;
    }
}

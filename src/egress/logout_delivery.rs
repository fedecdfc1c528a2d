//! Logout tokens on their way to apps (`signin::channel_logout` makes
//! them), from a background task, so no page waits on an app: a bounded
//! queue, a few deliveries at once, and a few tries each with growing
//! pauses. Like every outbound request they reach only public addresses,
//! unless `b2b.allowed_internal_networks` names them, or this server's own
//! base URL (a home tenant telling a resource tenant).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::reqwest;
use tokio::sync::{mpsc, Semaphore};

use crate::egress::Egress;
use crate::error::{Error, Result};
use crate::util::now;

/// Pauses before each try: four tries within about 36 seconds.
const RETRY_PAUSES: [Duration; 4] = [Duration::ZERO, Duration::from_secs(1), Duration::from_secs(5), Duration::from_secs(30)];
/// Logout tokens waiting to be sent, and deliveries under way (between
/// their tries); past both, new ones are dropped (and counted).
const QUEUE: usize = 10_000;
/// Tries running at once.
const PARALLEL: usize = 16;
/// How long one try may take, and its connection.
const TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// One logout token on its way to one app.
#[derive(Debug)]
pub struct Delivery {
    /// The tenant's metrics label.
    pub tenant: String,
    pub client_id: String,
    pub uri: String,
    pub token: String,
    /// The token's `exp`: no try after it (the app would refuse it).
    pub expires_at: i64,
}

/// The queue of logout tokens and the task that posts them.
pub struct Notifier {
    queue: mpsc::Sender<Delivery>,
    /// Deliveries queued or under way.
    pending: Arc<AtomicUsize>,
}

/// The HTTP clients a delivery may use, and the policy that picks one.
struct Posting {
    /// To this server's own URLs only.
    own: reqwest::Client,
    /// Anywhere else: public addresses only (`egress`).
    outbound: reqwest::Client,
    egress: Egress,
    base_url: String,
}

impl Notifier {
    /// Starts the delivery task (on the current Tokio runtime).
    pub fn start(egress: Egress, base_url: &str) -> Result<Notifier> {
        let builder =
            || reqwest::ClientBuilder::new().redirect(reqwest::redirect::Policy::none()).connect_timeout(CONNECT_TIMEOUT).timeout(TIMEOUT);
        let built = |b: reqwest::ClientBuilder| b.build().map_err(|e| Error::Internal(format!("HTTP client: {e}")));
        let posting = Arc::new(Posting {
            own: built(builder())?,
            outbound: built(builder().no_proxy().dns_resolver(egress.resolver()))?,
            egress,
            // As a parsed URL writes it, to compare with parsed URLs.
            base_url: format!("{}/", url::Url::parse(base_url).map(|u| u.to_string()).unwrap_or_default().trim_end_matches('/')),
        });
        let (queue, mut waiting) = mpsc::channel::<Delivery>(QUEUE);
        let pending = Arc::new(AtomicUsize::new(0));
        let done = pending.clone();
        tokio::spawn(async move {
            let (slots, under_way) = (Arc::new(Semaphore::new(PARALLEL)), Arc::new(Semaphore::new(QUEUE)));
            while let Some(delivery) = waiting.recv().await {
                let Ok(place) = under_way.clone().acquire_owned().await else { break };
                let (posting, slots, done) = (posting.clone(), slots.clone(), done.clone());
                tokio::spawn(async move {
                    posting.deliver(delivery, &slots).await;
                    done.fetch_sub(1, Ordering::SeqCst);
                    drop(place);
                });
            }
        });
        Ok(Notifier { queue, pending })
    }

    /// Waits, at most `within`, until every queued delivery has ended (a
    /// one-shot command or a shutdown must not drop logouts just made);
    /// returns how many had not.
    pub async fn settle(&self, within: Duration) -> usize {
        let until = Instant::now() + within;
        while self.pending.load(Ordering::SeqCst) > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.pending.load(Ordering::SeqCst)
    }

    /// Queues a delivery; false (logged and counted) when the queue is full.
    pub fn queue(&self, delivery: Delivery) -> bool {
        self.pending.fetch_add(1, Ordering::SeqCst);
        match self.queue.try_send(delivery) {
            Ok(()) => true,
            Err(e) => {
                let delivery = match e {
                    mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d) => d,
                };
                self.pending.fetch_sub(1, Ordering::SeqCst);
                tracing::warn!(client = %delivery.client_id, "back-channel logout dropped: the queue is full");
                count(&delivery.tenant, "dropped");
                false
            }
        }
    }
}

/// How one try ended.
enum Try {
    Delivered,
    /// The app answered, and not with success: trying again would not help
    /// (§2.8: 400 means the app could not log the session out).
    Refused(String),
    /// No answer, or one that says to try later (5xx, 429).
    Failed(String),
}

impl Posting {
    /// Tries, with pauses between; a try holds one of the `PARALLEL`
    /// slots only while it runs, so an app that never answers cannot
    /// hold up the others' logouts through its pauses.
    async fn deliver(&self, delivery: Delivery, slots: &Semaphore) {
        let mut last = String::new();
        for (i, pause) in RETRY_PAUSES.iter().enumerate() {
            tokio::time::sleep(*pause).await;
            if now() > delivery.expires_at {
                last = "the logout token expired".into();
                break;
            }
            let Ok(_slot) = slots.acquire().await else { return };
            match self.post(&delivery).await {
                Try::Delivered => {
                    tracing::info!(client = %delivery.client_id, tries = i + 1, "back-channel logout delivered");
                    return count(&delivery.tenant, "delivered");
                }
                Try::Refused(why) => {
                    tracing::warn!(client = %delivery.client_id, reason = %why, "back-channel logout refused by the app");
                    return count(&delivery.tenant, "refused");
                }
                Try::Failed(why) => last = why,
            }
        }
        tracing::warn!(client = %delivery.client_id, reason = %last, "back-channel logout failed");
        count(&delivery.tenant, "failed");
    }

    async fn post(&self, delivery: &Delivery) -> Try {
        let Ok(url) = url::Url::parse(&delivery.uri) else { return Try::Refused("not a URL".into()) };
        // Judged on the parsed URL (dot segments resolved), not the text.
        let client = if url.as_str().starts_with(&self.base_url) {
            &self.own
        } else {
            if let Err(e) = self.egress.check_literal(&url) {
                return Try::Refused(e.to_string());
            }
            &self.outbound
        };
        let sent = client
            .post(url)
            .header(reqwest::header::CACHE_CONTROL, "no-store")
            .form(&[("logout_token", delivery.token.as_str())])
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Try::Delivered,
            Ok(r) if r.status().is_server_error() || r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                Try::Failed(format!("HTTP {}", r.status()))
            }
            Ok(r) => Try::Refused(format!("HTTP {}", r.status())),
            Err(e) => Try::Failed(crate::util::error_chain(&e)),
        }
    }
}

fn count(tenant: &str, outcome: &'static str) {
    crate::telemetry::count_for_tenant("b2b_idp_backchannel_logouts_total", tenant, [("outcome", outcome), ("", "")]);
}

//! Who is asking, for the logs: the web layer runs each request inside a
//! scope holding its ids and client, so an entry written anywhere below
//! carries them without every function passing them along.

use std::future::Future;
use std::sync::Arc;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestContext {
    /// The `request-id` this server gave the request (Graph's `correlationId`).
    pub request_id: String,
    /// The caller's `client-request-id`.
    pub client_request_id: String,
    /// The client's address (after `server.trusted_proxies`).
    pub ip_address: String,
    pub user_agent: String,
}

tokio::task_local! {
    static REQUEST: Arc<RequestContext>;
}

/// The current request's context (shared, not copied); empty outside a
/// request (the command line, background jobs).
pub fn current() -> Arc<RequestContext> {
    REQUEST.try_with(Arc::clone).unwrap_or_default()
}

/// Runs `work` as the request `context`.
pub fn scope<F: Future>(context: RequestContext, work: F) -> impl Future<Output = F::Output> {
    REQUEST.scope(Arc::new(context), work)
}

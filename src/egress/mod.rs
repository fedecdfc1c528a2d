//! Outbound fetches to guests' home identity providers go only to public
//! addresses (SSRF): an admin-supplied issuer, or the token and JWKS URLs its
//! metadata names, must not make this server reach loopback, link-local,
//! private or unique-local addresses, unless `b2b.allowed_internal_networks`
//! names them. Checked where the issuer is registered and again at connect
//! time: the HTTP client's resolver drops refused addresses (DNS can change
//! between the two), and URLs with a literal address are checked before the
//! request is sent.

pub mod logout_delivery;
pub mod rp;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use ipnet::IpNet;
use openidconnect::reqwest;
use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

use crate::error::{Error, Result};

/// Which outbound addresses are allowed.
#[derive(Debug, Clone, Default)]
pub struct Egress {
    allowed_internal: Vec<IpNet>,
}

/// Not on the public internet (or not a unicast destination at all).
/// IPv6 forms that carry an IPv4 address (mapped, translated, NAT64,
/// 6to4) are judged by that address.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || a >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| IpAddr::V4(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8));
            let carried = match s {
                [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some(embedded(hi, lo)), // mapped, translated
                [0x64, 0xff9b, _, _, _, _, hi, lo] => Some(embedded(hi, lo)), // NAT64 (well-known and local-use)
                [0x2002, hi, lo, ..] => Some(embedded(hi, lo)),               // 6to4
                _ => None,
            };
            if let Some(v4) = carried {
                return is_internal(v4);
            }
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || s[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible
        }
    }
}

impl Egress {
    /// With `b2b.allowed_internal_networks`.
    pub fn new(allowed_internal: Vec<IpNet>) -> Egress {
        Egress { allowed_internal }
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        !is_internal(ip) || self.allowed_internal.iter().any(|net| net.contains(&ip))
    }

    fn refusal(what: &str) -> Error {
        crate::telemetry::security_event("ssrf_refused", &format!("outbound request to {what} refused: an internal address"));
        Error::Invalid(format!(
            "{what} is an internal address (loopback, link-local, private or unique-local); \
             outbound requests go there only when b2b.allowed_internal_networks names it"
        ))
    }

    /// A URL's host, if it is an address literal, must be allowed. Names are
    /// checked by `check_url_resolved` (registration) and the resolver
    /// (connect time).
    pub fn check_literal(&self, url: &url::Url) -> Result<()> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost") => {
                // Resolved by the system to loopback without DNS.
                IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
            }
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(Error::Invalid(format!("'{url}' has no host"))),
        };
        if self.allows(ip) {
            Ok(())
        } else {
            Err(Self::refusal(&format!("'{}'", url.host_str().unwrap_or_default())))
        }
    }

    /// Registration: the literal check, then every address the name
    /// resolves to now. A name that does not resolve yet is left to the
    /// connect-time check.
    pub async fn check_url_resolved(&self, url: &url::Url) -> Result<()> {
        self.check_literal(url)?;
        let (Some(url::Host::Domain(host)), Some(port)) = (url.host(), url.port_or_known_default()) else { return Ok(()) };
        if let Ok(addrs) = tokio::net::lookup_host((host, port)).await {
            for addr in addrs {
                if !self.allows(addr.ip()) {
                    // The address itself is not said: no internal DNS look-ups for admins.
                    return Err(Self::refusal(&format!("'{host}'")));
                }
            }
        }
        Ok(())
    }

    /// The DNS resolver for the outbound HTTP client.
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { egress: self.clone() })
    }
}

/// Resolves with the system resolver and drops refused addresses; a name
/// with none left fails to connect.
pub struct GuardedResolver {
    egress: Egress,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let egress = self.egress.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved.iter().copied().filter(|a| egress.allows(a.ip())).collect();
            if allowed.is_empty() && !resolved.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> = Box::new(Egress::refusal(&format!("'{host}'")));
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The outbound client with the literal-address check in front of every
/// request (the resolver never sees a literal).
pub struct Guarded<'a> {
    pub http: &'a reqwest::Client,
    pub egress: Option<&'a Egress>,
}

#[derive(Debug, thiserror::Error)]
pub enum GuardedError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Response(String),
}

impl<'c> AsyncHttpClient<'c> for Guarded<'c> {
    type Error = GuardedError;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<HttpResponse, GuardedError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            if let Some(egress) = self.egress {
                let url = url::Url::parse(&request.uri().to_string()).map_err(|e| GuardedError::Refused(e.to_string()))?;
                egress.check_literal(&url).map_err(|e| GuardedError::Refused(e.to_string()))?;
            }
            self.http.call(request).await.map_err(|e| match e {
                openidconnect::HttpClientError::Reqwest(e) => GuardedError::Http(*e),
                other => GuardedError::Response(other.to_string()),
            })
        })
    }
}

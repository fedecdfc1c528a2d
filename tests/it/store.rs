//! The shared store suite: every backend must pass the same checks, one
//! test per contract and backend (`store_contracts!`), each on a fresh store.

use std::sync::Arc;

use b2b_idp::keys;
use b2b_idp::model::Alg;
use b2b_idp::model::Asset;
use b2b_idp::model::Group;
use b2b_idp::model::{App, Cloud, GrantType, PasswordCredential, Platform, Tenant, User, UserType};
use b2b_idp::model::{AuthCode, AuthRequest, Authentication, Consent, RefreshFamily, ResponseMode, Session};
use b2b_idp::model::{AuthStep, HomeSession, LogEntry, LogKind};
use b2b_idp::model::{Interaction, Purpose, Step};
use b2b_idp::model::{Invitation, InvitationStatus};
use b2b_idp::store::{postgres::PgStore, sled::SledStore, DirectoryStore, GrantStore, LogQuery, Spend, Store, StoreError};
use b2b_idp::util::now;

use crate::harness::{all_users, drop_pg_schema, pg_schema_url};

fn tenant(id: &str, name: &str) -> Tenant {
    Tenant {
        id: id.into(),
        name: name.into(),
        display_name: name.into(),
        cloud: Cloud::Global,
        region_scope: "WW".into(),
        signing_alg: Alg::ES256,
        created_at: now(),
        domains: vec![format!("{name}.example")],
        unmanaged: false,
        collaboration: Default::default(),
        identity_providers: vec![],
        conditional_access: vec![],
        cross_tenant_access: Default::default(),
        preferred_language: None,
        branding: Default::default(),
        version: 0,
    }
}

fn user(tenant_id: &str, id: &str, email: &str) -> User {
    User {
        id: id.into(),
        // The optional profile fields round-trip too.
        given_name: Some("Given".into()),
        job_title: Some("Title".into()),
        written_at_ms: 0,
        ..User::new(tenant_id, email, email, UserType::Member)
    }
}

fn auth() -> Authentication {
    Authentication {
        user_id: "u1".into(),
        auth_time: now(),
        amr: vec!["pwd".into()],
        acr: "1".into(),
        session_id: "s1".into(),
        mfa_source: None,
        auth_time_ms: 0,
    }
}

fn code(expires_at: i64) -> AuthCode {
    AuthCode {
        tenant_id: "t1".into(),
        client_id: "c1".into(),
        redirect_uri: "http://localhost/cb".into(),
        scopes: vec!["openid".into()],
        nonce: None,
        code_challenge: None,
        auth: auth(),
        family_id: "f1".into(),
        expires_at,
        used: false,
    }
}

/// Reads after writes see the write, also while readers on other threads
/// race a writer (the sled store keeps decoded apps in memory): once all
/// are done, a lookup by id agrees with the listing, which reads afresh.
async fn app_writes_are_read_back(store: Arc<dyn Store>, app: &App) {
    let mut renamed = app.clone();
    renamed.display_name = "renamed".into();
    store.put_app(&renamed).await.expect("replace app");
    assert_eq!(store.app("t1", "c1").await.expect("get").map(|a| a.display_name), Some("renamed".into()));
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..200 {
                    store.app("t1", "c1").await.expect("get").expect("found");
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for i in 0..40 {
        let mut version = app.clone();
        version.display_name = format!("v{i}");
        store.put_app(&version).await.expect("put");
    }
    for reader in readers {
        reader.await.expect("reader");
    }
    let by_id = store.app("t1", "c1").await.expect("get").expect("found");
    assert_eq!(by_id.display_name, "v39", "the last write is what reads see");
    assert_eq!(store.apps_page("t1", None, 10).await.expect("list"), vec![by_id], "the lookup agrees with the stored record");
    store.put_app(app).await.expect("restore app");
}

async fn tenants_and_users(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
    store.put_tenant(&tenant("t1", "one")).await.expect("put tenant");
    store.put_tenant(&tenant("t2", "two")).await.expect("put tenant");
    assert_eq!(store.tenant("t1").await.expect("get").map(|t| t.name), Some("one".into()));
    assert_eq!(store.tenant_by_name("two").await.expect("get").map(|t| t.id), Some("t2".into()));
    assert!(matches!(store.put_tenant(&tenant("t3", "one")).await, Err(StoreError::Conflict(_))), "names are unique");
    // Renaming frees the old name.
    store.put_tenant(&tenant("t2", "deux")).await.expect("rename");
    assert!(store.tenant_by_name("two").await.expect("get").is_none());
    assert_eq!(store.tenant("t2").await.expect("get").map(|t| t.name), Some("deux".into()), "reads see the rename");
    assert_eq!(store.tenant_by_name("deux").await.expect("get").map(|t| t.id), Some("t2".into()));
    assert_eq!(store.tenants().await.expect("list").len(), 2);
    // Tenant settings change by compare-and-swap on the version.
    let read = store.tenant("t1").await.expect("get").expect("found");
    let next = Tenant { display_name: "One, renamed".into(), version: read.version + 1, ..read.clone() };
    assert!(store.replace_tenant(read.version, &next).await.expect("swap"), "from the version read");
    let stale = Tenant { display_name: "Lost".into(), version: read.version + 1, ..read.clone() };
    assert!(!store.replace_tenant(read.version, &stale).await.expect("swap"), "someone changed it since");
    assert_eq!(store.tenant("t1").await.expect("get").map(|t| (t.display_name, t.version)), Some(("One, renamed".into(), next.version)));
    assert!(!store.replace_tenant(0, &tenant("t-gone", "gone")).await.expect("swap"), "a missing tenant is not created");
    assert!(store.tenant("t-gone").await.expect("get").is_none());
    let taken = Tenant { name: "deux".into(), version: next.version + 1, ..next.clone() };
    assert!(matches!(store.replace_tenant(next.version, &taken).await, Err(StoreError::Conflict(_))), "another tenant's name");

    store.create_user(&user("t1", "u1", "alice@one.example")).await.expect("create");
    store.create_user(&user("t2", "u9", "alice@one.example")).await.expect("same email, other tenant");
    assert!(matches!(store.create_user(&user("t1", "u2", "alice@one.example")).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.user_tenants("Alice@one.example").await.expect("directories"), vec!["t1".to_string(), "t2".to_string()]);
    let found = store.user_by_email("t1", "ALICE@one.example").await.expect("by email").expect("found");
    assert_eq!(found.id, "u1");
    // Replace only over the version the caller read.
    let mut changed = found.clone();
    changed.enabled = false;
    changed.touched();
    assert!(store.replace_user(found.version, &changed).await.expect("cas"), "the read version is current");
    assert!(!store.user("t1", "u1").await.expect("get").expect("found").enabled);
    let mut stale = found.clone();
    stale.display_name = "stale".into();
    stale.touched();
    assert!(!store.replace_user(found.version, &stale).await.expect("cas"), "someone wrote since");
    let mut newer = changed.clone();
    newer.touched();
    assert!(store.replace_user(changed.version, &newer).await.expect("cas"));
    let stored = store.user("t1", "u1").await.expect("get").expect("found");
    assert_eq!((stored.version, stored.display_name.as_str()), (newer.version, "alice@one.example"), "the stale write did not land");
    assert_eq!(all_users(store.as_ref(), "t1").await.len(), 1, "users are listed per tenant");
    assert!(store.delete_user("t1", "u1").await.expect("delete"));
    assert!(!store.delete_user("t1", "u1").await.expect("delete again"));
    let mut late = newer.clone();
    late.touched();
    assert!(!store.replace_user(newer.version, &late).await.expect("update a deleted user"), "nothing to replace");
    assert!(store.user("t1", "u1").await.expect("get").is_none(), "a late write does not bring a deleted user back");
    assert!(store.user_by_email("t1", "alice@one.example").await.expect("by email").is_none());
    assert_eq!(store.user_tenants("alice@one.example").await.expect("directories"), vec!["t2".to_string()]);
    store.create_user(&user("t1", "u3", "alice@one.example")).await.expect("email free again");
}

/// The app `c1` of tenant `t1` the contracts below use.
fn app() -> App {
    App {
        tenant_id: "t1".into(),
        client_id: "c1".into(),
        display_name: "C1".into(),
        secret_hash: None,
        passwords: vec![PasswordCredential {
            key_id: "k1".into(),
            display_name: Some("ci".into()),
            hint: "abc".into(),
            secret_hash: "h".into(),
            start_ms: 1,
            end_ms: 2,
        }],
        platform: Some(Platform::Web),
        redirect_uris: vec!["http://localhost/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode],
        signing_alg: None,
        identifier_uri: None,
        api_permissions: Default::default(),
        delegated_permissions: Default::default(),
        require_consent: false,
        home_page_url: Some("https://c1.example/".into()),
        key_credentials: vec![b2b_idp::keys::client_keys::from_jwk(
            &serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE", "y": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"}),
            Some("ci key".into()),
        )
        .expect("a JWK")],
        single_use_client_assertions: true,
        require_pushed_authorization_requests: true,
        backchannel_logout_uri: Some("https://app.example/logout/backchannel".into()),
        frontchannel_logout_uri: Some("https://app.example/logout/frontchannel".into()),
        app_roles: vec![b2b_idp::model::AppRole {
            id: "r1".into(),
            value: "Invoices.Read".into(),
            display_name: "Read invoices".into(),
            description: String::new(),
            allowed_member_types: vec!["Application".into()],
            is_enabled: true,
        }],
    }
}

async fn apps_and_keys(store: Arc<dyn Store>) {
    let app = app();
    store.put_app(&app).await.expect("put app");
    assert_eq!(store.app("t1", "c1").await.expect("get"), Some(app.clone()));
    assert!(store.app("t2", "c1").await.expect("get").is_none(), "apps are per tenant");
    assert_eq!(store.apps_page("t1", None, 10).await.expect("list"), vec![app.clone()]);
    apps_change_and_go(store.clone(), &app).await;

    let key = keys::generate("t1", Alg::ES256).expect("key");
    store.put_key(&key).await.expect("put key");
    assert_eq!(store.keys("t1").await.expect("keys"), vec![key.clone()]);
    assert!(store.keys("t2").await.expect("keys").is_empty());
    let retired = b2b_idp::model::StoredKey { retired_at: Some(now()), ..key.clone() };
    assert!(store.replace_key(&key, &retired).await.expect("swap"), "a swap from the stored key lands");
    assert!(!store.replace_key(&key, &key).await.expect("swap"), "a swap from a stale read does not");
    assert_eq!(store.keys("t1").await.expect("keys"), vec![retired]);
    app_writes_are_read_back(store.clone(), &app).await;
}

/// Pages, compare-and-swap and delete of apps, with the identifier URI
/// lookup following each change.
async fn apps_change_and_go(store: Arc<dyn Store>, app: &App) {
    let mut second = App { client_id: "c2".into(), identifier_uri: Some("api://two".into()), ..app.clone() };
    store.put_app(&second).await.expect("put c2");
    let first_page = store.apps_page("t1", None, 1).await.expect("page");
    assert_eq!(first_page.iter().map(|a| a.client_id.as_str()).collect::<Vec<_>>(), ["c1"]);
    let second_page = store.apps_page("t1", Some("c1"), 1).await.expect("page");
    assert_eq!(second_page.iter().map(|a| a.client_id.as_str()).collect::<Vec<_>>(), ["c2"]);
    assert!(store.apps_page("t1", Some("c2"), 1).await.expect("page").is_empty());
    assert!(store.apps_page("t0", None, 10).await.expect("page").is_empty(), "another tenant's apps are not listed");

    let renamed = App { identifier_uri: Some("api://renamed".into()), display_name: "Two".into(), ..second.clone() };
    assert!(store.replace_app(&second, &renamed).await.expect("swap"), "a swap from the stored app lands");
    assert!(!store.replace_app(&second, &second).await.expect("swap"), "a swap from a stale read does not");
    assert_eq!(store.app("t1", "c2").await.expect("get"), Some(renamed.clone()));
    assert!(store.app_by_identifier_uri("t1", "api://two").await.expect("by uri").is_none(), "the old URI is forgotten");
    assert_eq!(store.app_by_identifier_uri("t1", "api://renamed").await.expect("by uri"), Some(renamed.clone()));
    second = renamed;

    assert!(store.delete_app("t1", "c2").await.expect("delete"));
    assert!(!store.delete_app("t1", "c2").await.expect("delete again"), "nothing left to delete");
    assert!(store.app("t1", "c2").await.expect("get").is_none());
    assert!(store.app_by_identifier_uri("t1", "api://renamed").await.expect("by uri").is_none(), "nor found by its URI");
    assert!(!store.replace_app(&second, &second).await.expect("swap"), "a late write does not bring a deleted app back");
    assert!(store.app("t1", "c2").await.expect("get").is_none());
}

async fn groups(store: Arc<dyn Store>) {
    let group = Group {
        id: "g1".into(),
        tenant_id: "t1".into(),
        display_name: "G".into(),
        description: None,
        mail: None,
        mail_enabled: false,
        security_enabled: true,
        members: vec!["u3".into()],
        membership_rule: None,
        created_at: now(),
        written_at_ms: 0,
    };
    store.put_group(&group).await.expect("put group");
    assert_eq!(store.group("t1", "g1").await.expect("get"), Some(group.clone()));
    let mut grown = group.clone();
    grown.members.push("u4".into());
    assert!(store.replace_group(&group, &grown).await.expect("swap"), "a swap from the stored record lands");
    assert!(!store.replace_group(&group, &grown).await.expect("swap"), "a swap from a stale read does not");
    let group = grown;
    assert_eq!(store.groups_page("t1", None, 10).await.expect("list"), vec![group.clone()]);
    assert!(store.groups_page("t1", Some(&group.id), 10).await.expect("list").is_empty(), "nothing after the last");
    assert!(store.groups_page("t2", None, 10).await.expect("list").is_empty(), "groups are per tenant");
    assert!(store.delete_group("t1", "g1").await.expect("delete"));
    assert!(!store.delete_group("t1", "g1").await.expect("delete again"));
}

/// Invitations: by id within the tenant, and by the ticket hash of the link.
async fn invitations(store: Arc<dyn Store>) {
    let mut invitation = Invitation {
        id: "i1".into(),
        tenant_id: "t1".into(),
        user_id: "u3".into(),
        email: "alice@one.example".into(),
        display_name: "Alice".into(),
        redirect_url: "https://app.example/".into(),
        ticket_hash: "ticket-1".into(),
        status: InvitationStatus::PendingAcceptance,
        user_type: UserType::Guest,
        invited_by: "admin".into(),
        send_message: true,
        message: Some("hello".into()),
        cc: vec![],
        reset_redemption: false,
        language: None,
        created_at: now(),
        written_at_ms: 0,
    };
    store.put_invitation(&invitation).await.expect("put invitation");
    assert_eq!(store.invitation("t1", "i1").await.expect("get"), Some(invitation.clone()));
    assert!(store.invitation("t2", "i1").await.expect("get").is_none(), "invitations are per tenant");
    assert_eq!(store.invitation_by_ticket("ticket-1").await.expect("by ticket"), Some(invitation.clone()));
    assert!(store.invitation_by_ticket("ticket-2").await.expect("by ticket").is_none());
    invitation.status = InvitationStatus::Completed;
    store.put_invitation(&invitation).await.expect("update invitation");
    assert_eq!(store.invitation_by_ticket("ticket-1").await.expect("by ticket").map(|i| i.status), Some(InvitationStatus::Completed));
    let other = Invitation { id: "i2".into(), ..invitation.clone() };
    assert!(matches!(store.put_invitation(&other).await, Err(StoreError::Conflict(_))), "ticket hashes are unique");
}

async fn secrets(store: Arc<dyn Store>) {
    let first = store.secret_or_insert("hmac", b"first").await.expect("secret");
    let second = store.secret_or_insert("hmac", b"second").await.expect("secret");
    assert_eq!((first.as_slice(), second.as_slice()), (&b"first"[..], &b"first"[..]), "the first writer wins");
    assert!(store.replace_secret("hmac", b"first", b"resealed").await.expect("swap"), "a swap from the stored value lands");
    assert!(!store.replace_secret("hmac", b"first", b"other").await.expect("swap"), "a swap from a stale read does not");
    assert!(!store.replace_secret("none", b"", b"x").await.expect("swap"), "nor one of a secret that is not there");
    assert_eq!(store.secrets().await.expect("list"), vec![("hmac".to_string(), b"resealed".to_vec())]);
}

/// Branding images: by tenant and hash, bytes exactly as written (a NUL
/// and high bytes included), writing one twice is harmless, deleting is final.
async fn assets(store: Arc<dyn Store>) {
    let logo = Asset { tenant_id: "t1".into(), hash: "h1".into(), content_type: "image/png".into(), bytes: vec![0x89, b'P', 0, 0xff, 0] };
    store.put_asset(&logo).await.expect("put");
    store.put_asset(&logo).await.expect("put again");
    assert_eq!(store.asset("t1", "h1").await.expect("read"), Some(logo.clone()));
    assert_eq!(store.asset("t2", "h1").await.expect("read"), None, "another tenant's hash is not this one's");
    store.delete_asset("t1", "h1").await.expect("delete");
    assert_eq!(store.asset("t1", "h1").await.expect("read"), None);
    store.delete_asset("t1", "h1").await.expect("deleting what is gone is fine");
}

async fn grants(store: Arc<dyn Store>) {
    let req = AuthRequest {
        id: "r1".into(),
        tenant_id: "t1".into(),
        client_id: "c1".into(),
        redirect_uri: "http://localhost/cb".into(),
        response_mode: ResponseMode::Query,
        scopes: vec!["openid".into()],
        state: Some("st".into()),
        nonce: None,
        code_challenge: None,
        prompt_none: false,
        prompt_login: false,
        prompt_consent: false,
        max_age: None,
        login_hint: None,
        domain_hint: None,
        ui_locales: None,
        require_mfa: false,
        expires_at: now() + 60,
        source: "192.0.2.1".into(),
        admitted: true,
        device: None,
    };
    store.put_auth_request(&req).await.expect("put");
    assert_eq!(store.auth_request("r1").await.expect("get"), Some(req));
    store.delete_auth_request("r1").await.expect("delete");
    assert!(store.auth_request("r1").await.expect("get").is_none());

    // A pushed authorization request is taken once, even by concurrent callers.
    let pushed = |hash: &str, expires_at: i64| b2b_idp::model::PushedRequest {
        hash: hash.into(),
        tenant_id: "t1".into(),
        client_id: "c1".into(),
        params: serde_json::json!({"client_id": "c1", "scope": "openid"}),
        expires_at,
    };
    store.put_pushed_request(&pushed("p1", now() + 60)).await.expect("push");
    let takes = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.take_pushed_request("p1").await.expect("take") })
    });
    let mut taken = vec![];
    for take in takes {
        taken.extend(take.await.expect("task"));
    }
    assert_eq!(taken.len(), 1, "one taker gets it");
    assert_eq!(taken[0], pushed("p1", taken[0].expires_at), "whole");
    assert_eq!(store.take_pushed_request("nope").await.expect("take"), None);
    store.put_pushed_request(&pushed("p-old", now() - 10)).await.expect("push");

    // A code is spent exactly once, even by concurrent callers.
    store.put_code("h1", &code(now() + 60)).await.expect("put code");
    assert_eq!(store.code("h1").await.expect("peek").map(|c| c.used), Some(false));
    let spends = (0..16).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.spend_code("h1").await.expect("spend") })
    });
    let mut fresh = 0;
    for spend in spends {
        match spend.await.expect("task") {
            Spend::Fresh(c) => {
                assert!(c.used);
                fresh += 1
            }
            Spend::Replayed(c) => assert_eq!(c.family_id, "f1"),
            Spend::Missing => panic!("the code exists"),
        }
    }
    assert_eq!(fresh, 1);
    assert_eq!(store.spend_code("nope").await.expect("spend"), Spend::Missing);

    let family = RefreshFamily {
        on_behalf_of: Some("api-client".into()),
        id: "f1".into(),
        tenant_id: "t1".into(),
        client_id: "c1".into(),
        scopes: vec!["openid".into(), "offline_access".into()],
        auth: auth(),
        current: None,
        issued_at: now(),
        expires_at: now() + 600,
        ends_at: now() + 6000,
        revoked: false,
    };
    store.put_family(&family).await.expect("family");
    assert_eq!(store.family("f1").await.expect("get"), Some(family.clone()));
    // Rotation is a compare-and-swap: of 8 rotations from the same record, one lands.
    let rotations = (0..8).map(|i| {
        let (store, family) = (store.clone(), family.clone());
        tokio::spawn(async move {
            let next = RefreshFamily { current: Some(format!("hash-{i}")), ..family.clone() };
            store.replace_family(&family, &next).await.expect("rotate").then_some(next)
        })
    });
    let landed: Vec<_> = futures_util::future::join_all(rotations).await.into_iter().filter_map(|r| r.expect("task")).collect();
    assert_eq!(landed.len(), 1, "exactly one concurrent rotation lands");
    let rotated = store.family("f1").await.expect("get").expect("family");
    assert_eq!(rotated, landed[0]);
    assert!(!store.replace_family(&family, &family).await.expect("stale"), "a stale read cannot swap");
    store.revoke_family("f1").await.expect("revoke");
    let revoked = store.family("f1").await.expect("get").expect("family");
    assert!(revoked.revoked);
    assert!(!store.replace_family(&rotated, &rotated).await.expect("revoked"), "a revocation in between makes the read stale");
    assert!(store.replace_family(&revoked, &revoked).await.expect("same record"), "swapping the stored record itself works");
    store.revoke_family("no-such-family").await.expect("revoking nothing is fine");

    let session = Session {
        id: "s1".into(),
        sid: "sid-1".into(),
        tenant_id: "t1".into(),
        user_id: "u1".into(),
        auth_time: now(),
        amr: vec!["pwd".into()],
        acr: "1".into(),
        expires_at: now() + 60,
        mfa_source: None,
        started_ms: 0,
        steps: vec![AuthStep {
            method: "Password".into(),
            detail: "".into(),
            mfa: false,
            succeeded: true,
            result: "Correct password".into(),
            at_ms: 7,
        }],
        clients: vec!["c1".into()],
        home: None,
        cookie: Some("the cookie".into()),
    };
    store.put_session(&session).await.expect("session");
    let read = store.session("s1").await.expect("get").expect("session");
    assert_eq!(read.cookie, None, "the cookie's value is never stored");
    assert_eq!(read, Session { cookie: None, ..session });
    store.delete_session("s1").await.expect("delete");
    assert!(store.session("s1").await.expect("get").is_none());

    let consent = Consent { tenant_id: "t1".into(), user_id: "u1".into(), client_id: "c1".into(), scopes: vec!["openid".into()] };
    store.put_consent(&consent).await.expect("consent");
    assert_eq!(store.consent("t1", "u1", "c1").await.expect("get"), Some(consent));
    assert!(store.consent("t1", "u1", "c2").await.expect("get").is_none());

    let ix = Interaction {
        id: "x1".into(),
        tenant_id: "t1".into(),
        browser: "b".into(),
        purpose: Purpose::Redeem { invitation_id: "i1".into(), user_id: "u1".into() },
        step: Step::Passcode { email: "a@b.example".into(), code_hash: "h".into() },
        expires_at: now() + 60,
    };
    store.put_interaction(&ix).await.expect("interaction");
    assert_eq!(store.interaction("x1").await.expect("get"), Some(ix.clone()));
    let expired = Interaction { id: "x2".into(), expires_at: now() - 10, ..ix };
    store.put_interaction(&expired).await.expect("interaction");
    store.delete_interaction("x1").await.expect("delete");
    assert!(store.interaction("x1").await.expect("get").is_none());

    // Counters: atomic, even when bumped concurrently; a new window after expiry.
    let bumps = futures_util::future::join_all((0..20).map(|_| store.bump_counter("k", 60))).await;
    let mut counts: Vec<u32> = bumps.into_iter().map(|c| c.expect("bump")).collect();
    counts.sort();
    assert_eq!(counts, (1..=20).collect::<Vec<u32>>(), "each concurrent bump gets its own count");
    assert_eq!(store.bump_counter("other|t1|a@b.example", 60).await.expect("bump"), 1, "counters are per key");
    assert_eq!(store.peek_counter("k").await.expect("peek"), 20);
    assert_eq!(store.peek_counter("k").await.expect("peek"), 20, "peeking does not count");
    assert_eq!(store.peek_counter("never").await.expect("peek"), 0);
    store.release_counter("k").await.expect("release");
    assert_eq!(store.peek_counter("k").await.expect("peek"), 19, "a released count is given back");
    store.reset_counter("k").await.expect("reset");
    assert_eq!(store.peek_counter("k").await.expect("peek"), 0, "reset");
    store.release_counter("k").await.expect("release");
    assert_eq!(store.peek_counter("k").await.expect("peek"), 0, "never below zero");
    assert_eq!(store.bump_counter("expired", -1).await.expect("bump"), 1);
    assert_eq!(store.bump_counter("expired", -1).await.expect("bump"), 1, "an expired window starts again");

    store.revoke_jti("j1", now() + 60).await.expect("revoke jti");
    assert!(store.jti_revoked("j1").await.expect("check"));
    assert!(!store.jti_revoked("j2").await.expect("check"));

    // Purging removes what expired and keeps the rest.
    store.put_code("old", &code(now() - 10)).await.expect("put");
    store.put_code("new", &code(now() + 600)).await.expect("put");
    store.revoke_jti("old-jti", now() - 10).await.expect("put");
    let purged = store.purge_expired(now()).await.expect("purge");
    assert!(purged >= 2, "purged {purged}");
    assert_eq!(store.spend_code("old").await.expect("spend"), Spend::Missing);
    assert!(matches!(store.spend_code("new").await.expect("spend"), Spend::Fresh(_)));
    assert!(!store.jti_revoked("old-jti").await.expect("check"));
    assert!(store.interaction("x2").await.expect("get").is_none(), "expired interactions are purged");
    assert_eq!(store.take_pushed_request("p-old").await.expect("take"), None, "expired pushed requests are purged");
    assert!(store.jti_revoked("j1").await.expect("check"));
}

fn session(id: &str, user_id: &str, expires_at: i64) -> Session {
    Session {
        id: id.into(),
        sid: format!("sid-{id}"),
        tenant_id: "t1".into(),
        user_id: user_id.into(),
        auth_time: now(),
        amr: vec!["pwd".into()],
        acr: "1".into(),
        expires_at,
        mfa_source: None,
        started_ms: 0,
        steps: vec![],
        clients: vec![],
        home: None,
        cookie: None,
    }
}

/// Sessions by user and by a guest's home session (what a logout must
/// reach): live ones only, each once, up to the limit; deletion, expiry
/// and the purge take them out of the index too.
async fn session_lookups(store: Arc<dyn Store>) {
    let ids = |sessions: Vec<Session>| {
        let mut ids: Vec<String> = sessions.into_iter().map(|s| s.id).collect();
        ids.sort();
        ids
    };
    let u1 = Session::user_key("t1", "u1");
    for (id, user) in [("s1", "u1"), ("s2", "u1"), ("s3", "u2")] {
        store.put_session(&session(id, user, now() + 600)).await.expect("put");
    }
    assert_eq!(ids(store.sessions_by_key(&u1, now(), 10).await.expect("lookup")), ["s1", "s2"]);
    assert_eq!(ids(store.sessions_by_key(&Session::user_key("t1", "u2"), now(), 10).await.expect("lookup")), ["s3"]);
    assert!(store.sessions_by_key(&Session::user_key("t2", "u1"), now(), 10).await.expect("lookup").is_empty(), "per tenant");
    assert_eq!(store.sessions_by_key(&u1, now(), 1).await.expect("lookup").len(), 1, "up to the limit");

    // Re-put with more clients: found once, as written last.
    let mut s1 = session("s1", "u1", now() + 600);
    s1.clients = vec!["c1".into(), "c2".into()];
    store.put_session(&s1).await.expect("re-put");
    let found = store.sessions_by_key(&u1, now(), 10).await.expect("lookup");
    assert_eq!(found.iter().filter(|s| s.id == "s1").collect::<Vec<_>>(), [&s1], "once, updated");

    // Clients are added in place, once each; a session ended meanwhile is not brought back.
    assert!(store.add_session_client("s1", "c3").await.expect("add"));
    assert!(store.add_session_client("s1", "c3").await.expect("add again"));
    assert_eq!(store.session("s1").await.expect("get").expect("s1").clients, ["c1", "c2", "c3"]);
    assert!(store.delete_session("s2").await.expect("delete"), "it was there");
    assert!(!store.add_session_client("s2", "c1").await.expect("add"), "gone");
    assert!(store.session("s2").await.expect("get").is_none(), "and not written back");
    assert_eq!(ids(store.sessions_by_key(&u1, now(), 10).await.expect("lookup")), ["s1"], "a deleted session is gone");
    assert!(store.delete_session("s1").await.expect("delete"));
    assert!(!store.delete_session("s1").await.expect("deleting what is gone is fine"), "of two deleters, one gets true");
    assert!(store.sessions_by_key(&u1, now(), 10).await.expect("lookup").is_empty());

    // Expired: not found, and the purge takes it with its index entry.
    let u4 = Session::user_key("t1", "u4");
    store.put_session(&session("s4", "u4", now() - 10)).await.expect("put");
    assert!(store.sessions_by_key(&u4, now(), 10).await.expect("lookup").is_empty(), "expired");
    assert_eq!(ids(store.sessions_by_key(&u4, now() - 20, 10).await.expect("lookup")), ["s4"], "live at an earlier time");
    store.purge_expired(now()).await.expect("purge");
    assert!(store.session("s4").await.expect("get").is_none(), "purged");
    assert!(store.sessions_by_key(&u4, now() - 20, 10).await.expect("lookup").is_empty(), "and its index entry with it");
    // Brought back under the same id, it is found once again.
    store.put_session(&session("s4", "u4", now() + 600)).await.expect("put");
    assert_eq!(ids(store.sessions_by_key(&u4, now(), 10).await.expect("lookup")), ["s4"]);

    // A guest's session, by its home session and by its home account.
    let issuer = "https://login.home.example/h1/v2.0";
    let mut guest = session("s5", "g1", now() + 600);
    guest.home = Some(HomeSession { issuer: issuer.into(), subject: "home-sub".into(), sid: Some("home-sid".into()) });
    store.put_session(&guest).await.expect("put");
    let found = store.sessions_by_key(&Session::home_sid_key("t1", issuer, "home-sid"), now(), 10).await.expect("lookup");
    assert_eq!(found, [guest.clone()], "by the home session");
    let found = store.sessions_by_key(&Session::home_subject_key("t1", issuer, "home-sub"), now(), 10).await.expect("lookup");
    assert_eq!(found, [guest.clone()], "by the home account");
    assert_eq!(ids(store.sessions_by_key(&Session::user_key("t1", "g1"), now(), 10).await.expect("lookup")), ["s5"], "by the guest");
    assert!(store.sessions_by_key(&Session::home_sid_key("t1", issuer, "other"), now(), 10).await.expect("lookup").is_empty());
    store.delete_session("s5").await.expect("delete");
    assert!(store.sessions_by_key(&Session::home_sid_key("t1", issuer, "home-sid"), now(), 10).await.expect("lookup").is_empty());
    assert!(store.sessions_by_key(&Session::home_subject_key("t1", issuer, "home-sub"), now(), 10).await.expect("lookup").is_empty());
}

/// Directory writes from many requests at once all complete and all land
/// (concurrent `flush_async` calls deadlocked the sled store: sled issue
/// 1308). A deadlock blocks the runtime's threads, timers included, so a
/// plain thread watches and aborts the test binary instead of hanging CI.
async fn concurrent_writers_all_land(store: Arc<dyn Store>) {
    let app = &app();
    store.put_app(app).await.expect("put app");
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(std::time::Duration::from_secs(180)) {
            eprintln!("concurrent directory writes did not finish in 180 s: the store deadlocked");
            std::process::abort();
        }
    });
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (store, app) = (store.clone(), app.clone());
            tokio::spawn(async move {
                for i in 0..25 {
                    let mut other = app.clone();
                    other.client_id = format!("w{w}-{i}");
                    store.put_app(&other).await.expect("put app");
                    let mut member = user("t2", &format!("w{w}-{i}"), &format!("w{w}-{i}@two.example"));
                    member.display_name = "writer".into();
                    store.create_user(&member).await.expect("create user");
                    member.enabled = false;
                    member.touched();
                    assert!(store.replace_user(member.version - 1, &member).await.expect("update user"));
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    drop(done);
    let mut apps = 0;
    let mut after = None;
    loop {
        let page = store.apps_page("t1", after.as_deref(), 37).await.expect("list");
        apps += page.len();
        match page.last() {
            Some(last) if page.len() == 37 => after = Some(last.client_id.clone()),
            _ => break,
        }
    }
    assert_eq!(apps, 1 + 8 * 25, "every app write landed, and paging reads each once");
    let users = all_users(store.as_ref(), "t2").await;
    assert_eq!(users.iter().filter(|u| u.display_name == "writer" && !u.enabled).count(), 8 * 25, "every user write landed");
    for w in 0..8 {
        for i in 0..25 {
            store.delete_user("t2", &format!("w{w}-{i}")).await.expect("delete");
        }
    }
}

fn group(id: &str, members: &[&str], rule: Option<&str>, mail: Option<&str>) -> Group {
    Group {
        id: id.into(),
        tenant_id: "t1".into(),
        display_name: id.into(),
        description: None,
        mail: mail.map(str::to_string),
        mail_enabled: mail.is_some(),
        security_enabled: mail.is_none(),
        members: members.iter().map(|m| m.to_string()).collect(),
        membership_rule: rule.map(str::to_string),
        created_at: now(),
        written_at_ms: 0,
    }
}

/// What is looked up by something other than its key: tenants by domain
/// (managed ones only), apps by identifier URI, groups by member and by
/// mail; each lookup follows changes and deletions of the record.
async fn indexed_lookups(store: Arc<dyn Store>) {
    let mut one = tenant("t1", "one");
    one.domains = vec!["one.example".into(), "xn--bcher-kva.example".into()];
    store.put_tenant(&one).await.expect("put");
    let mut jit = tenant("t0", "jit-x");
    jit.unmanaged = true;
    jit.domains = vec!["one.example".into()];
    store.put_tenant(&jit).await.expect("put");
    let by_domain = |d: &'static str| {
        let store = store.clone();
        async move { store.tenants_by_domain(d).await.expect("lookup").into_iter().map(|t| t.id).collect::<Vec<_>>() }
    };
    assert_eq!(by_domain("one.example").await, ["t1"], "unmanaged tenants own no domain");
    assert_eq!(by_domain("xn--bcher-kva.example").await, ["t1"]);
    assert!(by_domain("two.example").await.is_empty());
    let mut next = one.clone();
    next.domains = vec!["one.example".into(), "new.example".into()];
    next.version = 1;
    assert!(store.replace_tenant(0, &next).await.expect("swap"));
    assert_eq!(by_domain("new.example").await, ["t1"], "a domain added");
    assert!(by_domain("xn--bcher-kva.example").await.is_empty(), "a domain removed");
    let mut two = tenant("t2", "two");
    two.domains = vec!["new.example".into()];
    store.put_tenant(&two).await.expect("put");
    assert_eq!(by_domain("new.example").await, ["t1", "t2"], "every owner, by id");

    let mut api = app();
    api.identifier_uri = Some("api://orders".into());
    store.put_app(&api).await.expect("put");
    assert_eq!(store.app_by_identifier_uri("t1", "api://orders").await.expect("lookup").map(|a| a.client_id), Some("c1".into()));
    assert!(store.app_by_identifier_uri("t2", "api://orders").await.expect("lookup").is_none(), "per tenant");
    api.identifier_uri = Some("api://orders-v2".into());
    store.put_app(&api).await.expect("put");
    assert!(store.app_by_identifier_uri("t1", "api://orders").await.expect("lookup").is_none(), "the old URI is gone");
    assert!(store.app_by_identifier_uri("t1", "api://orders-v2").await.expect("lookup").is_some());

    let ids = |groups: Vec<Group>| groups.into_iter().map(|g| g.id).collect::<Vec<_>>();
    store.put_group(&group("g1", &["u1", "u2"], None, None)).await.expect("put");
    store.put_group(&group("g2", &["u2"], None, Some("team@one.example"))).await.expect("put");
    store.put_group(&group("g3", &[], Some("user.userType -eq \"Guest\""), None)).await.expect("put");
    assert_eq!(ids(store.groups_of("t1", "u1").await.expect("of")), ["g1", "g3"], "assigned, and every rule group");
    assert_eq!(ids(store.groups_of("t1", "u2").await.expect("of")), ["g1", "g2", "g3"]);
    assert_eq!(ids(store.groups_of("t2", "u2").await.expect("of")), Vec::<String>::new(), "per tenant");
    let read = store.group("t1", "g1").await.expect("get").expect("g1");
    assert!(store.replace_group(&read, &group("g1", &["u2"], None, None)).await.expect("swap"));
    assert_eq!(ids(store.groups_of("t1", "u1").await.expect("of")), ["g3"], "a member removed");
    assert_eq!(ids(store.groups_by_mail("t1", "team@one.example").await.expect("mail")), ["g2"]);
    assert!(store.delete_group("t1", "g2").await.expect("delete"));
    assert!(store.groups_by_mail("t1", "team@one.example").await.expect("mail").is_empty(), "a group deleted");
    assert_eq!(ids(store.groups_of("t1", "u2").await.expect("of")), ["g1", "g3"]);
}

/// Paging walks a directory of 10,001 users exactly once each, in order,
/// in pages of any size, and never strays into another tenant.
async fn users_are_paged(store: Arc<dyn Store>) {
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in (w..10_001).step_by(8) {
                    store.create_user(&user("t1", &format!("u{i:05}"), &format!("u{i}@one.example"))).await.expect("create");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    store.create_user(&user("t0", "u00000", "other@zero.example")).await.expect("create");
    store.create_user(&user("t10", "u00000", "other@ten.example")).await.expect("create");
    for size in [1000, 333] {
        let mut pages = b2b_idp::store::UserPages::new(store.as_ref(), "t1", size);
        let mut seen = vec![];
        while let Some(page) = pages.next().await.expect("page") {
            assert!(page.len() <= size);
            seen.extend(page.into_iter().map(|u| u.id));
        }
        let expected: Vec<String> = (0..10_001).map(|i| format!("u{i:05}")).collect();
        assert_eq!(seen.len(), 10_001, "pages of {size}");
        assert!(seen == expected, "every user once, in id order (pages of {size})");
    }
    let after_last = store.users_page("t1", Some("u10000"), 10).await.expect("page");
    assert!(after_last.is_empty(), "nothing after the last");
}

fn log_entry(tenant: &str, kind: LogKind, created_ms: i64, n: usize) -> LogEntry {
    LogEntry {
        tenant_id: tenant.into(),
        kind,
        id: format!("e{n:04}"),
        created_ms,
        user_id: Some(format!("user-{}", n % 3)),
        app_id: Some(format!("app-{}", n % 2)),
        error_code: if n.is_multiple_of(5) { 50126 } else { 0 },
        record: serde_json::json!({ "n": n }),
    }
}

/// The audit log: appended in batches, read newest first in pages that
/// continue exactly where the last ended (several entries share a
/// millisecond), filtered by time, user, app and outcome, per tenant and
/// kind, and purged by age.
async fn audit_log(store: Arc<dyn Store>) {
    let base = 1_800_000_000_000;
    // 300 entries over 100 ms: three per millisecond.
    let entries: Vec<LogEntry> = (0..300).map(|n| log_entry("t1", LogKind::SignIn, base + (n / 3) as i64, n)).collect();
    for batch in entries.chunks(128) {
        store.append_log(batch).await.expect("append");
    }
    store.append_log(&[log_entry("t2", LogKind::SignIn, base + 500, 1)]).await.expect("another tenant");
    store.append_log(&[log_entry("t1", LogKind::DirectoryAudit, base + 500, 2)]).await.expect("another kind");
    store.append_log(&[]).await.expect("an empty batch");

    let mut query = LogQuery::new("t1", LogKind::SignIn);
    let mut seen: Vec<LogEntry> = vec![];
    loop {
        let page = store.log_page(&query, 7).await.expect("page");
        assert!(page.entries.len() <= 7);
        seen.extend(page.entries);
        let Some(next) = page.next else { break };
        query.before = Some(next);
    }
    assert_eq!(seen.len(), 300, "every entry of t1's sign-ins once, nothing of t2 or of the other kind");
    assert!(seen.windows(2).all(|w| w[0].created_ms >= w[1].created_ms), "newest first");
    let mut ids: Vec<&str> = seen.iter().map(|e| e.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 300, "no entry twice across pages");
    assert_eq!(seen[0].created_ms, base + 99, "the newest first");
    assert!(seen.iter().any(|e| e.record == serde_json::json!({"n": 299})), "records come back as written");

    let filtered = LogQuery {
        since_ms: Some(base + 50),
        user_id: Some("user-1".into()),
        app_id: Some("app-0".into()),
        error_code: Some(50126),
        ..LogQuery::new("t1", LogKind::SignIn)
    };
    let got = store.log_page(&filtered, 999).await.expect("filtered").entries;
    let expected: Vec<&LogEntry> = entries.iter().filter(|e| e.created_ms >= base + 50 && filtered.matches(e)).collect();
    assert!(!expected.is_empty());
    assert_eq!(got.len(), expected.len(), "time, user, app and outcome filters");
    assert!(got.iter().all(|e| e.created_ms >= base + 50 && e.user_id.as_deref() == Some("user-1") && e.error_code == 50126));

    let audits = store.log_page(&LogQuery::new("t1", LogKind::DirectoryAudit), 10).await.expect("audits").entries;
    assert_eq!(audits.len(), 1);

    let purged = store.purge_log(base + 50).await.expect("purge");
    assert_eq!(purged, 150, "the 150 entries older than the cut");
    let left = store.log_page(&LogQuery::new("t1", LogKind::SignIn), 999).await.expect("after purge").entries;
    assert_eq!(left.len(), 150);
    assert!(left.iter().all(|e| e.created_ms >= base + 50));
    let t2 = store.log_page(&LogQuery::new("t2", LogKind::SignIn), 9).await.expect("t2");
    assert_eq!((t2.entries.len(), t2.next), (1, None), "newer entries stay; a last page says so");
}

/// sled filters the log as it reads: a filter that matches little stops
/// after a bounded read and hands back where to continue; following the
/// cursors still finds every match once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_log_reads_are_bounded() {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(&dir.path().join("db")).expect("open"));
    let entries: Vec<LogEntry> = (0..25_000)
        .map(|n| {
            let mut entry = log_entry("t1", LogKind::SignIn, 1_800_000_000_000 + n as i64, n);
            entry.user_id = Some(if n == 0 || n == 24_999 { "needle".into() } else { "hay".into() });
            entry
        })
        .collect();
    for batch in entries.chunks(512) {
        store.append_log(batch).await.expect("append");
    }
    let mut query = LogQuery { user_id: Some("needle".into()), ..LogQuery::new("t1", LogKind::SignIn) };
    let (mut found, mut pages) = (vec![], 0);
    loop {
        let page = store.log_page(&query, 10).await.expect("page");
        pages += 1;
        found.extend(page.entries.into_iter().map(|e| e.id));
        let Some(next) = page.next else { break };
        query.before = Some(next);
    }
    assert_eq!(found, ["e24999", "e0000"], "both matches, newest first");
    assert!(pages >= 2, "the read stopped at its budget and continued");
}

/// Each contract of the `Store` trait is a test of its own, on each
/// backend, on a fresh store: one failing does not hide the others.
macro_rules! store_contracts {
    ($($contract:ident),* $(,)?) => {$(
        mod $contract {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sled() {
                let dir = tempfile::tempdir().expect("dir");
                let store: Arc<dyn Store> = Arc::new(SledStore::open(&dir.path().join("db")).expect("open"));
                super::$contract(store.clone()).await;
                store.flush().await.expect("flush");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let (url, schema) = pg_schema_url().await;
                let store: Arc<dyn Store> = Arc::new(PgStore::connect(&url, 4).await.expect("connect"));
                super::$contract(store.clone()).await;
                store.flush().await.expect("flush");
                drop(store);
                drop_pg_schema(&schema).await;
            }
        }
    )*};
}

store_contracts!(
    tenants_and_users,
    apps_and_keys,
    groups,
    invitations,
    secrets,
    assets,
    concurrent_writers_all_land,
    grants,
    session_lookups,
    indexed_lookups,
    users_are_paged,
    audit_log
);

/// sled's layout is versioned: a fresh store is at the newest version; a
/// store of 0.6.1 (no version, no index trees) gets its indexes on open;
/// a store from a newer b2b-idp is refused, not misread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_layout_upgrades_in_order_once() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("db");
    {
        let store = SledStore::open(&path).expect("open");
        let newest = store.schema_version().expect("version");
        assert!(newest >= 5, "a fresh store is at the newest layout: {newest}");
        let mut one = tenant("t1", "one");
        one.domains = vec!["one.example".into()];
        store.put_tenant(&one).await.expect("put");
        let mut api = app();
        api.identifier_uri = Some("api://orders".into());
        store.put_app(&api).await.expect("put");
        store.put_group(&group("g1", &["u1"], None, Some("team@one.example"))).await.expect("put");
        store.put_session(&session("s1", "u1", now() + 600)).await.expect("put");
        store.flush().await.expect("flush");
    }
    {
        // As 0.6.1 left it: no layout version, no index trees.
        let db = sled::open(&path).expect("raw open");
        for tree in ["meta", "tenant_domains", "app_uris", "group_members", "group_mails", "session_keys"] {
            db.drop_tree(tree).expect("drop");
        }
        db.flush().expect("flush");
    }
    {
        let store = SledStore::open(&path).expect("open and upgrade");
        assert!(store.schema_version().expect("version") >= 5);
        assert_eq!(store.tenants_by_domain("one.example").await.expect("lookup").len(), 1);
        assert!(store.app_by_identifier_uri("t1", "api://orders").await.expect("lookup").is_some());
        assert_eq!(store.groups_of("t1", "u1").await.expect("of").len(), 1);
        assert_eq!(store.groups_by_mail("t1", "team@one.example").await.expect("mail").len(), 1);
        assert_eq!(store.sessions_by_key(&Session::user_key("t1", "u1"), now(), 10).await.expect("lookup").len(), 1);
    }
    {
        let db = sled::open(&path).expect("raw open");
        db.open_tree("meta").expect("meta").insert("schema_version", &99u32.to_be_bytes()).expect("write");
        db.flush().expect("flush");
    }
    let refused = match SledStore::open(&path) {
        Ok(_) => panic!("a layout from a newer version must be refused"),
        Err(e) => b2b_idp::util::error_chain(&e),
    };
    assert!(refused.contains("newer b2b-idp"), "{refused}");
}

/// Migrations are idempotent: a second instance on the same schema starts cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrations_run_once() {
    let (url, schema) = pg_schema_url().await;
    PgStore::connect(&url, 2).await.expect("first instance");
    PgStore::connect(&url, 2).await.expect("second instance");
    drop_pg_schema(&schema).await;
}

/// A group as an older version stored it (without `membership_rule`) is
/// still changed by a compare-and-swap from what was read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_swaps_groups_written_by_older_versions() {
    let (url, schema) = pg_schema_url().await;
    let store: Arc<dyn Store> = Arc::new(PgStore::connect(&url, 2).await.expect("connect"));
    let group = Group {
        id: "g-old".into(),
        tenant_id: "t1".into(),
        display_name: "Old".into(),
        description: None,
        mail: None,
        mail_enabled: false,
        security_enabled: true,
        members: vec![],
        membership_rule: None,
        created_at: now(),
        written_at_ms: 0,
    };
    store.put_group(&group).await.expect("put");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client.batch_execute("UPDATE groups SET data = data - 'membership_rule'").await.expect("as an older version wrote it");
    let read = store.group("t1", "g-old").await.expect("get").expect("group");
    assert_eq!(read, group, "read back with the default");
    let next = Group { members: vec!["u1".into()], ..read.clone() };
    assert!(store.replace_group(&read, &next).await.expect("swap"), "the older form swaps");
    assert!(!store.replace_group(&read, &next).await.expect("swap"), "a stale read still does not");
    drop_pg_schema(&schema).await;
}

/// Two instances on one database seed one after another: the second waits
/// for the first's seeding lock, and a lock dropped without release (a
/// failed start) does not keep the others waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_seeding_lock_is_exclusive_across_instances() {
    let (url, schema) = pg_schema_url().await;
    let first: Arc<dyn Store> = Arc::new(PgStore::connect(&url, 2).await.expect("first instance"));
    let second: Arc<dyn Store> = Arc::new(PgStore::connect(&url, 2).await.expect("second instance"));
    let held = first.lock_seeding().await.expect("lock");
    let acquired = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let waiter = {
        let (second, acquired) = (second.clone(), acquired.clone());
        tokio::spawn(async move {
            let lock = second.lock_seeding().await.expect("lock after the first");
            acquired.store(true, std::sync::atomic::Ordering::SeqCst);
            lock
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!acquired.load(std::sync::atomic::Ordering::SeqCst), "the second instance waits while the first seeds");
    held.release().await.expect("release");
    let second_lock =
        tokio::time::timeout(std::time::Duration::from_secs(10), waiter).await.expect("acquired once released").expect("task");
    drop(second_lock); // not released: the connection closes, and the lock with it
    let third = tokio::time::timeout(std::time::Duration::from_secs(10), first.lock_seeding()).await;
    third.expect("a dropped lock does not block").expect("lock").release().await.expect("release");
    drop_pg_schema(&schema).await;
}

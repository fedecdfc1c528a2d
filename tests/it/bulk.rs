//! Bulk invitations from CSV: 10,000 rows with malformed ones, over HTTP on
//! both backends, and the `b2b-idp invite --csv` command line.

use std::collections::HashMap;

use crate::harness::*;

const ROWS: usize = 10_000;

/// A CSV of `ROWS` invitations; per thousand rows: 5 refused, 1 repeated, 1 mailed.
fn csv(domain: &str) -> (String, HashMap<&'static str, usize>) {
    let mut csv = String::from("Email address to invite,Display name,Redirection url,Send invitation message,Custom message\n");
    let mut expected = HashMap::from([("created", 0), ("already_invited", 0), ("refused", 0)]);
    for i in 0..ROWS {
        let (line, result) = match i % 1000 {
            1 => (format!("not-an-email-{i},Nobody,https://app.example/,false,"), "refused"),
            2 => (format!("short{i}@{domain},two columns"), "refused"),
            3 => (format!("maybe{i}@{domain},Maybe,https://app.example/,perhaps,"), "refused"),
            4 => (format!("{},Alice,https://app.example/,false,", ALICE.0), "refused"),
            5 => (format!("guest{}@{domain},Again,https://app.example/,false,", i - 5), "already_invited"),
            6 => (format!("guest{i}@{domain},\"Doe, Jane\",https://app.example/,true,\"Hello, \"\"friend\"\"\nsee you\""), "created"),
            7 => (format!("bad{i}@{domain},Bad,notaurl,false,"), "refused"),
            _ => (format!("guest{i}@{domain},Guest {i},https://app.example/,false,"), "created"),
        };
        csv.push_str(&line);
        csv.push('\n');
        *expected.get_mut(result).expect("known result") += 1;
    }
    (csv, expected)
}

/// Parses the report and checks it against the expectation; returns the
/// created rows' user ids.
fn check_report(report: &str, expected: &HashMap<&str, usize>) -> Vec<String> {
    let mut lines = report.lines();
    assert_eq!(lines.next(), Some("row,email,result,user_id,invitation_id,reason"));
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut created = vec![];
    for line in lines {
        let cells: Vec<&str> = line.splitn(6, ',').collect();
        *seen.entry(cells[2].to_string()).or_default() += 1;
        match cells[2] {
            "created" => created.push(cells[3].to_string()),
            "refused" => assert!(!cells[5].is_empty() && cells[3].is_empty(), "a refusal names its reason and created nothing: {line}"),
            _ => {}
        }
    }
    for (result, count) in expected {
        assert_eq!(seen.get(*result).copied().unwrap_or(0), *count, "{result} rows");
    }
    created
}

async fn ten_thousand_rows_with_malformed_ones(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let users_before = all_users(server.idp().store.as_ref(), CONTOSO_ID).await.len();
    let (body, expected) = csv("bulk.example");
    let started = std::time::Instant::now();
    let response = api()
        .post(server.url("/contoso/v1.0/invitations/bulk"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("bulk request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-rows"], ROWS.to_string().as_str());
    let report = response.text().await.expect("report");
    eprintln!("{ROWS} rows on {backend:?} in {:.1} s", started.elapsed().as_secs_f64());
    let created = check_report(&report, &expected);
    // Exactly the created rows exist as users: nothing half-created.
    let users = all_users(server.idp().store.as_ref(), CONTOSO_ID).await;
    assert_eq!(users.len(), users_before + created.len());
    assert!(users.iter().any(|u| u.email == "guest6@bulk.example" && u.display_name == "Doe, Jane"), "quoted cells survive");
    // Only the rows that asked for a mail got one, with the multi-line message.
    let mails = outbox(&server.outbox());
    assert_eq!(mails.len(), ROWS / 1000, "one mail per 'send' row");
    assert!(mails[0].text.contains("Hello, \"friend\""), "{:?}", mails[0]);
    // Bulk needs an administrator, not just an inviter.
    let response = api()
        .post(server.url("/contoso/v1.0/invitations/bulk"))
        .header("content-type", "text/csv")
        .body("x")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    server.stop().await;
}

on_both_backends!(ten_thousand_rows_with_malformed_ones);

/// A first row is a header only when it names the email column: a typo'd
/// address in the first row is a row like any other, refused with a line
/// of its own, and nothing disappears from the report.
async fn nothing_is_dropped_as_a_header(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    // The CSV report of a bulk upload.
    let post = |body: &'static str| {
        let request =
            api().post(server.url("/contoso/v1.0/invitations/bulk")).bearer_auth(&token).header("content-type", "text/csv").body(body);
        async move { request.send().await.expect("bulk").text().await.expect("report") }
    };
    let report = post("hank.mailbox.example,Hank,https://app.example/,false,\nivy@bulk.example,Ivy,https://app.example/,false,\n").await;
    let rows: Vec<&str> = report.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "one line per input row: {report}");
    assert!(rows[0].starts_with("1,hank.mailbox.example,refused,") && rows[0].contains("not an email address"), "{report}");
    assert!(rows[1].starts_with("2,ivy@bulk.example,created,"), "{report}");
    let with_header = post("Email,Name,Redirect,Send,Message\njo@bulk.example,Jo,https://app.example/,false,\n").await;
    let rows: Vec<&str> = with_header.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "the header is not a row: {with_header}");
    assert!(rows[0].starts_with("2,jo@bulk.example,created,"), "{with_header}");
    server.stop().await;
}

on_both_backends!(nothing_is_dropped_as_a_header);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_command_streams_a_report() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("guests.csv");
    let mut rows = String::from("email,name,redirect,send,message\n");
    rows.push_str("ann@partner.example,Ann,https://app.example/,true,Welcome Ann\n");
    rows.push_str("broken-row\n");
    rows.push_str("ann@partner.example,Ann,https://app.example/,false,\n");
    std::fs::write(&file, rows).expect("write csv");
    let run = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(IDP_BIN);
        cmd.args(["--config", demo_config_path().to_str().expect("path")])
            .args(args)
            .env("B2B_IDP__STORE__PATH", dir.path().join("data"))
            .env("B2B_IDP__MAIL__OUTBOX", dir.path().join("outbox"))
            .env("RUST_LOG", "warn");
        cmd
    };
    let created = run(&["tenant", "create", "--name", CONTOSO, "--display-name", "Contoso"]).output().await.expect("tenant create");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let output = run(&["invite", "--csv", file.to_str().expect("path"), "--tenant", CONTOSO]).output().await.expect("run invite");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let results: Vec<&str> = stdout.lines().skip(1).map(|l| l.split(',').nth(2).unwrap_or_default()).collect();
    assert_eq!(results, vec!["created", "refused", "already_invited"], "{stdout}");
    assert!(stdout.contains("expected 3 to 5 columns"), "{stdout}");
    assert!(stderr.contains("3 rows: 1 created, 1 already invited, 1 refused"), "{stderr}");
    assert_eq!(
        last_mail_to(&dir.path().join("outbox"), "ann@partner.example", "invited").subject,
        "You're invited to collaborate with Contoso"
    );
}

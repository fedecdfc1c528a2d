//! Bulk invitations from CSV, for the CLI and `POST /v1.0/invitations/bulk`.
//! The input is streamed row by row (no row cap); every row gets a line in
//! the CSV report (`row,email,result,user_id,invitation_id,reason`), and a
//! malformed or refused row never stops the others.
//!
//! Columns: email, display name, redirect URL, send message (true/false),
//! custom message. A first row whose first cell names the email column
//! (`email`, `Email address to invite`, …) is a header; every other row gets
//! a line in the report.

use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::directory::access::{Caller, ADMIN_INVITE};
use crate::directory::invitations::{self, Effect, MessageInfo, NewInvitation};
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::Tenant;

/// One line of the report.
#[derive(Debug, Serialize)]
pub struct RowReport {
    pub row: u64,
    pub email: String,
    /// `created`, `already_invited`, `refused`, or `aborted` (a last line
    /// when the input broke off).
    pub result: &'static str,
    pub user_id: String,
    pub invitation_id: String,
    pub reason: String,
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Tally {
    pub rows: u64,
    pub created: u64,
    pub already_invited: u64,
    pub refused: u64,
    /// The input broke off before its end.
    pub aborted: bool,
}

impl RowReport {
    /// Cells a spreadsheet would run as a formula (`= + - @`, or a tab or
    /// CR before one) get a leading `'`, as OWASP advises: the report echoes
    /// what the upload said, and is opened in spreadsheets.
    fn spreadsheet_safe(mut self) -> RowReport {
        for cell in [&mut self.email, &mut self.reason] {
            if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                cell.insert(0, '\'');
            }
        }
        self
    }
}

fn cells(record: &csv_async::ByteRecord) -> std::result::Result<Vec<String>, String> {
    record
        .iter()
        .enumerate()
        .map(|(i, c)| String::from_utf8(c.to_vec()).map(|s| s.trim().to_string()).map_err(|_| format!("column {} is not UTF-8", i + 1)))
        .collect()
}

fn parse_bool(cell: &str) -> std::result::Result<bool, String> {
    match cell.to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" => Ok(false),
        "true" | "yes" | "1" => Ok(true),
        other => Err(format!("send message must be true or false, not '{other}'")),
    }
}

/// A row as an invitation request, or why it cannot be one.
fn parse_row(cells: &[String]) -> std::result::Result<NewInvitation, String> {
    if !(3..=5).contains(&cells.len()) {
        return Err(format!(
            "expected 3 to 5 columns (email, display name, redirect URL, send message, custom message), found {}",
            cells.len()
        ));
    }
    let cell = |i: usize| cells.get(i).cloned().unwrap_or_default();
    let message = cell(4);
    Ok(NewInvitation {
        invited_user_email_address: cell(0),
        invited_user_display_name: Some(cell(1)).filter(|n| !n.is_empty()),
        invite_redirect_url: cell(2),
        send_invitation_message: parse_bool(&cell(3))?,
        invited_user_message_info: Some(MessageInfo {
            customized_message_body: Some(message).filter(|m| !m.is_empty()),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// Invites every row of `input`, writing the report to `output`; calls
/// `progress` after each row.
/// What the first column of a header row may say: ours, or Entra's bulk
/// template's (case and surrounding spaces aside).
const EMAIL_HEADERS: [&str; 5] = ["email", "e-mail", "email address", "email address to invite", "invitedUserEmailAddress"];

/// Whether a first row's first cell makes it a header.
pub fn is_header_cell(cell: &str) -> bool {
    let cell = cell.trim();
    EMAIL_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(cell))
}

pub async fn run(
    idp: &Idp,
    tenant: &Tenant,
    caller: &Caller,
    input: impl AsyncRead + Unpin + Send,
    output: impl AsyncWrite + Unpin,
    mut progress: impl FnMut(&Tally),
) -> Result<Tally> {
    caller.require(ADMIN_INVITE)?;
    let mut reader = csv_async::AsyncReaderBuilder::new().has_headers(false).flexible(true).create_reader(input);
    let mut report = csv_async::AsyncWriterBuilder::new().create_serializer(output);
    let mut tally = Tally::default();
    let mut records = reader.byte_records();
    let mut first = true;
    while let Some(record) = records.next().await {
        let (line, row) = match record {
            Ok(r) => (r.position().map_or(tally.rows + 1, |p| p.line()), cells(&r)),
            Err(e) if e.is_io_error() => {
                // The upload broke off: say so after the rows already done.
                tally.aborted = true;
                let reason = format!("the CSV could not be read to the end ({e}); rows after this were not processed");
                let last = RowReport {
                    row: tally.rows + 1,
                    email: String::new(),
                    result: "aborted",
                    user_id: String::new(),
                    invitation_id: String::new(),
                    reason,
                };
                report.serialize(&last.spreadsheet_safe()).await.map_err(|e| Error::Internal(format!("writing the report: {e}")))?;
                break;
            }
            Err(e) => (e.position().map_or(tally.rows + 1, |p| p.line()), Err(e.to_string())),
        };
        // A header names its columns; any other first row is a row, and a
        // typo in an address gets its own report line like everywhere else.
        let header = first && row.as_ref().is_ok_and(|c| c.first().is_some_and(|e| is_header_cell(e)));
        first = false;
        if header {
            continue;
        }
        tally.rows += 1;
        let email = row.as_ref().ok().and_then(|c| c.first().cloned()).unwrap_or_default();
        let mut line_report =
            RowReport { row: line, email, result: "refused", user_id: String::new(), invitation_id: String::new(), reason: String::new() };
        match row.and_then(|c: Vec<String>| parse_row(&c)) {
            Err(reason) => line_report.reason = reason,
            Ok(new) => match invitations::invite(idp, tenant, caller, new).await {
                Ok(invited) => {
                    line_report.result = match invited.effect {
                        Effect::Created => "created",
                        Effect::AlreadyInvited => "already_invited",
                    };
                    line_report.user_id = invited.invitation.invited_user.id;
                    line_report.invitation_id = invited.invitation.id;
                    line_report.reason = invited.mail_error.map(|e| format!("invitation mail not sent: {e}")).unwrap_or_default();
                }
                Err(e @ (Error::Store(_) | Error::Key(_) | Error::Vault(_) | Error::Internal(_))) => {
                    let reference = uuid::Uuid::new_v4();
                    tracing::error!(%reference, tenant = %tenant.id, row = line, error = %crate::util::error_chain(&e), "bulk invitation row failed");
                    line_report.reason = format!("an internal error occurred (reference {reference})");
                }
                Err(e) => line_report.reason = e.to_string(),
            },
        }
        match line_report.result {
            "created" => tally.created += 1,
            "already_invited" => tally.already_invited += 1,
            _ => tally.refused += 1,
        }
        report.serialize(&line_report.spreadsheet_safe()).await.map_err(|e| Error::Internal(format!("writing the report: {e}")))?;
        progress(&tally);
    }
    report.flush().await.map_err(|e| Error::Internal(format!("writing the report: {e}")))?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, ?tally, "bulk invitation done");
    Ok(tally)
}

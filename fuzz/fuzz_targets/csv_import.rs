//! The bulk invitation CSV (`POST /v1.0/invitations/bulk`, `invite-bulk`).
//!
//! `directory::bulk`'s row parsing (`cells`, `parse_row`, `parse_bool`) is
//! private and `bulk::run` needs an authorised caller and writes the
//! directory, so this reads the input with the module's exact reader
//! settings and applies the same per-row steps with the public pieces: the
//! UTF-8 cells, the header rule, `address::email` on the first cell, the
//! redirect URL; and writes a `RowReport` line per row, as the report does.
//!
//! Oracle: the report is a CSV whose rows read back to what was written
//! (no cell from the upload can split or add a report row).
#![no_main]

use b2b_idp::directory::bulk::{is_header_cell, RowReport};
use b2b_idp::util::address;
use b2b_idp_fuzz::block_on;
use futures_util::StreamExt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let written = block_on(async {
        // bulk::run's reader.
        let mut reader = csv_async::AsyncReaderBuilder::new().has_headers(false).flexible(true).create_reader(data);
        let mut report = csv_async::AsyncWriterBuilder::new().create_serializer(Vec::new());
        let mut records = reader.byte_records();
        let mut written = Vec::new();
        let mut first = true;
        while let Some(record) = records.next().await {
            let (line, row) = match record {
                Ok(r) => {
                    let cells: Result<Vec<String>, String> = r
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            String::from_utf8(c.to_vec())
                                .map(|s| s.trim().to_string())
                                .map_err(|_| format!("column {} is not UTF-8", i + 1))
                        })
                        .collect();
                    (r.position().map_or(0, |p| p.line()), cells)
                }
                Err(e) if e.is_io_error() => break,
                Err(e) => (e.position().map_or(0, |p| p.line()), Err(e.to_string())),
            };
            let header = first && row.as_ref().is_ok_and(|c| c.first().is_some_and(|e| is_header_cell(e)));
            first = false;
            if header {
                continue;
            }
            let email = row.as_ref().ok().and_then(|c| c.first().cloned()).unwrap_or_default();
            let reason = match &row {
                Ok(cells) if !(3..=5).contains(&cells.len()) => format!("expected 3 to 5 columns, found {}", cells.len()),
                Ok(cells) => match (address::email(&cells[0]), url::Url::parse(&cells[2])) {
                    (Err(e), _) => e.to_string(),
                    (_, Err(e)) => e.to_string(),
                    (Ok(_), Ok(_)) => String::new(),
                },
                Err(why) => why.clone(),
            };
            let entry = RowReport { row: line, email, result: "refused", user_id: String::new(), invitation_id: String::new(), reason };
            if report.serialize(&entry).await.is_err() {
                return None;
            }
            written.push((entry.email, entry.reason));
        }
        let bytes = report.into_inner().await.ok()?;
        // Read the report back.
        let mut back = csv_async::AsyncReaderBuilder::new().has_headers(true).create_reader(bytes.as_slice());
        let mut rows = back.records();
        let mut read = Vec::new();
        while let Some(row) = rows.next().await {
            let row = row.expect("the report does not read back as CSV");
            read.push((row.get(1).unwrap_or_default().to_string(), row.get(5).unwrap_or_default().to_string()));
        }
        Some((written, read))
    });
    if let Some((written, read)) = written {
        assert_eq!(written, read, "the report's rows do not read back as written");
    }
});

//! `mi-offboard history` as text: a table for people, CSV for spreadsheets, JSON for
//! scripts. Pure formatting of [`HistoryRow`]s; the binary prints the result.
//!
//! Serials, models and IMEIs come from phones: in CSV a cell starting with `=`, `+`, `-`
//! or `@` would be run as a formula by spreadsheet programs, so such cells get a leading
//! apostrophe; in the table control characters are replaced so they cannot move the
//! cursor or recolour the terminal.

use super::journal::HistoryRow;

const COLUMNS: [&str; 11] = [
    "journey",
    "serial",
    "imei",
    "model",
    "mode",
    "host",
    "started_at",
    "ended_at",
    "status",
    "exit_code",
    "steps",
];

fn cells(row: &HistoryRow) -> [String; 11] {
    let steps = row
        .steps
        .iter()
        .map(|s| format!("{}:{}", s.step.as_str(), s.result.as_str()))
        .collect::<Vec<_>>()
        .join(" ");
    [
        row.journey.to_string(),
        row.serial.clone(),
        row.imei.clone().unwrap_or_default(),
        row.model.clone().unwrap_or_default(),
        row.mode.clone(),
        row.host.clone(),
        row.started_at.to_string(),
        row.ended_at.map(|t| t.to_string()).unwrap_or_default(),
        row.status
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| "unfinished".to_owned()),
        row.exit_code.map(|c| c.to_string()).unwrap_or_default(),
        steps,
    ]
}

fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// RFC 4180 CSV with a header line, CRLF line ends.
pub fn to_csv(rows: &[HistoryRow]) -> String {
    let mut out = COLUMNS.join(",");
    out.push_str(",summary\r\n");
    for row in rows {
        let mut line: Vec<String> = cells(row).iter().map(|c| csv_cell(c)).collect();
        line.push(csv_cell(row.summary.as_deref().unwrap_or("")));
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// JSON array of the rows.
pub fn to_json(rows: &[HistoryRow]) -> String {
    serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".to_owned())
}

fn printable(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// A plain table for people: one line per journey.
pub fn to_table(rows: &[HistoryRow]) -> String {
    let header = ["#", "serial", "model", "started", "status", "steps"];
    let body: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let c = cells(r);
            [
                c[0].clone(),
                printable(&c[1]),
                printable(&c[3]),
                r.started_at.0.format("%Y-%m-%d %H:%M").to_string(),
                c[8].clone(),
                c[10].clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for line in &body {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push = |cells: &[String]| {
        let mut line = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push(&header.map(str::to_owned));
    for line in &body {
        push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::journal::HistoryStep;
    use crate::report::{OutcomeStatus, StepKind, StepResult, Timestamp};

    fn row(serial: &str, model: &str) -> HistoryRow {
        HistoryRow {
            journey: 7,
            serial: serial.to_owned(),
            hardware_serial: Some("a1b2c3d4".to_owned()),
            imei: Some("861234567890123".to_owned()),
            model: Some(model.to_owned()),
            mode: "bench".to_owned(),
            host: "bench-1".to_owned(),
            started_at: Timestamp::parse("2026-11-30T07:00:00Z").unwrap(),
            ended_at: None,
            status: Some(OutcomeStatus::OwnerActionNeeded),
            exit_code: Some(3),
            summary: Some("owner action needed: \"Google\" account, sign out".to_owned()),
            steps: vec![HistoryStep {
                step: StepKind::Inspect,
                result: StepResult::Ok,
            }],
        }
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let csv = to_csv(&[row("=HYPERLINK(\"x\")", "Redmi, 13\nPro")]);
        let mut lines = csv.split("\r\n");
        assert!(lines.next().unwrap().starts_with("journey,serial,imei"));
        let body = csv.split_once("\r\n").unwrap().1;
        assert!(
            body.starts_with("7,\"'=HYPERLINK(\"\"x\"\")\",861234567890123,\"Redmi, 13\nPro\",")
        );
        assert!(body.contains(",owner_action_needed,3,inspect:ok,"));
        assert!(body.ends_with("\"owner action needed: \"\"Google\"\" account, sign out\"\r\n"));
    }

    #[test]
    fn table_hides_control_characters() {
        let t = to_table(&[row("abc\u{1b}[31m", "Mi 11")]);
        assert!(!t.contains('\u{1b}'));
        assert!(t.contains("abc?[31m"));
        assert_eq!(t.lines().count(), 2);
    }

    #[test]
    fn json_is_an_array_of_rows() {
        let j: serde_json::Value = serde_json::from_str(&to_json(&[row("a", "b")])).unwrap();
        assert_eq!(j[0]["serial"], "a");
        assert_eq!(j[0]["status"], "owner_action_needed");
        assert_eq!(j[0]["steps"][0]["step"], "inspect");
    }
}

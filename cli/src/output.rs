//! Output: human tables on stdout, or one JSON document with `--json`; errors on stderr
//! (as `{"error": {"code", "message"}}` with `--json`).

use crate::error::CliError;
use serde_json::{Value, json};
use std::io::Write;

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// One JSON document on stdout.
    pub json: bool,
}

impl Output {
    /// Prints a result: the JSON value with `--json`, else the human text.
    pub fn result(&self, value: &Value, human: impl FnOnce() -> String) {
        let mut out = std::io::stdout().lock();
        let text = if self.json {
            serde_json::to_string_pretty(value).expect("JSON values serialize")
        } else {
            human()
        };
        // A closed pipe (`firekeep list | head`) is not an error worth a panic.
        let _ = writeln!(out, "{}", text.trim_end_matches('\n'));
    }

    /// A progress/status line for humans on stderr (nothing with `--json`).
    pub fn note(&self, line: &str) {
        if !self.json {
            eprintln!("{line}");
        }
    }

    /// Prints a warning to stderr, in JSON mode too (as `{"warning": "..."}`): something a
    /// scheduled job's log must show even when its result is fine.
    pub fn warn(&self, line: &str) {
        if self.json {
            eprintln!("{}", json!({ "warning": line }));
        } else {
            eprintln!("warning: {line}");
        }
    }

    /// Prints an error to stderr.
    pub fn error(&self, err: &CliError) {
        if self.json {
            let doc = json!({"error": {"code": err.code(), "message": err.to_string()}});
            eprintln!("{doc}");
        } else {
            eprintln!("error: {err}");
        }
    }
}

/// A plain text table with left-aligned columns.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Human byte count: 1.5 MiB.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Human number with thousands separators: 1,234,567.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        let t = table(
            &["ID", "DOCS"],
            &[
                vec!["bk_1".into(), "10".into()],
                vec!["b".into(), "2".into()],
            ],
        );
        assert_eq!(t, "ID    DOCS\nbk_1  10\nb     2\n");
    }
}

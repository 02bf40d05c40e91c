//! `os-release` (freedesktop.org's os-release(5)): `KEY=value` lines, values optionally
//! quoted with `"` or `'` and backslash-escaped inside double quotes; `#` starts a comment.

use crate::OsRelease;

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        let mut out = String::new();
        let mut chars = v[1..v.len() - 1].chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else {
                out.push(c);
            }
        }
        out
    } else if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// Parses an `os-release` file (`ID` defaults to `linux`, as the spec says).
pub fn parse(text: &str) -> OsRelease {
    let mut os = OsRelease { id: "linux".into(), ..OsRelease::default() };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else { continue };
        let v = unquote(v);
        match k.trim() {
            "ID" if !v.is_empty() => os.id = v,
            "VERSION_ID" => os.version_id = Some(v),
            "PRETTY_NAME" => os.pretty_name = Some(v),
            _ => {}
        }
    }
    os
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_and_bare_values() {
        let os = parse("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n# c\nID=debian\nVERSION_ID='12'\nNAME=\"a \\\"q\\\"\"\n");
        assert_eq!(os, OsRelease { id: "debian".into(), version_id: Some("12".into()), pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()) });
        assert_eq!(parse("").id, "linux");
    }
}

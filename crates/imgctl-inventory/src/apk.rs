//! apk's installed database (`lib/apk/db/installed`, apk-tools' "Package database" of
//! apk-v2: one `X:value` line per field, packages separated by blank lines; `P` name,
//! `V` version, `A` arch, `o` origin, `L` license).

use crate::{Ecosystem, Package};

/// Parses `lib/apk/db/installed`.
pub fn parse(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let mut cur = Package { ecosystem: Ecosystem::Apk, name: String::new(), version: String::new(), arch: None, source: None, license: None };
    let mut flush = |cur: &mut Package| {
        let done = std::mem::replace(cur, Package { name: String::new(), version: String::new(), arch: None, source: None, license: None, ..cur.clone() });
        if !done.name.is_empty() && !done.version.is_empty() {
            let source = done.source.clone().filter(|o| *o != done.name);
            out.push(Package { source, ..done });
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut cur);
            continue;
        }
        let Some((k, v)) = line.split_once(':') else { continue };
        match k {
            "P" => cur.name = v.to_string(),
            "V" => cur.version = v.to_string(),
            "A" => cur.arch = Some(v.to_string()),
            "o" => cur.source = Some(v.to_string()),
            "L" => cur.license = Some(v.to_string()),
            _ => {}
        }
    }
    flush(&mut cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_packages_separated_by_blank_lines() {
        let p = parse("C:Q1x=\nP:musl\nV:1.2.2-r3\nA:armv7\nL:MIT\no:musl\nF:lib\nR:x\n\nP:musl-utils\nV:1.2.2-r3\no:musl\n");
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].name.as_str(), p[0].source.as_deref(), p[0].license.as_deref()), ("musl", None, Some("MIT")));
        assert_eq!((p[1].name.as_str(), p[1].source.as_deref(), p[1].arch.as_deref()), ("musl-utils", Some("musl"), None));
    }
}

//! `hostile-registry UPSTREAM`: runs the test kit's hostile stand-in (`Hostile`) in front of
//! UPSTREAM (`host:port`, plain HTTP), prints `HOST CATCHER` on the first line, then reads
//! one command a line from stdin and switches to it (`scripts/bench/hostile` drives it):
//! `none`, `overrun BYTES` (blob GETs), `endless-blob`, `endless-manifest`, `trickle MILLIS`
//! (manifest, tag-list and blob GETs), `plain-realm`, `malformed` (every manifest). Each
//! command is answered with `ok` once it is in force. Exits at the end of stdin.

use std::io::{BufRead, Write};
use std::time::Duration;

use imgctl_testkit::{Hostile, Hostility, PathKind};

fn mode(line: &str) -> Result<Hostility, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let n = |i: usize| words.get(i).and_then(|w| w.parse::<u64>().ok()).ok_or_else(|| format!("'{line}': a number is missing"));
    Ok(match words.first().copied() {
        Some("none") => Hostility::None,
        Some("overrun") => Hostility::Overrun { extra: n(1)?, announce: false },
        Some("endless-blob") => Hostility::Endless { kinds: vec![PathKind::Blob] },
        Some("endless-manifest") => Hostility::Endless { kinds: vec![PathKind::Manifest] },
        Some("trickle") => Hostility::Trickle { kinds: vec![PathKind::Manifest, PathKind::TagsList, PathKind::Blob], every: Duration::from_millis(n(1)?) },
        Some("plain-realm") => Hostility::PlainRealm,
        Some("malformed") => Hostility::Malformed {
            body: br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":"nope"}"#.to_vec(),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
        },
        _ => return Err(format!("unknown command '{line}'")),
    })
}

fn main() {
    let upstream = std::env::args().nth(1).unwrap_or_else(|| panic!("usage: hostile-registry UPSTREAM"));
    let h = Hostile::start(&upstream);
    let mut out = std::io::stdout();
    writeln!(out, "{} {}", h.host(), h.catcher()).and_then(|()| out.flush()).expect("write to stdout");
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("read stdin");
        match mode(line.trim()) {
            Ok(m) => {
                h.set(m);
                writeln!(out, "ok").and_then(|()| out.flush()).expect("write to stdout");
            }
            Err(e) => panic!("{e}"),
        }
    }
}

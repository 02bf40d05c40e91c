//! Human output fits and summarises (issue 21): every table fits the width (`COLUMNS`;
//! 200 when stdout is no terminal and it is unset), long cells wrap without losing text,
//! and each table ends with a one-line summary. Snapshots at 80 and 200 columns of tags,
//! promote, status, history, usages and gc on the real registry; gc lists what it deletes
//! and counts what it keeps per reason (`--verbose` lists them); pin's diff headers and
//! `mark-eol`'s counts say what happened.

use crate::fleet::{ARM, Fleet, MULTI, REPO, SINGLE, VARIANTS};
use crate::support::{Run, Sandbox, repo_root};

/// Runs imgctl for `f` at `now` with `COLUMNS=width`.
fn at_width(f: &Fleet, now: &str, width: usize, args: &[&str]) -> Run {
    let out = f.sb.cmd().env("IMGCTL_NOW", now).env("IMGCTL_INSECURE_REGISTRIES", &f.host).env("COLUMNS", width.to_string()).args(args).output().expect("run imgctl");
    Run::from(out)
}

/// Asserts every line of `text` fits `width` and returns it.
fn fits(text: &str, width: usize) -> &str {
    for line in text.lines() {
        assert!(line.chars().count() <= width, "a line wider than {width}:\n{line}\n\n{text}");
    }
    text
}

#[test]
fn tags_fit_80_and_200_columns() {
    for width in [80, 200] {
        let sb = Sandbox::new();
        let out = sb
            .cmd()
            .current_dir(repo_root())
            .env("COLUMNS", width.to_string())
            .args(["tags", "almalinux-9-helix-amd64", "azurelinux-3.0-docker-testrunner-amd64", "azurelinux-3.0-net11.0-cross-freebsd-15-arm64"])
            .output()
            .expect("run imgctl");
        let run = Run::from(out);
        run.code(0);
        let text = fits(&run.stdout, width);
        assert!(text.ends_with("3 variants: 6 channel tags, 4 alias tags, 3 immutable tags\n"), "{text}");
        // source ids follow the fixture's files: redacted (after wrapping, so the layout is real)
        insta::with_settings!({filters => vec![(r"\b[0-9a-f]{12}\b", "[source-id]")]}, {
            insta::assert_snapshot!(format!("tags_{width}"), text);
        });
    }
}

#[test]
fn the_whole_real_fleet_fits_by_default() {
    let sb = Sandbox::new();
    let run = Run::from(sb.cmd().current_dir(repo_root()).args(["tags"]).output().expect("run imgctl"));
    run.code(0);
    fits(&run.stdout, 200);
    assert!(run.stdout.lines().last().is_some_and(|l| l.starts_with("229 variants: 458 channel tags")), "{}", run.stdout.lines().last().unwrap_or_default());
}

const T0: &str = "2026-11-02T09:00:00Z";
const T1: &str = "2026-11-03T10:00:00Z";
const T2: &str = "2026-11-21T12:00:00Z";

/// The test fleet with every variant published and promoted once, then every source
/// changed and one new build published (one ready to promote, two without a build).
fn busy_fleet() -> Fleet {
    let mut f = Fleet::new("1d");
    for (i, v) in VARIANTS.iter().enumerate() {
        let (dir, _) = f.build(v, 10 + i as u64);
        f.at(T0, &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
    }
    f.at(T1, &["promote"]).code(0);
    f.change_sources();
    let (dir, _) = f.build(SINGLE, 20);
    f.at(T1, &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    f
}

#[test]
fn rollout_tables_fit_and_summarise() {
    let f = busy_fleet();
    for width in [80, 200] {
        let promote = at_width(&f, T2, width, &["promote", "--dry-run"]).code(0).stdout.clone();
        assert!(fits(&promote, width).ends_with("dry run (nothing changed): 3 variants: 1 moved, 2 skipped\n"), "{promote}");
        let status = at_width(&f, T2, width, &["status"]).code(0).stdout.clone();
        assert!(fits(&status, width).ends_with("3 variants: 1 ready to promote, 2 without a build\n"), "{status}");
        let history = at_width(&f, T2, width, &["history", SINGLE, "--channel", "staging"]).code(0).stdout.clone();
        assert!(fits(&history, width).ends_with("2 moves: 2 publish\n"), "{history}");
        insta::assert_snapshot!(format!("promote_dry_run_{width}"), promote);
        insta::assert_snapshot!(format!("status_{width}"), status);
        insta::assert_snapshot!(format!("history_{width}"), history);
    }
}

#[test]
fn usages_fit_and_summarise() {
    let f = busy_fleet();
    f.sb.write(
        "consumer/.github/workflows/ci.yml",
        &format!("jobs:\n  a:\n    container: {REPO}:{SINGLE}-latest\n  b:\n    container: {REPO}:{ARM}-staging\n  c:\n    container: {REPO}:{MULTI}-latest\n  d:\n    container: {REPO}:ubuntu-22.04-helix-amd64-lates\n"),
    );
    for width in [80, 200] {
        let out = at_width(&f, T2, width, &["usages", "consumer"]).code(0).stdout.clone();
        assert!(fits(&out, width).ends_with("4 references, 4 not pinned, 1 with findings\n"), "{out}");
        insta::assert_snapshot!(format!("usages_{width}"), out);
    }
}

#[test]
fn gc_lists_what_it_deletes_and_counts_what_it_keeps() {
    let f = busy_fleet();
    for width in [80, 200] {
        let out = at_width(&f, T2, width, &["gc", "--keep", "1", "--older-than", "1d"]).code(0).stdout.clone();
        fits(&out, width);
        assert!(out.starts_with("nothing to delete\nkept ") || out.starts_with("to delete ("), "{out}");
        assert!(out.contains("(pass --verbose to"), "{out}");
        insta::assert_snapshot!(format!("gc_{width}"), out);
        let verbose = at_width(&f, T2, width, &["gc", "--keep", "1", "--older-than", "1d", "--verbose"]).code(0).stdout.clone();
        fits(&verbose, width);
        assert!(verbose.lines().count() > out.lines().count() && !verbose.contains("pass --verbose"), "{verbose}");
        insta::assert_snapshot!(format!("gc_verbose_{width}"), verbose);
    }
}

#[test]
fn gc_shows_what_it_deletes_first() {
    let mut f = Fleet::new("0s");
    crate::gc::history(&mut f);
    let now = crate::gc::t(24 * 40);
    for width in [80, 200] {
        let out = at_width(&f, &now, width, &["gc", "--keep", "1", "--older-than", "7d"]).code(0).stdout.clone();
        fits(&out, width);
        let to_delete = out.find("to delete (").unwrap_or_else(|| panic!("the deletions come first: {out}"));
        let kept = out.find("kept ").expect("then the kept count");
        assert!(to_delete == 0 && kept > to_delete, "{out}");
        assert!(!out[kept..].contains("| kept "), "kept digests are counted, not listed: {out}");
        insta::assert_snapshot!(format!("gc_deletes_{width}"), out);
    }
}

#[test]
fn gc_with_nothing_to_delete_is_a_few_lines() {
    let f = Fleet::new("0s");
    let (dir, _) = f.build(SINGLE, 1);
    f.at(T0, &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    let out = f.at(T2, &["gc"]).code(0).stdout.clone();
    assert!(out.starts_with("nothing to delete\nkept 1 digest: 1 on a channel (pass --verbose to list them)\n"), "{out}");
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[test]
fn pin_headers_and_nothing_to_change() {
    let f = busy_fleet();
    f.sb.write("consumer/ci.yml", &format!("image: {REPO}:{SINGLE}-latest\n"));
    let abs = f.sb.path().join("consumer/ci.yml");
    let run = f.at(T2, &["pin", abs.to_str().unwrap()]).code(0).stdout.clone();
    assert!(run.contains("--- a/consumer/ci.yml\n+++ b/consumer/ci.yml\n"), "{run}");
    assert!(!run.contains("a//"), "{run}");
    assert!(run.ends_with("1 reference pinned in 1 file; 1 file would change (pass --write)\n"), "{run}");
    f.at(T2, &["pin", "consumer", "--write"]).code(0);
    let again = f.at(T2, &["pin", "consumer"]).code(0).stdout.clone();
    assert!(again.ends_with("; nothing to change\n") && !again.contains("--write"), "{again}");
}

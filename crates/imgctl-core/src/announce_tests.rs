//! Tests of the announcements' text and keys.

use super::*;

fn d(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn mv(variant: &str, channel: &str, from: Option<char>, to: char, reason: Option<&str>) -> Move {
    Move { variant: variant.into(), channel: channel.into(), from: from.map(d), to: d(to), reason: reason.map(str::to_owned) }
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 9).unwrap()
}

fn site() -> Links {
    Links { site: Some("https://acme.github.io/fleet/".into()), run: Some("https://github.com/acme/fleet/actions/runs/7".into()) }
}

#[test]
fn moves_are_the_primarys_moved_rows_and_a_dry_run_has_none() {
    let json = format!(
        r#"{{"results": [
        {{"variant": "a", "channel": "latest", "from": "{a}", "to": "{b}", "action": "moved", "reason": "soaked 3d"}},
        {{"variant": "a", "channel": "latest", "from": "{a}", "to": "{b}", "action": "moved", "mirror": "m.example/x"}},
        {{"variant": "b", "channel": "latest", "to": "{b}", "action": "unchanged"}},
        {{"variant": "c", "channel": "latest", "to": "{c}", "action": "moved"}},
        {{"variant": "d", "channel": "latest", "from": "{c}", "to": "{a}", "action": "moved", "reason": "rolled back", "note": "broke the build"}},
        {{"variant": "e", "action": "failed", "reason": "x"}}
        ], "dryRun": false}}"#,
        a = d('a'),
        b = d('b'),
        c = d('c')
    );
    let m = moves(&json).unwrap();
    assert_eq!(m, [mv("a", "latest", Some('a'), 'b', Some("soaked 3d")), mv("c", "latest", None, 'c', None), mv("d", "latest", Some('c'), 'a', Some("broke the build"))]);
    assert!(moves(&json.replace(r#""dryRun": false"#, r#""dryRun": true"#)).unwrap().is_empty(), "a dry run moved nothing");
    let e = moves("{\n  \"results\": 3\n}").unwrap_err();
    assert!(e.starts_with("line 2 column") && e.contains("promote or rollback"), "{e}");
}

#[test]
fn the_rollout_issue_lists_each_move_with_whole_digests_and_links() {
    let ms = [mv("ubuntu-22.04-helix-amd64", "latest", Some('a'), 'b', Some("soaked 3d | on staging")), mv("ubuntu-22.04-helix-amd64", "canary", Some('a'), 'c', None), mv("other", "latest", None, 'd', None)];
    assert_eq!(rollout_title(day(), &ms), "[ROLLOUT] 2026-12-09: 2 variants");
    assert_eq!(rollout_title(day(), &ms[..1]), "[ROLLOUT] 2026-12-09: 1 variant");
    let body = rollout_body(day(), &ms, &site());
    assert!(body.starts_with("<!-- imgctl:rollout 2026-12-09 -->\n"), "{body}");
    let row = format!("| `ubuntu-22.04-helix-amd64` | latest | `{}` | `{}` | [changes](https://acme.github.io/fleet/digests/sha256-{}.html) | soaked 3d \\| on staging |", d('a'), d('b'), "b".repeat(64));
    assert!(body.contains(&row), "{body}");
    assert!(body.contains(&format!("| `other` | latest | — | `{}` | [changes]", d('d'))), "{body}");
    assert!(body.contains("[the workflow run](https://github.com/acme/fleet/actions/runs/7)"), "{body}");
    // no site: no links; the table is read back as written
    let plain = rollout_body(day(), &ms, &Links::default());
    assert!(!plain.contains("](") && plain.contains(&format!("| `{}` | — | soaked", d('b'))), "{plain}");
    assert_eq!(rollout_rows(&body), ms);
    assert_eq!(rollout_rows(&plain), ms);
}

#[test]
fn a_reason_cannot_break_the_table_or_forge_a_key() {
    let evil = mv("v", "latest", Some('a'), 'b', Some("a | b\n<!-- imgctl:rollback v latest x y --> &lt;"));
    let body = rollout_body(day(), std::slice::from_ref(&evil), &Links::default());
    assert_eq!(body.matches("<!--").count(), 1, "{body}");
    assert_eq!(rollout_rows(&body)[0].reason.as_deref(), Some("a | b <!-- imgctl:rollback v latest x y --> &lt;"));
    let c = rollback_comment(&evil, DateTime::parse_from_rfc3339("2026-12-09T14:03:00Z").unwrap().into(), &Links::default());
    assert_eq!(c.matches("<!--").count(), 1, "{c}");
}

#[test]
fn a_rerun_finds_the_days_issue_and_merges_instead_of_duplicating() {
    let first = [mv("a", "latest", Some('a'), 'b', None), mv("b", "latest", Some('a'), 'c', None)];
    let RolloutStep::Create { title, body } = plan_rollout(day(), &[], &first, &site()) else { panic!("no issue yet: create") };
    let other_day = IssueView { number: 3, title: "[ROLLOUT] 2026-12-02: 9 variants".into(), body: "x".into() };
    let mine = IssueView { number: 5, title: title.clone(), body: body.clone() };
    let open = [other_day.clone(), mine.clone()];
    // the same moves again: nothing to change
    assert_eq!(plan_rollout(day(), &open, &first, &site()), RolloutStep::Unchanged { number: 5, title: title.clone() });
    assert_eq!(plan_rollout(day(), &open, &first[..1], &site()), RolloutStep::Unchanged { number: 5, title: title.clone() });
    // a later run the same day moved a third variant: one issue, listing all three
    let third = [mv("c", "latest", None, 'd', None)];
    let RolloutStep::Update { number, title, body } = plan_rollout(day(), &open, &third, &site()) else { panic!("update") };
    assert_eq!((number, title.as_str()), (5, "[ROLLOUT] 2026-12-09: 3 variants"));
    assert_eq!(rollout_rows(&body).len(), 3);
    // another day: a new issue
    assert!(matches!(plan_rollout(NaiveDate::from_ymd_opt(2026, 12, 16).unwrap(), &open, &third, &site()), RolloutStep::Create { .. }));
}

#[test]
fn a_fleet_too_big_for_one_body_is_listed_up_to_githubs_limit_and_counted() {
    let ms: Vec<Move> = (0..400).map(|k| mv(&format!("ubuntu-22.04-helix-v{k}-amd64"), "latest", Some('a'), 'b', Some("soaked 3d 2h on staging"))).collect();
    let body = rollout_body(day(), &ms, &site());
    assert!(body.chars().count() <= MAX_BODY_CHARS, "{}", body.chars().count());
    let listed = rollout_rows(&body).len();
    assert!(listed > 100 && listed < 400, "{listed}");
    assert!(body.contains(&format!("…and {} more moves", 400 - listed)), "{}", &body[body.len() - 400..]);
    assert_eq!(rollout_title(day(), &ms), "[ROLLOUT] 2026-12-09: 400 variants");
}

#[test]
fn a_rollback_comment_carries_from_to_the_reason_and_its_key() {
    let m = mv("ubuntu-22.04-helix-amd64", "latest", Some('b'), 'a', Some("broke the helix build"));
    let at = DateTime::parse_from_rfc3339("2026-12-09T14:03:00Z").unwrap().into();
    let c = rollback_comment(&m, at, &site());
    assert!(c.starts_with(&format!("<!-- imgctl:rollback ubuntu-22.04-helix-amd64 latest {} {} run 7 -->\n", d('b'), d('a'))), "{c}");
    assert!(c.contains(&format!("- from: `{}` ([page](https://acme.github.io/fleet/digests/sha256-{}.html))", d('b'), "b".repeat(64))), "{c}");
    assert!(c.contains(&format!("- to: `{}`", d('a'))) && c.contains("- reason: broke the helix build") && c.contains("2026-12-09 14:03 UTC"), "{c}");
    assert!(commented(&["hello".into(), c.clone()], &m, &site()));
    let other = mv("ubuntu-22.04-helix-amd64", "latest", Some('c'), 'a', None);
    assert!(!commented(std::slice::from_ref(&c), &other, &site()), "another from: another rollback");
    let next_run = Links { run: Some("https://github.com/acme/fleet/actions/runs/8/attempts/2".into()), ..site() };
    assert_eq!(next_run.run_id(), "8");
    assert!(!commented(std::slice::from_ref(&c), &m, &next_run), "the same digests in another run: another rollback");
    assert_eq!(Links::default().run_id(), "-");
    assert!(rollback_comment(&other, at, &Links::default()).contains("- reason: none given"));
    let open = [IssueView { number: 4, title: "[ROLLBACK] ubuntu-22.04-helix-amd64".into(), body: String::new() }, IssueView { number: 6, title: "[ROLLBACK] ubuntu-22.04-helix-amd64-x".into(), body: String::new() }];
    assert_eq!(rollback_issue(&open, "ubuntu-22.04-helix-amd64"), Some(4));
    assert_eq!(rollback_issue(&open, "ubuntu-22.04"), None);
    assert!(rollback_issue_body("v", &site()).contains("https://acme.github.io/fleet/variants/v.html"));
}

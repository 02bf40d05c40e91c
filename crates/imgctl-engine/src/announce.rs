//! Announcing a run's moves on GitHub (after the move; nothing here touches the registry):
//! a rollout opens the day's `[ROLLOUT] DATE: N variants` issue or updates the one open
//! for the day; a rollback comments on its variant's open `[ROLLBACK] VARIANT` issue
//! (opening one when none is open) unless that rollback's comment is there already. The
//! texts and keys are `imgctl_core::announce`'s; this module sends them through
//! [`IssuesClient`].

use chrono::{DateTime, Utc};
use imgctl_core::announce::{self, Action, Announcement, IssueView, Links, Move, RolloutStep};
use imgctl_registry::RegistryError;
use imgctl_registry::issues::{Issue, IssueUpdate, IssuesClient};

fn view(i: &Issue) -> IssueView {
    IssueView { number: i.number, title: i.title.clone(), body: i.body.clone().unwrap_or_default() }
}

fn made(kind: &str, issue: &Issue, title: String, action: Action, url: String, moves: usize) -> Announcement {
    Announcement { kind: kind.into(), issue: issue.number, title, action, url, moves }
}

/// Announces a rollout of `moves` on `now`'s date (UTC); none for no moves.
pub async fn rollout(client: &IssuesClient, now: DateTime<Utc>, moves: &[Move], links: &Links) -> Result<Vec<Announcement>, RegistryError> {
    if moves.is_empty() {
        return Ok(Vec::new());
    }
    let open = client.open_with_label(announce::ROLLOUT_LABEL).await?;
    let views: Vec<IssueView> = open.iter().map(view).collect();
    let n = moves.len();
    let a = match announce::plan_rollout(now.date_naive(), &views, moves, links) {
        RolloutStep::Create { title, body } => {
            let i = client.create(&title, &body, &[announce::ROLLOUT_LABEL]).await?;
            made("rollout", &i, title, Action::Created, i.html_url.clone(), n)
        }
        RolloutStep::Update { number, title, body } => {
            let i = client.update(number, &IssueUpdate { title: Some(title.clone()), body: Some(body), ..IssueUpdate::default() }).await?;
            made("rollout", &i, title, Action::Updated, i.html_url.clone(), n)
        }
        RolloutStep::Unchanged { number, title } => {
            let url = open.iter().find(|i| i.number == number).map(|i| i.html_url.clone()).unwrap_or_default();
            Announcement { kind: "rollout".into(), issue: number, title, action: Action::Unchanged, url, moves: n }
        }
    };
    Ok(vec![a])
}

/// Announces each rolled-back move: one comment per rollback on its variant's issue.
pub async fn rollback(client: &IssuesClient, now: DateTime<Utc>, moves: &[Move], links: &Links) -> Result<Vec<Announcement>, RegistryError> {
    let mut out = Vec::new();
    if moves.is_empty() {
        return Ok(out);
    }
    let mut open = client.open_with_label(announce::ROLLBACK_LABEL).await?;
    for m in moves {
        let title = announce::rollback_title(&m.variant);
        let views: Vec<IssueView> = open.iter().map(view).collect();
        let found = announce::rollback_issue(&views, &m.variant).and_then(|n| open.iter().find(|i| i.number == n).cloned());
        let issue = match found {
            Some(i) => i,
            None => {
                let i = client.create(&title, &announce::rollback_issue_body(&m.variant, links), &[announce::ROLLBACK_LABEL]).await?;
                open.push(i.clone());
                i
            }
        };
        let comments = client.comments(issue.number).await?;
        let bodies: Vec<String> = comments.iter().map(|c| c.body.clone().unwrap_or_default()).collect();
        let a = match bodies.iter().position(|b| announce::commented(std::slice::from_ref(b), m, links)) {
            Some(k) => made("rollback", &issue, title, Action::AlreadyCommented, comments[k].html_url.clone(), 1),
            None => {
                let c = client.comment(issue.number, &announce::rollback_comment(m, now, links)).await?;
                made("rollback", &issue, title, Action::Commented, c.html_url, 1)
            }
        };
        out.push(a);
    }
    Ok(out)
}

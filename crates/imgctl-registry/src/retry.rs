//! Bounded exponential backoff with jitter: what is retried (429, 5xx, timeouts, resets) and
//! for how long; everything else fails at once.

use std::future::Future;
use std::time::Duration;

use crate::error::{RegistryError, Target};

/// How transient failures are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all (the first one included).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// Upper bound of one backoff delay.
    pub max_delay: Duration,
    /// Upper bound of a `Retry-After` the registry asks for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1-based): `base·2^(retry-1)` capped, with
    /// jitter in its upper half; a `Retry-After` is honoured (capped) plus a little jitter.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            let jitter = self.base_delay.mul_f64(fastrand::f64() * 0.5);
            return ra.min(self.max_retry_after) + jitter;
        }
        let exp = self.base_delay.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        capped.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

/// The outcome of one failed attempt.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Worth another attempt (429, 5xx, timeout, reset); `retry_after` from the response.
    Transient { reason: String, retry_after: Option<Duration> },
    /// Final.
    Fatal(RegistryError),
}

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Failure {
        Failure::Fatal(e)
    }
}

/// Runs `attempt` until it succeeds, fails fatally, or the policy's attempts are used up.
pub(crate) async fn run<T, F, Fut>(policy: &RetryPolicy, op: &'static str, target: &Target, mut attempt: F) -> Result<T, RegistryError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Transient { reason, retry_after }) => {
                if attempts >= policy.max_attempts.max(1) {
                    return Err(RegistryError::Unavailable { op, target: Box::new(target.clone()), attempts, last: reason });
                }
                let delay = policy.delay(attempts, retry_after);
                tracing::debug!("{op} {target}: {reason}; retry {attempts} in {delay:?}");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// The `Retry-After` of an answer's headers (registries and GitHub's API alike).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()))
}

/// Parses a `Retry-After` header given in seconds (HTTP dates are treated as one second).
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let v = value?.trim();
    match v.parse::<u64>() {
        Ok(s) => Some(Duration::from_secs(s)),
        Err(_) if !v.is_empty() => Some(Duration::from_secs(1)),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_retry_after_honoured() {
        let p = RetryPolicy::default();
        for retry in 1..40 {
            assert!(p.delay(retry, None) <= p.max_delay);
        }
        assert!(p.delay(1, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
        assert!(p.delay(1, Some(Duration::from_secs(999))) <= p.max_retry_after + p.base_delay);
        assert_eq!(parse_retry_after(Some("3")), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(None), None);
    }

    #[tokio::test]
    async fn stops_after_max_attempts_and_not_on_fatal() {
        let p = RetryPolicy { base_delay: Duration::from_millis(1), ..RetryPolicy::default() };
        let t = Target::new("r", "a", Some("t"));
        let mut n = 0;
        let r: Result<(), _> = run(&p, "get manifest", &t, || {
            n += 1;
            async { Err(Failure::Transient { reason: "HTTP 503".into(), retry_after: None }) }
        })
        .await;
        assert_eq!(n, p.max_attempts);
        assert!(matches!(r, Err(RegistryError::Unavailable { attempts: 6, .. })));
        let mut m = 0;
        let r: Result<(), _> = run(&p, "get manifest", &t, || {
            m += 1;
            async { Err(Failure::Fatal(RegistryError::NotFound { op: "x", target: Box::new(Target::new("r", "a", None)), detail: String::new() })) }
        })
        .await;
        assert_eq!(m, 1);
        assert!(r.unwrap_err().is_not_found());
    }
}

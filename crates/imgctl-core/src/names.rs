//! Did-you-mean: the known name closest to a mistyped one (variants, channels, OS ids),
//! by edit distance (`strsim`'s normalised Damerau-Levenshtein, case-insensitive).

/// How similar (0..=1) a candidate must be to be suggested.
const MIN_SIMILARITY: f64 = 0.7;

/// The candidate closest to `wanted`, when one is close enough: similar by edit distance,
/// or one of them extends the other (`…-fpm` for `…-fpm-amd64`). Ties go to the first.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = wanted.to_ascii_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for c in candidates {
        let lower = c.to_ascii_lowercase();
        if lower == wanted {
            continue;
        }
        let mut score = strsim::normalized_damerau_levenshtein(&wanted, &lower);
        let extends = wanted.len().min(lower.len()) >= 4 && (lower.starts_with(&wanted) || wanted.starts_with(&lower));
        if extends {
            score = score.max(MIN_SIMILARITY);
        }
        if score >= MIN_SIMILARITY && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `"; did you mean 'X'?"` for the closest candidate, or nothing.
pub fn did_you_mean<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(wanted, candidates).map(|c| format!("; did you mean '{c}'?")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_name() {
        let variants = ["almalinux-9-helix-amd64", "almalinux-9-helix-arm64", "azurelinux-3.0-net9.0-fpm-amd64"];
        assert_eq!(closest("almalinux-9-helx-amd64", variants), Some("almalinux-9-helix-amd64"));
        assert_eq!(closest("azurelinux-3.0-net9.0-fpm", variants), Some("azurelinux-3.0-net9.0-fpm-amd64"));
        assert_eq!(closest("stagign", ["staging", "latest"]), Some("staging"));
        assert_eq!(closest("Linux-Ubuntu-22.04-AMD46", ["Linux-Ubuntu-22.04-AMD64", "Linux-Ubuntu-22.04-ARM64"]), Some("Linux-Ubuntu-22.04-AMD64"));
    }

    #[test]
    fn suggests_nothing_far_away() {
        assert_eq!(closest("production", ["staging", "latest"]), None);
        assert_eq!(closest("qa", ["dev", "latest"]), None);
        assert_eq!(did_you_mean("zzz", ["staging"]), "");
        assert_eq!(did_you_mean("lates", ["staging", "latest"]), "; did you mean 'latest'?");
    }
}

//! Lexical path arithmetic for manifest-relative paths (no file system access).

/// The directory part of a `/`-separated path (`""` for a bare file name).
pub fn dir(path: &str) -> &str {
    path.rfind('/').map_or("", |i| if i == 0 { "/" } else { &path[..i] })
}

/// Resolves `rel` against the directory of `file`, folding `.` and `..` lexically.
pub fn resolve(file: &str, rel: &str) -> String {
    join(dir(file), rel)
}

/// Joins `base` and `rel` (an absolute `rel` wins) and folds `.` and `..`.
pub fn join(base: &str, rel: &str) -> String {
    if rel.starts_with('/') || base.is_empty() {
        return normalize(rel);
    }
    normalize(&format!("{base}/{rel}"))
}

/// Folds `.`, `..` and repeated separators; keeps leading `..` of relative paths.
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match out.last() {
                Some(&last) if last != ".." => {
                    out.pop();
                }
                _ if absolute => {}
                _ => out.push(".."),
            },
            p => out.push(p),
        }
    }
    let joined = out.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// `to` written relative to the directory `from_dir` (both normalized, both relative
/// or both absolute).
pub fn relative(from_dir: &str, to: &str) -> String {
    let base = normalize(from_dir);
    let from: Vec<&str> = base.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let target = normalize(to);
    let to_parts: Vec<&str> = target.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let common = from.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to_parts[common..]);
    if parts.is_empty() { ".".to_string() } else { parts.join("/") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_to_the_manifest() {
        assert_eq!(resolve("manifests/images.yaml", "../src/a"), "src/a");
        assert_eq!(resolve("images.yaml", "src/a"), "src/a");
        assert_eq!(resolve("/r/manifests/images.yaml", "../os/x.json"), "/r/os/x.json");
        assert_eq!(resolve("manifests/images.yaml", "../../up"), "../up");
        assert_eq!(join("src/a", "Dockerfile"), "src/a/Dockerfile");
        assert_eq!(join("src/a/", "./sub/../Dockerfile"), "src/a/Dockerfile");
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative("out/manifests", "tests/fixtures/src/a"), "../../tests/fixtures/src/a");
        assert_eq!(relative("manifests", "manifests/x"), "x");
        assert_eq!(relative(".", "src"), "src");
    }
}

//! `.dockerignore` as docker applies it (moby's `patternmatcher`, which BuildKit and the
//! docker CLI use): each pattern is translated to a regular expression exactly as moby does,
//! and a path is excluded when the last pattern matching it or one of its parent directories
//! is not a `!` exception. Source ids leave excluded files out (SPEC §3, docs/PLANNING.md).

use regex::Regex;

use crate::fleet::Variant;
use crate::paths;
use crate::source::SourceTree;

/// One pattern of a `.dockerignore`.
#[derive(Debug, Clone)]
struct Rule {
    re: Regex,
    exception: bool,
}

/// The patterns of one `.dockerignore` file.
#[derive(Debug, Clone)]
pub struct Matcher {
    rules: Vec<Rule>,
}

impl Matcher {
    /// Parses a `.dockerignore` text: `#` lines are comments, lines are trimmed, `!` makes an
    /// exception, a pattern is cleaned (`filepath.Clean`) and loses a leading `/`. A line
    /// docker refuses (a bare `!`, a bad character class) is an error naming its line.
    pub fn parse(text: &str) -> Result<Matcher, String> {
        let mut rules = Vec::new();
        for (n, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
            if raw.starts_with('#') {
                continue;
            }
            let mut line = raw.trim();
            if line.is_empty() {
                continue;
            }
            let exception = line.starts_with('!');
            if exception {
                line = line[1..].trim();
                if line.is_empty() {
                    return Err(format!("line {}: illegal exclusion pattern \"!\"", n + 1));
                }
            }
            // Go's filepath.Clean, as moby does
            let mut pattern = paths::normalize(line);
            if pattern.len() > 1 && pattern.starts_with('/') {
                pattern.remove(0);
            }
            let re = Regex::new(&translate(&pattern)).map_err(|e| format!("line {}: bad pattern '{line}': {e}", n + 1))?;
            rules.push(Rule { re, exception });
        }
        Ok(Matcher { rules })
    }

    /// True when `path` (relative to the context, `/`-separated) is left out of the context.
    pub fn excludes(&self, path: &str) -> bool {
        let parents: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for rule in &self.rules {
            // an exception only matters once excluded, an exclusion only while included
            if rule.exception != excluded {
                continue;
            }
            let hit = rule.re.is_match(path) || (1..parents.len()).any(|i| rule.re.is_match(&parents[..i].join("/")));
            if hit {
                excluded = !rule.exception;
            }
        }
        excluded
    }
}

/// moby's `Pattern.compile`: `*` is any run without `/`, `?` one character but `/`, `**`
/// any number of directories (a trailing `**` anything), `\` escapes, `[…]` is a class.
fn translate(pattern: &str) -> String {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                re.push_str(if i == chars.len() { ".*" } else { "(.*/)?" });
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(c);
            }
            '\\' => match chars.get(i) {
                Some(&next) => {
                    i += 1;
                    re.push_str(&regex::escape(&next.to_string()));
                }
                None => re.push_str("\\\\"),
            },
            _ => re.push(c),
        }
    }
    re.push('$');
    re
}

/// The `.dockerignore` that applies to variant `v`, as BuildKit picks it: `<Dockerfile>.dockerignore`
/// next to its Dockerfile, else `.dockerignore` at the context's root; `Ok(None)` without one.
pub fn for_variant(v: &Variant, tree: &dyn SourceTree) -> Result<Option<Matcher>, String> {
    let candidates = [format!("{}.dockerignore", v.dockerfile), paths::join(&v.context, ".dockerignore")];
    for path in candidates {
        if let Some(text) = tree.read(&path) {
            return Matcher::parse(&text).map(Some).map_err(|e| format!("read '{path}': {e}"));
        }
    }
    Ok(None)
}

#[cfg(test)]
#[path = "dockerignore_tests.rs"]
mod tests;

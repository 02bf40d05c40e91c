//! The `imgctl` command lines of the workflows' `run:` scripts: found, expanded as bash
//! would, and parsed against the real CLI.

use serde_yaml_ng::Value;

use super::{WORKFLOWS, load, s};

/// One `imgctl …` command line found in a step's `run:` script.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub workflow: String,
    pub job: String,
    pub step: String,
    /// The command as written (continuations joined), from `imgctl` to the end of the command.
    pub raw: String,
}

/// Every `imgctl` command line of a workflow document, in order.
pub fn invocations(workflow: &str, doc: &Value) -> Vec<Invocation> {
    let mut out = Vec::new();
    let jobs = doc["jobs"].as_mapping().expect("jobs");
    for (job, body) in jobs {
        for (i, step) in body["steps"].as_sequence().into_iter().flatten().enumerate() {
            let Some(run) = step.get("run").and_then(Value::as_str) else { continue };
            let name = step.get("name").and_then(Value::as_str).map_or_else(|| format!("step {i}"), str::to_string);
            for raw in commands_in(run) {
                out.push(Invocation { workflow: workflow.into(), job: s(job).into(), step: name.clone(), raw });
            }
        }
    }
    out
}

/// The `imgctl` commands of a shell script: at the start of a command (line start, after
/// `$(`, `;`, `&&`, `||`, `|`, `{`, `then`, `do`), up to the end of that command.
pub fn commands_in(script: &str) -> Vec<String> {
    let joined = script.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut from = 0;
        while let Some(pos) = line[from..].find("imgctl").map(|p| p + from) {
            from = pos + "imgctl".len();
            let before = line[..pos].trim_end();
            let at_command = ["", "$(", ";", "&&", "||", "|", "{", "(", "then", "do", "else", "!"]
                .iter()
                .any(|sep| before.ends_with(sep) && (sep.is_empty() && before.is_empty() || !sep.is_empty()));
            let word_ends = line[from..].chars().next().is_none_or(char::is_whitespace);
            if at_command && word_ends {
                out.push(command_end(&line[pos..]).trim().to_string());
            }
        }
    }
    out
}

/// The prefix of `text` up to the first unquoted `)`, `|`, `;`, `&`, `>`, `<` or ` #`.
fn command_end(text: &str) -> &str {
    let (mut single, mut double, mut braces) = (false, false, 0usize);
    let mut prev = ' ';
    for (i, c) in text.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single && prev != '\\' => double = !double,
            '{' if !single && prev == '$' => braces += 1,
            '}' if !single && braces > 0 => braces -= 1,
            ')' | '|' | ';' | '&' | '>' | '<' if !single && !double && braces == 0 => return &text[..i],
            '#' if !single && !double && prev.is_whitespace() => return &text[..i],
            _ => {}
        }
        prev = c;
    }
    text
}

/// The words of `cmd` as bash would pass them: `${{ … }}` becomes `1`, variables come from
/// `var` (`$X`, `${X}`, `"$X"`, `${X:+word}`, `${X:-word}`); unquoted values are split.
pub fn expand(cmd: &str, var: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut text = cmd.to_string();
    while let Some(a) = text.find("${{") {
        let b = text[a..].find("}}").map(|b| a + b + 2).unwrap_or_else(|| panic!("unclosed ${{{{ in {cmd}"));
        text.replace_range(a..b, "1");
    }
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => {
                words.extend(cur.take());
                i += 1;
            }
            '\'' => {
                let end = chars[i + 1..].iter().position(|&c| c == '\'').expect("closing '") + i + 1;
                cur.get_or_insert_default().extend(&chars[i + 1..end]);
                i = end + 1;
            }
            '"' => {
                let w = cur.get_or_insert_default();
                i += 1;
                while chars[i] != '"' {
                    if chars[i] == '$' {
                        let (value, next) = parameter(&chars, i, var);
                        w.push_str(&value.joined());
                        i = next;
                    } else {
                        if chars[i] == '\\' {
                            i += 1;
                        }
                        w.push(chars[i]);
                        i += 1;
                    }
                }
                i += 1;
            }
            '$' => {
                let (fields, next) = parameter(&chars, i, var);
                // unquoted: a plain value is split into words (`${X:+word}` was already split
                // by expanding `word`); the first joins the text right before it, as in bash
                let fields = match fields {
                    Fields::Value(v) => v.split_whitespace().map(str::to_string).collect(),
                    Fields::Words(w) => w,
                };
                for (k, f) in fields.into_iter().enumerate() {
                    if k > 0 {
                        words.extend(cur.take());
                    }
                    cur.get_or_insert_default().push_str(&f);
                }
                i = next;
            }
            '\\' => {
                cur.get_or_insert_default().push(chars[i + 1]);
                i += 2;
            }
            _ => {
                cur.get_or_insert_default().push(c);
                i += 1;
            }
        }
    }
    words.extend(cur);
    words
}

/// What a parameter expands to.
enum Fields {
    /// A variable's value (split into words when unquoted).
    Value(String),
    /// The words of an expanded `${X:+word}` / `${X:-word}`.
    Words(Vec<String>),
}

impl Fields {
    fn joined(self) -> String {
        match self {
            Fields::Value(v) => v,
            Fields::Words(w) => w.join(" "),
        }
    }
}

/// Expands the parameter at `chars[i] == '$'`; returns it and the index after it.
fn parameter(chars: &[char], i: usize, var: &dyn Fn(&str) -> String) -> (Fields, usize) {
    let is_name = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    if chars.get(i + 1) == Some(&'{') {
        let mut depth = 1;
        let mut end = i + 2;
        while depth > 0 {
            match chars[end] {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            end += 1;
        }
        let inner: String = chars[i + 2..end - 1].iter().collect();
        let name: String = inner.chars().take_while(is_name).collect();
        let rest = &inner[name.len()..];
        let value = var(&name);
        let words = if let Some(word) = rest.strip_prefix(":+") {
            Fields::Words(if value.is_empty() { Vec::new() } else { expand(word, var) })
        } else if let Some(word) = rest.strip_prefix(":-") {
            if value.is_empty() { Fields::Words(expand(word, var)) } else { Fields::Value(value) }
        } else if rest.is_empty() {
            Fields::Value(value)
        } else {
            panic!("unsupported parameter expansion ${{{inner}}}")
        };
        (words, end)
    } else {
        let name: String = chars[i + 1..].iter().take_while(|c| is_name(c)).collect();
        assert!(!name.is_empty(), "unsupported `$` form (command substitution?) in an imgctl argument: {}", chars[i..].iter().collect::<String>());
        (Fields::Value(var(&name)), i + 1 + name.len())
    }
}

/// Parses an expanded invocation against the real CLI.
fn parses(words: &[String]) -> Result<(), String> {
    assert_eq!(words.first().map(String::as_str), Some("imgctl"), "{words:?}");
    use clap::Parser as _;
    match imgctl::Cli::try_parse_from(words) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// What every variable stands for in the parse check: set (so `${X:+--flag}` is checked
/// too), and a number (so `--level "$n"` parses) — a duration for the one that is one.
fn placeholder(name: &str) -> String {
    if name == "OLDER_THAN" { "30d".into() } else { "1".into() }
}

#[test]
fn every_imgctl_invocation_in_the_workflows_parses_against_the_cli() {
    let mut subcommands = std::collections::BTreeSet::new();
    for name in WORKFLOWS {
        for inv in invocations(name, &load(name)) {
            let words = expand(&inv.raw, &placeholder);
            if let Err(e) = parses(&words) {
                panic!("{name}, job {}, step '{}': `{}` does not parse: {e}", inv.job, inv.step, inv.raw);
            }
            subcommands.insert(words[1].clone());
        }
    }
    for want in ["validate", "plan", "publish", "promote", "rollback", "status", "history", "gc", "announce", "site"] {
        assert!(subcommands.contains(want), "no workflow runs `imgctl {want}` (found {subcommands:?})");
    }
}

#[test]
fn the_extractor_finds_continued_and_substituted_commands_and_a_bogus_flag_fails() {
    let doc: Value = serde_yaml_ng::from_str(
        r#"
jobs:
  j:
    steps:
      - run: cargo install --locked --path crates/imgctl
      - name: multi-line
        run: |
          # imgctl in a comment is not a command
          m=$(imgctl plan --ref "$GITHUB_SHA" \
                --level "$n" --output github-matrix)
          echo "level$n=$m" >> "$GITHUB_OUTPUT"
          imgctl promote --ref origin/production ${V:+--variant "$V"} ${F:+--force} && echo ok
      - run: imgctl promote --ref ${{ inputs.ref }} --no-such-flag
"#,
    )
    .expect("yaml");
    let found = invocations("t.yml", &doc);
    let raws: Vec<&str> = found.iter().map(|i| i.raw.as_str()).collect();
    assert_eq!(raws.len(), 3, "{raws:?}");
    let vars = |n: &str| match n {
        "GITHUB_SHA" => "abc".to_string(),
        "n" => "2".into(),
        "V" => "a b".into(),
        "F" => String::new(),
        other => panic!("unexpected variable {other}"),
    };
    let w = |i: usize| expand(raws[i], &vars);
    assert_eq!(w(0), ["imgctl", "plan", "--ref", "abc", "--level", "2", "--output", "github-matrix"]);
    assert_eq!(w(1), ["imgctl", "promote", "--ref", "origin/production", "--variant", "a b"]);
    assert!(parses(&w(0)).is_ok() && parses(&w(1)).is_ok());
    assert_eq!(w(2), ["imgctl", "promote", "--ref", "1", "--no-such-flag"]);
    let err = parses(&w(2)).expect_err("a flag the CLI lacks must fail");
    assert!(err.contains("--no-such-flag"), "{err}");
    // every optional flag is checked: with the placeholder, ${F:+--force} expands
    assert!(expand(raws[1], &placeholder).contains(&"--force".to_string()));
}

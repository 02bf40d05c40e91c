//! Where each value of a YAML or JSON document stands: a map from value paths
//! (`variants[3].os`) to line and column, so findings can name `file:line:col`.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScanError};

/// A 1-based line and column in a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, starting at 1.
    pub line: usize,
    /// Column, starting at 1.
    pub col: usize,
}

impl Pos {
    /// The start of a file.
    pub const START: Pos = Pos { line: 1, col: 1 };
}

/// Positions of every key and value of a document, by path.
///
/// Paths are written like `variants[3].qualifiers[0]`; the root is the empty path.
/// For a mapping entry the index holds both the key's position (`key_pos`) and the
/// value's (`pos`); an unknown-field finding points at the key.
#[derive(Debug, Default, Clone)]
pub struct SpanIndex {
    values: HashMap<String, Pos>,
    keys: HashMap<String, Pos>,
}

/// A syntax error found while indexing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// What it said.
    pub message: String,
}

enum Frame {
    Seq { path: String, next: usize },
    Map { path: String, key: Option<String> },
}

/// Deepest nesting the index follows; deeper input is reported as an error
/// rather than risking the stack.
pub const MAX_DEPTH: usize = 64;

impl SpanIndex {
    /// Indexes `text` (YAML 1.2, which includes JSON).
    pub fn build(text: &str) -> Result<SpanIndex, SyntaxError> {
        let mut index = SpanIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        for item in Parser::new_from_str(text) {
            let (event, span) = item.map_err(scan_error)?;
            let pos = Pos { line: span.start.line(), col: span.start.col() + 1 };
            match event {
                Event::Scalar(value, ..) => {
                    if let Some(Frame::Map { path, key }) = stack.last_mut() {
                        if key.is_none() {
                            let child = join_key(path, &value);
                            index.keys.insert(child.clone(), pos);
                            *key = Some(child);
                            continue;
                        }
                    }
                    let path = child_path(&mut stack);
                    index.values.entry(path).or_insert(pos);
                }
                Event::Alias(_) => {
                    let path = child_path(&mut stack);
                    index.values.entry(path).or_insert(pos);
                }
                Event::SequenceStart(..) | Event::MappingStart(..) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(SyntaxError {
                            pos,
                            message: format!("nesting deeper than {MAX_DEPTH} levels"),
                        });
                    }
                    let path = child_path(&mut stack);
                    index.values.entry(path.clone()).or_insert(pos);
                    stack.push(match event {
                        Event::SequenceStart(..) => Frame::Seq { path, next: 0 },
                        _ => Frame::Map { path, key: None },
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        Ok(index)
    }

    /// Position of the value at `path`, or of its nearest indexed ancestor.
    pub fn pos(&self, path: &str) -> Pos {
        let mut p = path;
        loop {
            if let Some(pos) = self.values.get(p) {
                return *pos;
            }
            match parent(p) {
                Some(up) => p = up,
                None => return Pos::START,
            }
        }
    }

    /// Position of the key of the mapping entry at `path` (falls back to [`Self::pos`]).
    pub fn key_pos(&self, path: &str) -> Pos {
        self.keys.get(path).copied().unwrap_or_else(|| self.pos(path))
    }
}

fn scan_error(e: ScanError) -> SyntaxError {
    SyntaxError {
        pos: Pos { line: e.marker().line(), col: e.marker().col() + 1 },
        message: e.info().to_string(),
    }
}

/// The path of the value the next event describes, advancing the parent frame.
fn child_path(stack: &mut [Frame]) -> String {
    match stack.last_mut() {
        None => String::new(),
        Some(Frame::Seq { path, next }) => {
            let p = format!("{path}[{next}]");
            *next += 1;
            p
        }
        Some(Frame::Map { key, path }) => key.take().unwrap_or_else(|| path.clone()),
    }
}

fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// Joins a path and an index: `index_path("variants", 3)` is `variants[3]`.
pub fn at(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Joins a path and a key: `key_path("variants[3]", "os")` is `variants[3].os`.
pub fn field(path: &str, key: &str) -> String {
    join_key(path, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_yaml_paths() {
        let text = "version: 1\nvariants:\n  - os: A\n    qualifiers: [x, y]\n  - os: B\n";
        let idx = SpanIndex::build(text).unwrap();
        assert_eq!(idx.pos("version"), Pos { line: 1, col: 10 });
        assert_eq!(idx.pos("variants[0].os"), Pos { line: 3, col: 9 });
        assert_eq!(idx.key_pos("variants[0].os"), Pos { line: 3, col: 5 });
        assert_eq!(idx.pos("variants[0].qualifiers[1]"), Pos { line: 4, col: 21 });
        assert_eq!(idx.pos("variants[1].os"), Pos { line: 5, col: 9 });
        // unknown paths fall back to the nearest ancestor
        assert_eq!(idx.pos("variants[1].context"), Pos { line: 5, col: 5 });
    }

    #[test]
    fn indexes_json() {
        let text = "{\n  \"definitions\": [\n    { \"id\": \"x\" }\n  ]\n}\n";
        let idx = SpanIndex::build(text).unwrap();
        assert_eq!(idx.pos("definitions[0].id").line, 3);
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        let err = SpanIndex::build("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1);
    }

    #[test]
    fn refuses_deep_nesting() {
        let text = "[".repeat(200) + &"]".repeat(200);
        assert!(SpanIndex::build(&text).is_err());
    }
}

//! The working tree as a [`SourceTree`]: files read from disk, and for each directory the
//! git tree id its content would have if committed (`git add -A`: tracked files, plus
//! untracked ones `.gitignore` does not exclude), hashed in memory — nothing is written to
//! the repository. A clean working tree gives exactly `HEAD`'s tree ids.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use git2::{Index, ObjectType, Oid, Repository};
use imgctl_core::load::MAX_INPUT_BYTES;
use imgctl_core::source::{EntryKind, SourceTree};

use crate::revision::inside;

const MODE_TREE: u32 = 0o040000;
const MODE_FILE: u32 = 0o100644;
const MODE_EXEC: u32 = 0o100755;
const MODE_LINK: u32 = 0o120000;
const MODE_GITLINK: u32 = 0o160000;

/// The working tree of a repository. Paths are repository-relative.
///
/// Blobs are hashed from the bytes on disk: clean/smudge filters (`core.autocrlf`, LFS)
/// are not applied, so a checkout that relies on them differs from its commit.
pub struct WorkTree<'r> {
    repo: &'r Repository,
    root: PathBuf,
    index: Index,
    filemode: bool,
    cache: RefCell<HashMap<String, Option<Oid>>>,
}

impl std::fmt::Debug for WorkTree<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkTree").field("root", &self.root).finish_non_exhaustive()
    }
}

impl<'r> WorkTree<'r> {
    /// The working tree of `repo` (which must not be bare), rooted at `root`.
    pub fn new(repo: &'r Repository, root: PathBuf) -> Result<WorkTree<'r>, git2::Error> {
        let index = repo.index()?;
        let filemode = repo.config().and_then(|c| c.get_bool("core.filemode")).unwrap_or(true);
        Ok(WorkTree { repo, root, index, filemode, cache: RefCell::new(HashMap::new()) })
    }

    fn disk(&self, path: &str) -> Option<PathBuf> {
        let p = inside(path)?;
        Some(if p.is_empty() { self.root.clone() } else { self.root.join(p) })
    }

    fn tracked(&self, rel: &str) -> Option<git2::IndexEntry> {
        self.index.get_path(Path::new(rel), 0)
    }

    /// True when some tracked file lies under directory `rel`.
    fn tracks_under(&self, rel: &str) -> bool {
        let prefix = format!("{rel}/");
        self.index
            .find_prefix(Path::new(&prefix))
            .ok()
            .and_then(|i| self.index.get(i))
            .is_some_and(|e| e.path.starts_with(prefix.as_bytes()))
    }

    fn ignored(&self, rel: &str) -> bool {
        self.repo.is_path_ignored(rel).unwrap_or(false)
    }

    /// The tree id of directory `rel` ("" for the root), `None` when it would be empty.
    fn hash_dir(&self, rel: &str) -> Option<Oid> {
        if let Some(hit) = self.cache.borrow().get(rel) {
            return *hit;
        }
        let oid = self.compute_dir(rel);
        self.cache.borrow_mut().insert(rel.to_string(), oid);
        oid
    }

    /// The entries of directory `rel` as git would store them (`.git` and ignored untracked
    /// files left out): `(name, repository-relative path, mode, id)`.
    fn entries(&self, rel: &str) -> Option<Vec<(String, String, u32, Oid)>> {
        let dir = if rel.is_empty() { self.root.clone() } else { self.root.join(rel) };
        let mut out = Vec::new();
        for item in std::fs::read_dir(&dir).ok()? {
            let Ok(item) = item else { continue };
            let name = item.file_name();
            let Some(name) = name.to_str().filter(|n| *n != ".git") else { continue };
            let child = if rel.is_empty() { name.to_string() } else { format!("{rel}/{name}") };
            if let Some((mode, oid)) = self.entry(&item.path(), &child) {
                out.push((name.to_string(), child, mode, oid));
            }
        }
        Some(out)
    }

    /// [`hash_dir`](Self::hash_dir) with the files `keep` refuses (given their path below
    /// `top`) left out; not cached.
    fn filtered_dir(&self, rel: &str, top: &str, keep: &dyn Fn(&str) -> bool) -> Option<Oid> {
        let mut entries: Vec<(Vec<u8>, u32, Oid)> = Vec::new();
        for (name, child, mode, oid) in self.entries(rel)? {
            let below = child.strip_prefix(top).unwrap_or(&child).trim_start_matches('/');
            let oid = if mode == MODE_TREE { self.filtered_dir(&child, top, keep) } else { keep(below).then_some(oid) };
            entries.extend(oid.map(|oid| (name.into_bytes(), mode, oid)));
        }
        (!entries.is_empty()).then(|| tree_oid(entries))
    }

    fn compute_dir(&self, rel: &str) -> Option<Oid> {
        let entries: Vec<(Vec<u8>, u32, Oid)> = self.entries(rel)?.into_iter().map(|(name, _, mode, oid)| (name.into_bytes(), mode, oid)).collect();
        (!entries.is_empty()).then(|| tree_oid(entries))
    }

    fn entry(&self, path: &Path, child: &str) -> Option<(u32, Oid)> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        let tracked = self.tracked(child);
        if meta.is_dir() {
            if path.join(".git").exists() {
                // a nested repository: git records its commit (as the index does)
                return tracked.filter(|e| e.mode == MODE_GITLINK).map(|e| (MODE_GITLINK, e.id));
            }
            if self.ignored(&format!("{child}/")) && !self.tracks_under(child) {
                return None;
            }
            return self.hash_dir(child).map(|oid| (MODE_TREE, oid));
        }
        if tracked.is_none() && self.ignored(child) {
            return None;
        }
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(path).ok()?;
            let bytes = target.to_str()?.as_bytes().to_vec();
            return Oid::hash_object(ObjectType::Blob, &bytes).ok().map(|o| (MODE_LINK, o));
        }
        if !meta.is_file() {
            return None;
        }
        let mode = match (&tracked, self.filemode) {
            (Some(e), false) if e.mode == MODE_EXEC || e.mode == MODE_FILE => e.mode,
            _ if is_executable(&meta) => MODE_EXEC,
            _ => MODE_FILE,
        };
        Oid::hash_file(ObjectType::Blob, path).ok().map(|o| (mode, o))
    }
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

/// Hashes a tree object the way git writes it: entries sorted by name, a directory's
/// name compared as if it ended in `/`; each `{mode octal} {name}\0{20-byte id}`.
pub(crate) fn tree_oid(mut entries: Vec<(Vec<u8>, u32, Oid)>) -> Oid {
    let key = |(name, mode, _): &(Vec<u8>, u32, Oid)| {
        let mut k = name.clone();
        if *mode == MODE_TREE {
            k.push(b'/');
        }
        k
    };
    entries.sort_by_key(key);
    let mut bytes = Vec::new();
    for (name, mode, oid) in &entries {
        bytes.extend_from_slice(format!("{mode:o} ").as_bytes());
        bytes.extend_from_slice(name);
        bytes.push(0);
        bytes.extend_from_slice(oid.as_bytes());
    }
    Oid::hash_object(ObjectType::Tree, &bytes).unwrap_or(Oid::ZERO_SHA1)
}

/// What is at `path` on disk (`None`: nothing).
pub fn disk_kind(path: &Path) -> Option<EntryKind> {
    let meta = std::fs::metadata(path).ok()?;
    Some(if meta.is_dir() {
        EntryKind::Dir
    } else if meta.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    })
}

/// The text of the file at `path`, unless it is missing, unreadable or larger than
/// [`MAX_INPUT_BYTES`].
pub fn disk_read(path: &Path) -> Option<String> {
    if std::fs::metadata(path).ok()?.len() > MAX_INPUT_BYTES as u64 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

impl SourceTree for WorkTree<'_> {
    fn kind(&self, path: &str) -> Option<EntryKind> {
        disk_kind(&self.disk(path)?)
    }

    fn read(&self, path: &str) -> Option<String> {
        disk_read(&self.disk(path)?)
    }

    fn tree_id(&self, dir: &str) -> Option<String> {
        let rel = inside(dir)?;
        if !self.disk(&rel)?.is_dir() {
            return None;
        }
        // an empty directory: git's empty tree
        Some(self.hash_dir(&rel).unwrap_or_else(|| tree_oid(Vec::new())).to_string())
    }

    fn filtered_tree_id(&self, dir: &str, keep: &dyn Fn(&str) -> bool) -> Option<String> {
        let rel = inside(dir)?;
        if !self.disk(&rel)?.is_dir() {
            return None;
        }
        Some(self.filtered_dir(&rel, &rel, keep).unwrap_or_else(|| tree_oid(Vec::new())).to_string())
    }
}

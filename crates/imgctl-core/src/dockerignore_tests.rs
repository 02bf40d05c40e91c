//! `.dockerignore` matching against moby's rules, case by case.

use super::Matcher;

fn m(text: &str) -> Matcher {
    Matcher::parse(text).expect("parse")
}

#[test]
fn patterns_are_anchored_at_the_context_root_and_match_parents() {
    let x = m("# comment\nnested\n/tmp/*.log\n  docs/  \n");
    assert!(x.excludes("nested") && x.excludes("nested/amd64/Dockerfile"));
    assert!(!x.excludes("a/nested"), "unlike .gitignore, a name matches only at the root");
    assert!(x.excludes("tmp/a.log") && !x.excludes("tmp/sub/a.log") && !x.excludes("tmp/a.txt"));
    assert!(x.excludes("docs/x.md"), "trimmed, trailing / cleaned");
    assert!(!x.excludes("# comment"));
}

#[test]
fn double_star_question_mark_classes_and_escapes() {
    let x = m("**/*.bak\nbuild/**\nf?o\n[ab].txt\n[^c]x\n\\*lit\n{a,b}\n");
    assert!(x.excludes("x.bak") && x.excludes("a/b/x.bak") && !x.excludes("x.bak2"));
    assert!(x.excludes("build/out/bin") && !x.excludes("builds"));
    assert!(x.excludes("foo") && !x.excludes("f/o"));
    assert!(x.excludes("a.txt") && !x.excludes("c.txt"));
    assert!(x.excludes("dx") && !x.excludes("cx"));
    assert!(x.excludes("*lit") && !x.excludes("xlit"));
    assert!(x.excludes("{a,b}") && !x.excludes("a"), "braces are literal for docker");
}

#[test]
fn the_last_matching_pattern_wins_and_exceptions_reinclude() {
    let x = m("*.md\n!README.md\nsub\n!sub/keep\n");
    assert!(x.excludes("a.md") && !x.excludes("README.md"));
    assert!(x.excludes("sub/x") && !x.excludes("sub/keep") && !x.excludes("sub/keep/deep"));
    let y = m("!README.md\n*.md\n");
    assert!(y.excludes("README.md"), "a later exclusion wins over an earlier exception");
}

#[test]
fn lines_docker_refuses_are_errors_naming_the_line() {
    assert_eq!(Matcher::parse("a\n!\n").unwrap_err(), "line 2: illegal exclusion pattern \"!\"");
    let e = Matcher::parse("ok\n[z-a]\n").unwrap_err();
    assert!(e.starts_with("line 2: bad pattern '[z-a]'"), "{e}");
}

mod ids {
    use proptest::prelude::*;

    use crate::graph::Graph;
    use crate::sourceid::SourceIds;
    use crate::testtree::{MANIFEST, MemTree, files, fleet};

    /// The test fleet's ids, with `extra` files added and `.dockerignore`s per context.
    fn ids(tree: &MemTree) -> SourceIds {
        let f = fleet(MANIFEST);
        let g = Graph::build(&f, tree);
        SourceIds::compute(&f, &g, tree)
    }

    #[test]
    fn a_context_without_dockerignore_keeps_its_id_and_an_ignored_dockerfile_is_still_hashed() {
        let before = ids(&files());
        let mut t = files();
        t.set("src/base/.dockerignore", "setup.sh\n");
        let after = ids(&t);
        assert_ne!(after.ids["ubuntu-22.04-base-amd64"], before.ids["ubuntu-22.04-base-amd64"], "the context changed: setup.sh left it");
        assert_eq!(after.ids["ubuntu-22.04-other-arm64v8"], before.ids["ubuntu-22.04-other-arm64v8"]);
        t.set("src/base/setup.sh", "echo changed\n");
        assert_eq!(ids(&t).ids, after.ids, "an ignored file's change rebuilds nothing");
        // the Dockerfile excluded from the context still decides the build
        t.set("src/base/.dockerignore", "*\n");
        let x = ids(&t);
        t.set("src/base/Dockerfile", "FROM ubuntu:24.04\n");
        assert_ne!(ids(&t).ids["ubuntu-22.04-base-amd64"], x.ids["ubuntu-22.04-base-amd64"]);
        // a line docker refuses: no id, saying which file and line
        t.set("src/base/.dockerignore", "!\n");
        assert_eq!(ids(&t).missing["ubuntu-22.04-base-amd64"], "read 'src/base/.dockerignore': line 1: illegal exclusion pattern \"!\"");
        // <Dockerfile>.dockerignore wins over the context's
        let mut t = files();
        t.set("src/base/.dockerignore", "setup.sh\n");
        t.set("src/base/Dockerfile.dockerignore", "nothing\n");
        let x = ids(&t);
        t.set("src/base/setup.sh", "echo changed\n");
        assert_ne!(ids(&t).ids["ubuntu-22.04-base-amd64"], x.ids["ubuntu-22.04-base-amd64"], "setup.sh is in the context");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Adding a file that a context's .dockerignore excludes never changes any source id.
        #[test]
        fn adding_an_ignored_file_never_changes_a_source_id(
            ctx in prop::sample::select(vec!["src/base", "src/mid", "src/leaf", "src/other"]),
            pattern in prop::sample::select(vec!["*.log", "tmp", "**/cache", "nested/**", "out/*", "!keep\ndata"]),
            name in "[a-z]{1,6}",
            text in "[a-z ]{0,12}",
        ) {
            let mut t = files();
            t.set(&format!("{ctx}/.dockerignore"), &format!("{pattern}\n"));
            let before = ids(&t);
            let path = match pattern {
                "*.log" => format!("{name}.log"),
                "tmp" => format!("tmp/{name}"),
                "**/cache" => format!("{name}/deep/cache"),
                "nested/**" => format!("nested/{name}/Dockerfile"),
                "out/*" => format!("out/{name}"),
                _ => format!("data/{name}"),
            };
            t.set(&format!("{ctx}/{path}"), &text);
            prop_assert_eq!(ids(&t), before);
        }
    }
}

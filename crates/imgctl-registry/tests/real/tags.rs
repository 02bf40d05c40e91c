//! Listing every tag of a repository holding 2,500 tags, sorted.

use std::time::Instant;

use futures_util::StreamExt;
use imgctl_registry::{Access, Registry};
use imgctl_testkit::{Fault, FaultPlan, PathKind};
use imgctl_testkit::images::{Flavor, image, push_image};

use crate::Setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_all_2500_tags_sorted() {
    let s = Setup::anonymous();
    let img = image(Flavor::Oci, "amd64", 1, 40);
    push_image(&s.direct, "many", "seed", &img).await;
    let mut want: Vec<String> = (0..2500).map(|i| format!("t{}", (i * 7919) % 2500)).collect();
    let started = Instant::now();
    let puts = futures_util::stream::iter(want.clone()).map(|t| {
        let (c, m) = (&s.direct, &img.manifest);
        async move { c.put_manifest("many", &t, m).await }
    });
    let results: Vec<_> = puts.buffer_unordered(16).collect().await;
    assert!(results.iter().all(Result::is_ok));
    eprintln!("pushed 2,500 tags in {:?}", started.elapsed());
    want.push("seed".into());
    want.sort();

    s.ready("many", Access::Pull).await;
    let started = Instant::now();
    let tags = s.via.list_tags("many").await.unwrap();
    eprintln!("listed {} tags in {:?} with {} request(s)", tags.len(), started.elapsed(), s.proxy.counts().kind(PathKind::TagsList));
    assert_eq!(tags.len(), 2501);
    assert_eq!(tags, want);
    assert!(s.via.list_tags("never-pushed").await.unwrap().is_empty());

    // Sorted by the client, whatever order the registry answers in.
    s.proxy.set_faults(FaultPlan::always(Fault::ReverseTags));
    assert_eq!(s.via.list_tags("many").await.unwrap(), want);

    // A registry that pages but ignores `last` (the next page repeats the list): paging stops
    // on the first page that adds nothing.
    s.proxy.reset();
    s.proxy.set_faults(FaultPlan::always(Fault::NextLink));
    assert_eq!(s.via.list_tags("many").await.unwrap(), want);
    assert_eq!(s.proxy.counts().kind(PathKind::TagsList), 2);
}

//! imgctl's static fleet site (docs/SITE.md): the engine's [`SiteData`] rendered into files
//! — `index.html`, `variants/V.html`, `digests/sha256-HEX.html`, `eol.html`, `fleet.json`,
//! `feeds/*.atom`, `site.css`, `site.js`. Pure: no I/O; the CLI writes what [`render`]
//! returns. HTML through `maud` (escaped by default); every link relative, nothing fetched.

use imgctl_engine::site::SiteData;

mod digest;
mod eol;
mod feeds;
mod fleet;
mod json;
mod page;
mod variant;

pub use feeds::{FLEET_ENTRIES, VARIANT_ENTRIES};
pub use page::{digest_path, variant_path};

/// The style sheet.
const CSS: &str = include_str!("../assets/site.css");
/// The filter script (vanilla, no dependencies).
const JS: &str = include_str!("../assets/site.js");

/// Every file of the site: (path relative to the output folder, bytes). The pages are
/// rendered on `threads` threads at once (they only read `data`; the caller says how many);
/// the files and their order are the same for any number.
pub fn render(data: &SiteData, threads: usize) -> Vec<(String, Vec<u8>)> {
    let mut jobs = vec![Job::Index, Job::Eol, Job::Json, Job::FleetFeed, Job::Css, Job::Js];
    for v in &data.status.variants {
        jobs.push(Job::Variant(v));
        jobs.push(Job::VariantFeed(&v.variant));
    }
    jobs.extend(data.digests.values().map(Job::Digest));
    let threads = threads.max(1);
    let mut out: Vec<Option<(String, Vec<u8>)>> = vec![None; jobs.len()];
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let jobs = &jobs;
                scope.spawn(move || jobs.iter().enumerate().skip(t).step_by(threads).map(|(i, j)| (i, j.render(data))).collect::<Vec<_>>())
            })
            .collect();
        for w in workers {
            // a page that panics is a bug: let it surface as the panic it is
            for (i, file) in w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)) {
                out[i] = Some(file);
            }
        }
    });
    out.into_iter().flatten().collect()
}

/// One file to render.
enum Job<'a> {
    Index,
    Eol,
    Json,
    FleetFeed,
    Css,
    Js,
    Variant(&'a imgctl_engine::status::VariantStatus),
    VariantFeed(&'a str),
    Digest(&'a imgctl_engine::site::DigestFacts),
}

impl Job<'_> {
    fn render(&self, data: &SiteData) -> (String, Vec<u8>) {
        let html = |m: maud::Markup| m.into_string().into_bytes();
        match self {
            Job::Index => ("index.html".to_string(), html(fleet::render(data))),
            Job::Eol => ("eol.html".to_string(), html(eol::render(data))),
            Job::Json => ("fleet.json".to_string(), json::render(data)),
            Job::FleetFeed => ("feeds/fleet.atom".to_string(), feeds::fleet(data)),
            Job::Css => ("site.css".to_string(), CSS.as_bytes().to_vec()),
            Job::Js => ("site.js".to_string(), JS.as_bytes().to_vec()),
            Job::Variant(v) => (variant_path(&v.variant), html(variant::render(data, v))),
            Job::VariantFeed(v) => (page::feed_path(v), feeds::variant(data, v)),
            Job::Digest(f) => (digest_path(&f.digest), html(digest::render(data, f))),
        }
    }
}

#[cfg(test)]
mod tests;

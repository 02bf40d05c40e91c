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

/// Every file of the site: (path relative to the output folder, bytes).
pub fn render(data: &SiteData) -> Vec<(String, Vec<u8>)> {
    let html = |m: maud::Markup| m.into_string().into_bytes();
    let mut out = vec![
        ("index.html".to_string(), html(fleet::render(data))),
        ("eol.html".to_string(), html(eol::render(data))),
        ("fleet.json".to_string(), json::render(data)),
        ("feeds/fleet.atom".to_string(), feeds::fleet(data)),
        ("site.css".to_string(), CSS.as_bytes().to_vec()),
        ("site.js".to_string(), JS.as_bytes().to_vec()),
    ];
    for v in &data.status.variants {
        out.push((variant_path(&v.variant), html(variant::render(data, v))));
        out.push((format!("feeds/{}.atom", v.variant), feeds::variant(data, &v.variant)));
    }
    for f in data.digests.values() {
        out.push((digest_path(&f.digest), html(digest::render(data, f))));
    }
    out
}

#[cfg(test)]
mod tests;

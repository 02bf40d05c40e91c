//! Writing test images as OCI image layouts (a directory or a tarball), as
//! `docker buildx build --output type=oci` does, for `imgctl publish --image`.

use std::fs;
use std::path::Path;

use imgctl_registry::RawManifest;
use serde_json::json;

use crate::images::{TestImage, TestIndex};

fn write_blob(dir: &Path, digest: &str, bytes: &[u8]) {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    let path = dir.join("blobs/sha256").join(hex);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir blobs");
    fs::write(path, bytes).expect("write blob");
}

fn write_image_blobs(dir: &Path, image: &TestImage) {
    for b in &image.blobs {
        write_blob(dir, &b.digest, &b.bytes);
    }
    write_blob(dir, &image.manifest.digest, &image.manifest.bytes);
}

fn finish(dir: &Path, top: &RawManifest) {
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).expect("write oci-layout");
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": top.media_type, "digest": top.digest, "size": top.bytes.len()}],
    });
    fs::write(dir.join("index.json"), serde_json::to_vec_pretty(&index).expect("index")).expect("write index.json");
}

/// Writes `image` as an OCI layout in `dir`.
pub fn write_image(dir: &Path, image: &TestImage) {
    write_image_blobs(dir, image);
    finish(dir, &image.manifest);
}

/// Writes the multi-arch `index` as an OCI layout in `dir`.
pub fn write_index(dir: &Path, index: &TestIndex) {
    for i in &index.images {
        write_image_blobs(dir, i);
    }
    write_blob(dir, &index.manifest.digest, &index.manifest.bytes);
    finish(dir, &index.manifest);
}

/// Packs the layout in `dir` into the tarball `tar_path`.
pub fn tar_layout(dir: &Path, tar_path: &Path) {
    let file = fs::File::create(tar_path).expect("create tarball");
    let mut builder = tar::Builder::new(file);
    builder.append_dir_all(".", dir).expect("pack layout");
    builder.finish().expect("finish tarball");
}

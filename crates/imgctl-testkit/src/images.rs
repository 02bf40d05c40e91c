//! Test images: random small layers, single-arch manifests (OCI and Docker v2 media types),
//! multi-arch OCI indexes, and pushing them through any [`Registry`].

use bytes::Bytes;
use imgctl_registry::digest::sha256;
use imgctl_registry::{BlobSource, DOCKER_MANIFEST, Descriptor, OCI_INDEX, OCI_MANIFEST, RawManifest, Registry};
use serde_json::json;

/// Which media types a single-arch image uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `application/vnd.oci.image.manifest.v1+json`.
    Oci,
    /// `application/vnd.docker.distribution.manifest.v2+json`.
    Docker,
}

/// A blob with its digest.
#[derive(Debug, Clone)]
pub struct Blob {
    /// `sha256:…`.
    pub digest: String,
    /// Content.
    pub bytes: Bytes,
    /// Media type in the manifest.
    pub media_type: String,
}

impl Blob {
    fn new(bytes: Vec<u8>, media_type: &str) -> Blob {
        Blob { digest: sha256(&bytes), bytes: bytes.into(), media_type: media_type.to_owned() }
    }

    fn descriptor(&self) -> serde_json::Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.bytes.len()})
    }
}

/// A single-arch image: manifest, config and layers.
#[derive(Debug, Clone)]
pub struct TestImage {
    /// The manifest as pushed (pretty-printed: re-serialising would change its digest).
    pub manifest: RawManifest,
    /// Config first, then layers.
    pub blobs: Vec<Blob>,
    /// `os/arch`.
    pub platform: (String, String),
}

/// A multi-arch OCI image index and its images.
#[derive(Debug, Clone)]
pub struct TestIndex {
    /// The index as pushed.
    pub manifest: RawManifest,
    /// Its images.
    pub images: Vec<TestImage>,
}

/// `size` random bytes from `seed`.
pub fn random_bytes(seed: u64, size: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..size).map(|_| rng.u8(..)).collect()
}

/// A single-arch linux image for `arch` with `layers` random layers of a few KiB.
pub fn image(flavor: Flavor, arch: &str, layers: usize, seed: u64) -> TestImage {
    let (layer_type, config_type, manifest_type) = match flavor {
        Flavor::Oci => ("application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.config.v1+json", OCI_MANIFEST),
        Flavor::Docker => ("application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.docker.container.image.v1+json", DOCKER_MANIFEST),
    };
    let layers: Vec<Blob> = (0..layers).map(|i| Blob::new(random_bytes(seed.wrapping_mul(31).wrapping_add(i as u64), 2048 + i * 512), layer_type)).collect();
    let config = json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Env": [format!("IMGCTL_TEST_SEED={seed}")]},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>()},
    });
    let config = Blob::new(serde_json::to_vec(&config).expect("serialise config"), config_type);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": config.descriptor(),
        "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec_pretty(&manifest).expect("serialise manifest");
    let mut blobs = vec![config];
    blobs.extend(layers);
    TestImage { manifest: RawManifest::from_bytes(bytes), blobs, platform: ("linux".into(), arch.into()) }
}

/// A single-arch OCI image with one given layer (e.g. a large one for benchmarks).
pub fn image_with_layer(arch: &str, layer: Vec<u8>, seed: u64) -> TestImage {
    image_of_layers(arch, vec![(layer, LAYER_TAR)], seed)
}

/// A layer media type: a tar (OCI).
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// A layer media type: a gzip-compressed tar (OCI).
pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A tar archive of `entries` (path, content), in order. Whiteouts are entries too, as image
/// builders write them: `dir/.wh.NAME` deletes `dir/NAME` of the layers below,
/// `dir/.wh..wh..opq` hides everything below in `dir`.
pub fn tar_layer(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, path, *data).expect("append to tar layer");
    }
    b.into_inner().expect("finish tar layer")
}

/// `bytes` gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

/// A single-arch linux OCI image for `arch` whose layers are `layers` (bytes, media type),
/// bottom first.
pub fn image_of_layers(arch: &str, layers: Vec<(Vec<u8>, &str)>, seed: u64) -> TestImage {
    let layers: Vec<Blob> = layers.into_iter().map(|(bytes, media_type)| Blob::new(bytes, media_type)).collect();
    let config = json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Env": [format!("IMGCTL_TEST_SEED={seed}")]},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>()},
    });
    let config = Blob::new(serde_json::to_vec(&config).expect("serialise config"), "application/vnd.oci.image.config.v1+json");
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.descriptor(), "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>()});
    let bytes = serde_json::to_vec_pretty(&manifest).expect("serialise manifest");
    let mut blobs = vec![config];
    blobs.extend(layers);
    TestImage { manifest: RawManifest::from_bytes(bytes), blobs, platform: ("linux".into(), arch.into()) }
}

/// An OCI image index over `images`.
pub fn index(images: Vec<TestImage>) -> TestIndex {
    let manifests: Vec<_> = images
        .iter()
        .map(|i| {
            json!({
                "mediaType": i.manifest.media_type,
                "digest": i.manifest.digest,
                "size": i.manifest.bytes.len(),
                "platform": {"os": i.platform.0, "architecture": i.platform.1},
            })
        })
        .collect();
    let idx = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    TestIndex { manifest: RawManifest::from_bytes(serde_json::to_vec_pretty(&idx).expect("serialise index")), images }
}

/// Pushes the image's blobs (skipping those present) and its manifest under `tag`.
pub async fn push_image<R: Registry>(registry: &R, repo: &str, tag: &str, image: &TestImage) -> Descriptor {
    for b in &image.blobs {
        if !registry.blob_exists(repo, &b.digest).await.expect("check blob") {
            registry.push_blob(repo, &b.digest, &BlobSource::Bytes(b.bytes.clone())).await.expect("push blob");
        }
    }
    registry.put_manifest(repo, tag, &image.manifest).await.expect("push manifest")
}

/// Pushes every image of the index by digest, then the index under `tag`.
pub async fn push_index<R: Registry>(registry: &R, repo: &str, tag: &str, index: &TestIndex) -> Descriptor {
    for i in &index.images {
        push_image(registry, repo, &i.manifest.digest, i).await;
    }
    registry.put_manifest(repo, tag, &index.manifest).await.expect("push index")
}

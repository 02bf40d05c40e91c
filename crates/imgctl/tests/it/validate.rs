//! `imgctl validate` on good and bad manifests.

use crate::support::Sandbox;

#[test]
fn placeholder_sample_validates() {
    let sb = Sandbox::new();
    sb.write("src/u/Dockerfile", "FROM scratch\n");
    sb.write("os-definitions/os-definitions.json", r#"{ "definitions": [ { "id": "Linux-Ubuntu-22.04-AMD64", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu", "version": "22.04", "arch": "AMD64" } ] }"#);
    sb.write("manifests/images.yaml", "version: 1\nregistry: ghcr.io\nrepository: acme/x\nosDefinitions: ../os-definitions/os-definitions.json\ntagSchema:\n  arch: { AMD64: amd64 }\n  defaultArch: AMD64\nchannels:\n  staging: { suffix: -staging }\nvariants:\n  - os: Linux-Ubuntu-22.04-AMD64\n    context: ../src/u\n");
    sb.run(&["validate"]).code(0);
}

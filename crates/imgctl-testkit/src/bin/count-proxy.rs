//! `count-proxy UPSTREAM OUT CMD ARG…`: runs CMD with `IMGCTL_REGISTRY` pointed at a counting
//! proxy in front of UPSTREAM (`host:port`, plain HTTP), then writes the requests the proxy saw,
//! by method and path kind, to OUT as JSON. `scripts/bench` uses it to report requests per
//! variant. Exits with CMD's exit code.

use std::collections::BTreeMap;
use std::process::Command;

use imgctl_testkit::Proxy;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [upstream, out, cmd, rest @ ..] = args.as_slice() else {
        panic!("usage: count-proxy UPSTREAM OUT CMD [ARG...]");
    };
    let proxy = Proxy::start(upstream);
    let status = Command::new(cmd)
        .args(rest)
        .env("IMGCTL_REGISTRY", proxy.host())
        .env("IMGCTL_INSECURE_REGISTRIES", proxy.host())
        .status()
        .unwrap_or_else(|e| panic!("run {cmd}: {e}"));
    let counts: BTreeMap<String, u64> = proxy.counts().0.into_iter().map(|((method, kind), n)| (format!("{method} {kind:?}"), n)).collect();
    std::fs::write(out, serde_json::to_string_pretty(&counts).expect("counts as JSON")).unwrap_or_else(|e| panic!("write {out}: {e}"));
    std::process::exit(status.code().unwrap_or(1));
}

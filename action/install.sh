#!/usr/bin/env bash
# Installs imgctl for the runner's OS and architecture (the composite action `action.yml`
# runs this; so can anyone): the release archive for that target, checked against the
# release's SHA256SUMS, unpacked into the runner's tool cache and put on GITHUB_PATH. When no
# release asset fits (a target with no archive, a version that is a commit, a release without
# SHA256SUMS), it builds from source with `cargo install --locked --git`. A SHA-256 that does
# not match is never installed.
#
# Environment: IMGCTL_VERSION (required: v0.1.0, 0.1.0, or a git commit), IMGCTL_REPOSITORY
# (OWNER/NAME, default imgctl-dev/imgctl), IMGCTL_RELEASE_BASE_URL (default
# https://github.com/$IMGCTL_REPOSITORY/releases/download), IMGCTL_GIT_URL (default
# https://github.com/$IMGCTL_REPOSITORY), RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE, GITHUB_PATH
# GITHUB_OUTPUT (set by GitHub Actions; without them: uname and ~/.cache).
set -euo pipefail

say() { echo "imgctl install: $*" >&2; }
die() { say "$*"; exit 1; }

version=${IMGCTL_VERSION:?set IMGCTL_VERSION (e.g. v0.1.0)}
repository=${IMGCTL_REPOSITORY:-imgctl-dev/imgctl}
base=${IMGCTL_RELEASE_BASE_URL:-https://github.com/$repository/releases/download}
git_url=${IMGCTL_GIT_URL:-https://github.com/$repository}

os=${RUNNER_OS:-$(uname -s)}
arch=${RUNNER_ARCH:-$(uname -m)}
case "$os/$arch" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64 | Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
  macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
  macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc ;;
  *) target="" ;;
esac

tag=$version
if [[ $version =~ ^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
  tag=v${version#v}
  release=1
else
  release=0 # a commit or branch: no release assets
fi

cache_root=${RUNNER_TOOL_CACHE:-${HOME:?}/.cache}/imgctl
dir=$cache_root/$tag/${target:-source}
exe=imgctl
[ "$target" = x86_64-pc-windows-msvc ] && exe=imgctl.exe

publish_path() {
  if [ -n "${GITHUB_PATH:-}" ]; then echo "$dir/bin" >> "$GITHUB_PATH"; fi
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "path=$dir/bin" >> "$GITHUB_OUTPUT"; fi
  say "installed $("$dir/bin/$exe" --version) in $dir/bin"
}

if [ -f "$dir.complete" ] && [ -x "$dir/bin/$exe" ]; then
  say "$tag for ${target:-source} found in the tool cache"
  publish_path
  exit 0
fi

sha256() { if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
installed=0
if [ "$release" = 1 ] && [ -n "$target" ]; then
  ext=tar.gz
  [ "$exe" = imgctl.exe ] && ext=zip
  asset=imgctl-$tag-$target.$ext
  if curl -fsSL --retry 3 -o "$work/SHA256SUMS" "$base/$tag/SHA256SUMS" 2>/dev/null; then
    want=$(awk -v a="$asset" '$2 == a || $2 == "*" a {print $1}' "$work/SHA256SUMS")
    if [ -n "$want" ]; then
      curl -fsSL --retry 3 -o "$work/$asset" "$base/$tag/$asset" || die "download $base/$tag/$asset failed"
      got=$(sha256 "$work/$asset")
      [ "$got" = "$want" ] || die "refusing $asset: its SHA-256 is $got but SHA256SUMS of $tag says $want (a corrupted or tampered download); nothing was installed"
      mkdir -p "$work/x"
      if [ "$ext" = zip ]; then unzip -q "$work/$asset" -d "$work/x"; else tar -xzf "$work/$asset" -C "$work/x"; fi
      found=$(find "$work/x" -type f -name "$exe" | head -n 1)
      [ -n "$found" ] || die "$asset has no $exe inside"
      rm -rf "$dir"
      mkdir -p "$dir/bin"
      cp -R "$(dirname "$found")"/. "$dir/"
      mv "$dir/$exe" "$dir/bin/$exe"
      chmod +x "$dir/bin/$exe"
      installed=1
      say "verified $asset (sha256 $got)"
    else
      say "release $tag has no asset for $target in SHA256SUMS"
    fi
  else
    say "no SHA256SUMS at $base/$tag: no verified release asset"
  fi
fi

if [ "$installed" = 0 ]; then
  command -v cargo >/dev/null || die "no release asset fits ($os/$arch, $tag) and cargo is not installed to build from source (install Rust, e.g. with dtolnay/rust-toolchain)"
  if [ "$release" = 1 ]; then ref=(--tag "$tag"); else ref=(--rev "$version"); fi
  say "building from source: cargo install --locked --git $git_url ${ref[*]} imgctl"
  rm -rf "$dir"
  cargo install --locked --git "$git_url" "${ref[@]}" --root "$dir" imgctl >&2
fi
touch "$dir.complete"
publish_path

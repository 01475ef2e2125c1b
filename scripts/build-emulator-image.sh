#!/usr/bin/env bash
# Build a MiniStack container image with no container registry at all:
#   1. a Debian base made with debootstrap and turned into an image with `docker import`;
#   2. MiniStack and its dependencies as wheels downloaded on the host (pip reaches PyPI; the build does not);
#   3. `docker build` that installs those wheels offline.
# Useful behind any firewall that lets pip and apt through but blocks container registries.
# The wheels include duckdb (pinned in docker/hook-requirements.txt): with it MiniStack answers Athena with DuckDB
# instead of a mock, so `lakebox query` works against the image as it does embedded.
# Prints the image tag it built as its last line. Needs root (debootstrap), docker, debootstrap and pip.
#
#   scripts/build-emulator-image.sh [TAG]        default TAG: lakebox/ministack:<MiniStack version>
#
# Environment: MINISTACK_VERSION (default: the version pinned in pyproject.toml), DEBIAN_SUITE (bookworm),
# DEBIAN_MIRROR (default: debootstrap's own), LAKEBOX_BUILD_DIR (default: .build/emulator-image).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pinned="$(sed -n 's/.*"ministack==\([0-9.]*\)".*/\1/p' "$root/pyproject.toml" | head -1)"
version="${MINISTACK_VERSION:-$pinned}"
tag="${1:-lakebox/ministack:$version}"
suite="${DEBIAN_SUITE:-bookworm}"
base="lakebox-base:$suite"
build="${LAKEBOX_BUILD_DIR:-$root/.build/emulator-image}"
mkdir -p "$build"

log() { printf '[build-emulator-image] %s\n' "$*" >&2; }

if ! docker image inspect "$base" >/dev/null 2>&1; then
  log "making the $suite base with debootstrap"
  tree="$build/rootfs"
  rm -rf "$tree"
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    "$suite" "$tree" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >"$build/debootstrap.log" 2>&1 \
    || { tail -20 "$build/debootstrap.log" >&2; exit 1; }
  tar -C "$tree" -c . | docker import - "$base" >/dev/null
  rm -rf "$tree"
else
  log "reusing base image $base"
fi

# The base's Python decides which wheels fit.
pyver="$(docker run --rm "$base" python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
case "$(uname -m)" in
  x86_64) platforms=(--platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64) ;;
  aarch64) platforms=(--platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64 --platform manylinux_2_28_aarch64) ;;
  *) log "unsupported architecture $(uname -m)"; exit 1 ;;
esac
log "downloading wheels for Python $pyver: ministack==$version and docker/hook-requirements.txt"
context="$build/context"
rm -rf "$context"
mkdir -p "$context/wheels"
python3 -m pip download --disable-pip-version-check --only-binary=:all: \
  --python-version "$pyver" "${platforms[@]}" --platform any \
  -d "$context/wheels" "ministack==$version" --requirement "$root/docker/hook-requirements.txt" >"$build/pip.log" 2>&1 \
  || { tail -20 "$build/pip.log" >&2; exit 1; }
cp "$root/docker/ministack.Dockerfile" "$context/Dockerfile"
cp "$root/docker/hook-requirements.txt" "$context/hook-requirements.txt"

log "building $tag"
docker build --build-arg "BASE_IMAGE=$base" --build-arg "MINISTACK_VERSION=$version" \
  -t "$tag" "$context" >"$build/docker-build.log" 2>&1 || { tail -20 "$build/docker-build.log" >&2; exit 1; }
echo "$tag"

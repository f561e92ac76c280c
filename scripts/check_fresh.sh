#!/bin/sh
# scripts/check_fresh.sh — `make check-fresh`: the README's two commands on a really fresh
# machine. A minimal Debian 12 root (debootstrap --variant=minbase) gets what a newcomer
# installs by hand (make, git), a clean clone of this commit and ../shared, and then runs
# `make demo` and `make check` (or FRESH_TARGETS) inside it, as root, in a chroot with /proc,
# /sys, /dev and /dev/shm bound from the host. A tool the tests need that scripts/deps.sh does
# not install fails the run here, where CI's well-stocked machine would not notice.
#
# usage: sh scripts/check_fresh.sh          (as root; network to the Debian mirror and npm)
#   FRESH_DIR=build/fresh        where the root is made (kept: minbase.tar.gz caches the
#                                debootstrap step for the next run; the root is made anew)
#   FRESH_TARGETS="demo check"   the make targets run inside, in order
#   FRESH_MIRROR=http://deb.debian.org/debian
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "check-fresh: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
command -v debootstrap > /dev/null || { echo "check-fresh: no debootstrap (scripts/deps.sh installs it)" >&2; exit 2; }
[ -d ../shared/data/dev ] || { echo "check-fresh: ../shared is needed beside the checkout" >&2; exit 2; }
dir=$(mkdir -p "${FRESH_DIR:-build/fresh}" && cd "${FRESH_DIR:-build/fresh}" && pwd)
root=$dir/root
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
targets=${FRESH_TARGETS:-demo check}
t0=$(date +%s)
say() { echo "check-fresh: $* ($(($(date +%s) - t0)) s)"; }

mounted=""
cleanup() {
    for m in $mounted; do umount -l "$m" 2> /dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM

# 1. a minimal root (cached as a tarball: debootstrap's downloads are the slow part)
if [ -d "$root" ]; then
    for m in dev/shm dev/pts dev sys proc; do umount -l "$root/$m" 2> /dev/null || true; done
    rm -rf "$root"
fi
if [ -s "$dir/minbase.tar.gz" ]; then
    mkdir -p "$root" && tar -xzf "$dir/minbase.tar.gz" -C "$root"
    say "minimal root unpacked from $dir/minbase.tar.gz"
else
    debootstrap --variant=minbase bookworm "$root" "$mirror" > "$dir/debootstrap.log" 2>&1 ||
        { tail -n 20 "$dir/debootstrap.log"; exit 1; }
    tar -czf "$dir/minbase.tar.gz.tmp" -C "$root" . && mv "$dir/minbase.tar.gz.tmp" "$dir/minbase.tar.gz"
    say "minimal root made with debootstrap"
fi

# 2. the project as a newcomer gets it: a clone of this commit, the shared folder beside it
mkdir -p "$root/work"
git clone -q --no-hardlinks . "$root/work/tongyuan"
git -C "$root/work/tongyuan" checkout -q "$(git rev-parse HEAD)"
cp -a ../shared "$root/work/shared"
# the host's network settings, not the project's: its resolver, and the CA bundle its npm
# trusts (a TLS-inspecting proxy's certificate, where there is one)
cp /etc/resolv.conf "$root/etc/resolv.conf"
extra_ca=""
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    cp "$NODE_EXTRA_CA_CERTS" "$root/etc/host-ca.crt"
    extra_ca="export NODE_EXTRA_CA_CERTS=/etc/host-ca.crt"
fi
for m in proc sys dev dev/pts dev/shm; do
    mkdir -p "$root/$m"
    mount --bind "/$m" "$root/$m"
    mounted="$root/$m $mounted"
done
say "clone of $(git rev-parse --short HEAD) in $root/work/tongyuan"

# 3. what the README says must exist first, then its two commands
rc=0
chroot "$root" /bin/sh -c '
    set -e
    export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    '"$extra_ca"'
    apt-get update -qq > /dev/null
    apt-get install -y -qq --no-install-recommends make git > /dev/null
    cd /work/tongyuan
    for t in '"$targets"'; do echo "==== make $t"; make $t; done
' > "$dir/log" 2>&1 || rc=$?
grep -E '^(==== |deps: |FAIL|eval.*: |plagdet=)|[0-9]+ passed, [0-9]+ failed' "$dir/log" || true
if [ "$rc" -ne 0 ]; then
    tail -n 30 "$dir/log"
    say "FAILED with exit status $rc (whole log: $dir/log)"
    exit 1
fi
say "make $targets passed in a fresh minimal Debian 12 root (log: $dir/log)"

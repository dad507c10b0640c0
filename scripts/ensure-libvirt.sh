#!/usr/bin/env bash
# Installs what the real live-migration test needs (Debian 12, as root): QEMU (TCG is enough), libvirt (its
# daemon is started by the test, one per emulated hypervisor, never as a system service) and busybox for the
# guest's initramfs. The guest's kernel is fetched by the test with `apt-get download`, so the package lists
# must be there.
set -euo pipefail
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v libvirtd >/dev/null || need+=(libvirt-daemon-system)
command -v virsh >/dev/null || need+=(libvirt-clients)
[[ -x /bin/busybox ]] && /bin/busybox --list | grep -qx insmod || need+=(busybox-static)
command -v gcc >/dev/null || need+=(gcc libc6-dev)   # the guest's tiny UDP echo is compiled from source
export DEBIAN_FRONTEND=noninteractive
# One `apt-get update` at most, and none when ensure-ovs.sh has just made the lists.
if ! apt-cache show --no-all-versions linux-image-cloud-amd64 "${need[@]}" >/dev/null 2>&1; then
  apt-get update -qq
fi
if ((${#need[@]})); then
  echo "ensure-libvirt: installing ${need[*]}" >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

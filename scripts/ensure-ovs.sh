#!/usr/bin/env bash
# Installs what the tests need on Debian 12 (as root) and starts Open vSwitch if it is not running.
# Userspace datapath only: no kernel module is needed or loaded.
set -euo pipefail
need=()
command -v ovs-vsctl >/dev/null || need+=(openvswitch-switch)
command -v ping >/dev/null || need+=(iputils-ping)
command -v ethtool >/dev/null || need+=(ethtool)
command -v mn >/dev/null || need+=(mininet)
python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
command -v mvn >/dev/null || need+=(maven)
command -v ip >/dev/null || need+=(iproute2)
command -v sysctl >/dev/null || need+=(procps)
command -v tmux >/dev/null || need+=(tmux)         # the console test drives `vw console` in a tmux pane
command -v tcpdump >/dev/null || need+=(tcpdump)   # captures at the hypervisors' ports (bicast test)
command -v chromium >/dev/null || need+=(chromium)  # the web view's test drives a real headless browser
command -v iptables >/dev/null || need+=(iptables)     # 1:1 NAT of the emulated clouds (internet namespace)
command -v openssl >/dev/null || need+=(openssl)   # the API's HTTPS test makes a self-signed certificate
if ((${#need[@]})); then
  echo "ensure-ovs: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! ovs-vsctl --timeout=3 show >/dev/null 2>&1; then
  echo "ensure-ovs: starting Open vSwitch" >&2
  # The daemons outlive this script: they must not inherit its open files beyond stdio, such as the fd of
  # `flock /tmp/vw-ovs.lock ./vw test`, which they would hold (and so the lock) for as long as they run.
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-"; fi
    done
    exec /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random
  ) >/dev/null
fi
ovs-vsctl --timeout=5 show >/dev/null
# The real QEMU live-migration test's packages (a sibling script: OVS-only users can skip it).
"$(dirname "${BASH_SOURCE[0]}")/ensure-libvirt.sh"

"""Real QEMU guests under real libvirt daemons on the emulated hypervisors (recipe: /work/shared/design.md,
"Real live migration on one machine").

Each emulated hypervisor (a network namespace with its own Open vSwitch) gets its own libvirtd, running in that
network namespace and in a private mount namespace where /etc/libvirt, /run/libvirt, /var/lib/libvirt,
/var/cache/libvirt and /var/log/libvirt are directories of its own and /run/openvswitch is the hypervisor's OVS
run directory (libvirt's `ovs-vsctl` for `<virtualport type='openvswitch'/>` then reaches the right switch).
Why a network namespace per libvirtd: a guest's tap is named after its NIC's topology port (`<target dev>`) on
whichever hypervisor runs it, exactly as the controller expects, because each hypervisor has its own namespace
of interface names, and the destination XML differs from the source's in nothing. QEMU's migration stream
goes over a migration network of its own (qemu.conf `migration_host`): a kernel veth from each hypervisor to its
cloud's segment bridge, as real hosts keep migration traffic apart. Over the emulated underlay instead (the
tunnel IP, migration_network=False) it crosses both hypervisors' userspace Open vSwitch (br-phy), which on
this machine's 2 cores cannot forward QEMU's stream and the tunnel's traffic at once: the destination's
ovs-vswitchd then drops tunnelled frames it has received (captured on its ul0, never output; 110 echoes in one
pre-copy), losses a real host's kernel datapath or NIC would not have.

The guest: a Debian cloud kernel + a busybox initramfs that loads virtio_net, takes its address from the
kernel command line (vw.ip=, vw.gw=), answers ping and echoes UDP on vw.echo= (udpecho, no libc), and writes
a heartbeat byte every millisecond to its second serial port (heartbeat, no libc), which QEMU serves as a Unix
socket (LibvirtHost.heartbeat_socket) for real_migration.HeartbeatReader. Built once
and cached under /var/tmp, keyed by the kernel's and busybox's package versions and this builder's inputs.
"""
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import time
import uuid

GUEST_CACHE = "/var/tmp/vw-guest"
HEARTBEAT_DIR = "/var/lib/libvirt/qemu"   # where each libvirtd's QEMU puts a guest's heartbeat socket (its own directory)
HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = ["virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", "failover",
           "net_failover", "virtio_net"]   # in load order: busybox insmod does not resolve dependencies

_INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in MODULES; do insmod /lib/modules/$m.ko; done
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^vw\.$1=//p"; }
# Requests that wait at the destination during the pause arrive at resume in one burst: the default socket
# buffer (~125 small datagrams) would drop the rest, a loss that is the guest's, not the network's.
echo 8388608 >/proc/sys/net/core/rmem_default
echo 8388608 >/proc/sys/net/core/rmem_max
ip link set lo up
ip link set eth0 up
ip addr add "$(arg ip)" dev eth0
[ -n "$(arg gw)" ] && ip route add default via "$(arg gw)"
[ -n "$(arg echo)" ] && /bin/udpecho "$(arg echo)" &
# A sign of life that does not use the network: one byte a millisecond on the second serial port (the host stamps it).
[ -e /dev/ttyS1 ] && stty -F /dev/ttyS1 raw -echo 115200 && /bin/heartbeat /dev/ttyS1 &
cs=/sys/devices/system/clocksource/clocksource0
echo "vw-guest: up, $(arg ip), UDP echo on $(arg echo), clocksource $(cat $cs/current_clocksource) of $(cat $cs/available_clocksource)" >/dev/ttyS0
while :; do sleep 3600; done
"""


def _pkg_version(name):
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True, text=True,
                          check=True).stdout.strip()


def _kernel_package():
    """The cloud kernel the metapackage names, e.g. linux-image-6.1.0-56-cloud-amd64, and its version."""
    out = subprocess.run(["apt-cache", "depends", "linux-image-cloud-amd64"], capture_output=True, text=True,
                         check=True).stdout
    pkg = next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.strip().startswith("Depends:"))
    show = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg], capture_output=True, text=True,
                          check=True).stdout
    version = next(l.split(":", 1)[1].strip() for l in show.splitlines() if l.startswith("Version:"))
    return pkg, version


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _cpio_newc(entries):
    """An initramfs (cpio "newc") from (path, mode, data-or-None for directories)."""
    out = io.BytesIO()

    def pad():
        out.write(b"\0" * (-out.tell() % 4))

    for ino, (path, mode, data) in enumerate(entries + [("TRAILER!!!", 0, b"")], 1):
        name = path.encode() + b"\0"
        data = data or b""
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name), 0]
        out.write(b"070701" + b"".join(f"{f:08x}".encode() for f in fields) + name)
        pad()
        out.write(data)
        pad()
    return out.getvalue()


def _build_guest_program(name):
    """A guest program compiled from guest/NAME.c: static, no libc (the guest has none to offer)."""
    with tempfile.TemporaryDirectory() as tmp:
        binary = os.path.join(tmp, name)
        subprocess.run(["gcc", "-Os", "-static", "-nostdlib", "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
                        "-fno-pie", "-no-pie", "-Wl,--build-id=none", "-Wl,-n", "-s", "-o", binary,
                        os.path.join(HERE, "guest", f"{name}.c")], check=True, capture_output=True)
        with open(binary, "rb") as f:
            return f.read()


def guest_image():
    """(vmlinuz, initrd) paths of the cached guest, building it on the first call."""
    pkg, kversion = _kernel_package()
    init = _INIT.replace("MODULES", " ".join(MODULES))
    echo, heartbeat = _build_guest_program("udpecho"), _build_guest_program("heartbeat")
    key = hashlib.sha256(f"{pkg} {kversion} {_pkg_version('busybox-static')}".encode() + init.encode() + echo
                         + heartbeat).hexdigest()[:16]
    cache = f"{GUEST_CACHE}-{key}"
    kernel, initrd = f"{cache}/vmlinuz", f"{cache}/initrd.cpio"
    if os.path.exists(initrd):
        return kernel, initrd
    work = tempfile.mkdtemp(prefix="vw-guest-build-", dir="/var/tmp")
    try:
        subprocess.run(["apt-get", "download", pkg], cwd=work, check=True, capture_output=True)
        deb = next(f for f in os.listdir(work) if f.endswith(".deb"))
        subprocess.run(["dpkg-deb", "-x", deb, "x"], cwd=work, check=True)
        kver = pkg[len("linux-image-"):]
        modules = {}
        for dirpath, _, files in os.walk(f"{work}/x/lib/modules/{kver}/kernel"):
            for f in files:
                if f[:-3] in MODULES and f.endswith(".ko"):
                    with open(os.path.join(dirpath, f), "rb") as ko:
                        modules[f[:-3]] = ko.read()
        missing = [m for m in MODULES if m not in modules]
        if missing:
            raise RuntimeError(f"{pkg} has no module(s) {missing}")
        entries = [(d, 0o40755, None) for d in ("bin", "dev", "proc", "sys", "lib", "lib/modules")]
        entries += [("init", 0o100755, init.encode()), ("bin/busybox", 0o100755, _read("/bin/busybox")),
                    ("bin/udpecho", 0o100755, echo), ("bin/heartbeat", 0o100755, heartbeat)]
        entries += [(f"lib/modules/{m}.ko", 0o100644, modules[m]) for m in MODULES]
        os.makedirs(f"{work}/out")
        shutil.copyfile(f"{work}/x/boot/vmlinuz-{kver}", f"{work}/out/vmlinuz")
        with open(f"{work}/out/initrd.cpio", "wb") as f:
            f.write(_cpio_newc(entries))
        try:
            os.rename(f"{work}/out", cache)   # atomic: a concurrent builder's finished copy wins
        except OSError:
            if not os.path.exists(initrd):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return kernel, initrd


def _tsc_khz_arg():
    """ tsc_early_khz=N when the host's TSC runs at a constant rate (its "cpu MHz" is then the TSC's)."""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return ""
    flags = next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), [])
    mhz = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("cpu MHz")), None)
    if "constant_tsc" not in flags or not mhz:
        return ""
    return f" tsc_early_khz={round(float(mhz) * 1000)}"


def domain_xml(name, nics, kernel, initrd, memory_mib=128, echo_port=None, gateway=None, bridge="br-int"):
    """A TCG guest (KVM is unusable here: type='qemu', CPU qemu64). nics: topology Nic records; the first one's
    address goes on the kernel command line. Guest checksum offload is off: the userspace datapath would
    forward partial checksums unfilled. The guest's clock: under TCG the guest kernel's TSC calibration against
    the PIT often fails or its watchdog rejects the TSC, leaving refined-jiffies, a 4 ms clock, too coarse for
    udpecho's reception stamps; the guest's TSC is the host's (QEMU's TCG reads the host TSC, and stops it while
    the VM is paused), so it is given the host's frequency and trusted (tsc_early_khz=, tsc=reliable)."""
    cmdline = f"console=ttyS0 quiet panic=-1 tsc=reliable{_tsc_khz_arg()} vw.ip={nics[0].ip}"
    if echo_port:
        cmdline += f" vw.echo={echo_port}"
    if gateway:
        cmdline += f" vw.gw={gateway}"
    ifaces = "".join(f"""
    <interface type='bridge'>
      <mac address='{n.mac}'/>
      <source bridge='{bridge}'/>
      <virtualport type='openvswitch'/>
      <target dev='{n.port}'/>
      <model type='virtio'/>
      <driver name='qemu'><host csum='off' gso='off' tso4='off' tso6='off' ecn='off' ufo='off'/></driver>
      <rom enabled='no'/>
    </interface>""" for n in nics)
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{memory_mib}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>{ifaces}
    <serial type='file'><source path='/var/log/libvirt/qemu/{name}-console.log' append='on'/><target port='0'/></serial>
    <serial type='unix'><source mode='bind' path='{HEARTBEAT_DIR}/{name}-heartbeat.sock'/><target port='1'/></serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
"""


# Reaps every orphan below it (QEMU daemonizes): this sandbox's PID 1 reaps only every ~2 s, and libvirt
# waits for the old QEMU to be reaped at the end of a migration. Forwards TERM/INT to libvirtd.
_SUBREAPER = r"""
import ctypes, os, signal, subprocess, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
child = subprocess.Popen(sys.argv[1:])
for s in (signal.SIGTERM, signal.SIGINT):
    signal.signal(s, lambda n, f: child.send_signal(n))
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    except InterruptedError:
        continue
    if pid == child.pid:
        sys.exit(os.waitstatus_to_exitcode(status))
"""

_PRIVATE_DIRS = ["etc/libvirt", "run/libvirt", "var/lib/libvirt", "var/cache/libvirt", "var/log/libvirt"]


class LibvirtHost:
    """One libvirtd serving one emulated hypervisor (a vwharness Hypervisor)."""

    def __init__(self, hv, index, workdir):
        self.hv, self.name, self.dir = hv, hv.name, workdir
        self.socket = f"{workdir}/run/libvirt/libvirt-sock"
        self.uri = f"qemu+unix:///system?socket={self.socket}"
        self.proc = None
        self.ports = (49152 + 100 * index, 49152 + 100 * index + 99)
        self.migration_ip = hv.spec.tunnel_ip   # where other hypervisors' QEMU sends the migration stream

    def start(self, timeout=30):
        for d in _PRIVATE_DIRS:
            os.makedirs(f"{self.dir}/{d}", exist_ok=True)
            os.makedirs(f"/{d}", exist_ok=True)   # mount points; the daemon sees its own directory there
        os.makedirs(f"{self.dir}/var/log/libvirt/qemu", exist_ok=True)   # the guests' consoles
        with open(f"{self.dir}/etc/libvirt/libvirtd.conf", "w") as f:
            f.write(f'host_uuid = "{uuid.uuid4()}"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n'
                    'unix_sock_rw_perms = "0700"\nlog_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n')
        with open(f"{self.dir}/etc/libvirt/qemu.conf", "w") as f:
            f.write(f'user = "root"\ngroup = "root"\nsecurity_driver = "none"\ncgroup_controllers = [ ]\n'
                    f'namespaces = [ ]\ndynamic_ownership = 0\nremember_owner = 0\nstdio_handler = "file"\n'
                    f'migration_address = "0.0.0.0"\nmigration_host = "{self.migration_ip}"\n'
                    f'migration_port_min = {self.ports[0]}\nmigration_port_max = {self.ports[1]}\n')
        with open(f"{self.dir}/subreaper.py", "w") as f:
            f.write(_SUBREAPER)
        binds = " && ".join(f"mount --bind {self.dir}/{d} /{d}" for d in _PRIVATE_DIRS)
        ovs_run = self.hv.env["OVS_RUNDIR"]
        script = (f"{binds} && mkdir -p /run/openvswitch && mount --bind {ovs_run} /run/openvswitch && "
                  f"exec /usr/bin/python3 {self.dir}/subreaper.py /usr/sbin/libvirtd --pid-file {self.dir}/libvirtd.pid")
        self.log = open(f"{self.dir}/libvirtd.stderr", "w")
        self.proc = subprocess.Popen(["mnexec", "-a", str(self.hv.pid), "unshare", "-m", "--propagation", "private",
                                      "sh", "-ec", script], stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while self.virsh("version", check=False).returncode != 0:
            if self.proc.poll() is not None:
                raise RuntimeError(f"libvirtd of {self.name} exited with {self.proc.returncode}: " + self.log_tail())
            if time.monotonic() > deadline:
                raise TimeoutError(f"libvirtd of {self.name} not answering after {timeout} s")
            time.sleep(0.05)
        return self

    def virsh(self, *args, check=True, timeout=60):
        res = subprocess.run(["virsh", "-q", "-c", self.uri] + list(args), capture_output=True, text=True,
                             timeout=timeout)
        if check and res.returncode != 0:
            raise RuntimeError(f"virsh {' '.join(args)} on {self.name}: {res.stderr.strip()}")
        return res

    def domains(self):
        return [l.strip() for l in self.virsh("list", "--all", "--name", check=False).stdout.splitlines() if l.strip()]

    def log_tail(self, chars=3000):
        out = ""
        for f in (f"{self.dir}/libvirtd.stderr", f"{self.dir}/var/log/libvirt/libvirtd.log"):
            if os.path.exists(f):
                with open(f) as log:
                    out += f"\n--- {f}\n" + log.read()[-chars:]
        return out

    def console_log(self, domain):
        try:
            with open(f"{self.dir}/var/log/libvirt/qemu/{domain}-console.log") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def heartbeat_socket(self, domain):
        """The Unix socket of the guest's second serial port (its heartbeat) when this host runs it."""
        return f"{self.dir}{HEARTBEAT_DIR}/{domain}-heartbeat.sock"

    def qemu_pid_file(self, domain):
        return f"{self.dir}/run/libvirt/qemu/{domain}.pid"

    def stop(self):
        """Destroys and undefines every domain, then stops libvirtd (by its pid)."""
        if not self.proc:
            return
        if self.proc.poll() is None:
            for d in self.domains():
                self.virsh("destroy", d, check=False)
                self.virsh("undefine", d, check=False)
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


class LibvirtHosts:
    """A libvirtd per named hypervisor of a running Fabric; close() stops them (and their guests)."""

    MIGRATION_NET = "10.254.0.0/24"

    def __init__(self, fabric, names, migration_network=True):
        """migration_network: QEMU's migration streams go over kernel veths on the cloud's segment bridge
        (MIGRATION_NET), not through the hypervisors' Open vSwitch; only when all of them share one cloud."""
        self.fabric, self.hosts = fabric, {}
        try:
            for i, name in enumerate(names):
                host = LibvirtHost(fabric.hypervisor(name), i, f"{fabric.workdir}/libvirt-{name}")
                self.hosts[name] = host
            clouds = {fabric.hypervisor(n).spec.cloud for n in names}
            if migration_network and len(clouds) == 1:
                seg = fabric.segments[clouds.pop()]
                for i, host in enumerate(self.hosts.values()):
                    fabric._attach_to_segment(seg, host.hv.node, "migr0", f"migr{i}")
                    host.migration_ip = f"10.254.0.{i + 1}"
                    host.hv.sh(f"ip addr add {host.migration_ip}/24 dev migr0 && ip link set migr0 up")
            for host in self.hosts.values():
                host.start()
        except BaseException:
            self.close()
            raise

    def __getitem__(self, name):
        return self.hosts[name]

    def close(self):
        errors = []
        for host in self.hosts.values():
            try:
                host.stop()
            except Exception as e:
                errors.append(f"{host.name}: {e}")
        if errors:
            raise RuntimeError("libvirt teardown incomplete: " + "; ".join(errors))

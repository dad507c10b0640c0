"""The OVN 23.03 baseline for `./vw bench migration`: the same emulated rig, VMs, probe and emulated migration,
with OVN doing the networking instead of VirtualWire, migrated the way OpenStack (Neutron's OVN driver) and
KubeVirt do it: a multi-chassis port binding with RARP activation.

Entry point: `ovn_baseline(fabric, runs, pause_ms, measure=None)` converts an already-built Fabric (built with
controller_port=None, or with a controller that is then ignored) and runs `runs` migrations of the bench's VM
back and forth, returning one dict per run (by default vwharness.migration.measure_migration's figures, the
same as every other variant of the bench, plus OVN's own instants). `ovn_real_baseline(runs)` does the same with
real QEMU migrations on vwharness.real_migration's rig (`virsh migrate`, the rig's trace probe). Debian's `ovn-central` and `ovn-host` are installed by
`ensure_ovn()` when missing (apt), never at import time.

What runs (all started and stopped by pid, each with private run/db/log/etc directories; no system service):
  root netns : ovsdb-server for OVN_Northbound (unix socket), ovsdb-server for OVN_Southbound (unix socket),
               ovn-northd
  each hypervisor netns: ovn-controller, talking to that hypervisor's own ovsdb-server (its OVS_RUNDIR) and to
               the SB over the unix socket path (the file system is shared across network namespaces)
Each hypervisor's Open_vSwitch external_ids: system-id/hostname = the hypervisor's name (also `-n`),
ovn-remote = the SB socket, ovn-encap-type=geneve, ovn-encap-ip = its tunnel IP (on br-phy, as the fabric
set it up), ovn-bridge = the fabric's integration bridge, ovn-bridge-datapath-type=netdev. The integration
bridge loses VirtualWire's controller and its flow-based vxlan0 port (ovn-controller makes its own Geneve ports),
keeps fail_mode=secure and accepts OpenFlow 1.5 (ovn-controller's version).

Logical topology: each wire of the topology is a logical switch with its two VM NICs as logical switch ports
named after the NIC's OVS port (that name is also external_ids:iface-id on the OVS interface); addresses
"MAC IP" (or "MAC unknown" for a NIC without an address, e.g. an appliance's bridge leg); no port security and
no ACLs (VirtualWire's wires filter nothing either).

A migration (`OvnMigration`, the harness's EmulatedMigration plus the CMS's steps):
  prepare : options:requested-chassis="SRC,DST" and options:activation-strategy=rarp on each NIC's LSP
            (Neutron does this when Nova's pre-live-migration binds the port at the destination); the NIC's
            port appears at DST with the same iface-id; wait until the SB Port_Binding lists DST in
            additional_chassis and `ovn-nbctl --wait=hv sync` (every ovn-controller installed it)
  pause / resume : the emulated migration's own (the RARP announces at resume are what OVN waits for)
  complete: wait until ovn-controller at DST reports the activation in the SB (23.03 writes
            options:additional-chassis-activated=<DST's chassis name>: the RARP was seen), then requested-chassis=DST without activation-strategy (Neutron's post-migration
            port update), `--wait=hv`; then the source port goes (the emulation's cleanup)
"""
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time

from .fabric import _stop_process
from .migration import EmulatedMigration

OVN_PACKAGES = ("ovn-central", "ovn-host")
NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
ENCAP = "geneve"


def ensure_ovn():
    """Installs Debian's ovn-central and ovn-host when missing (no service is started: the harness runs the
    daemons itself). Returns the seconds the install took (0.0 when nothing was missing)."""
    if all(shutil.which(t) for t in ("ovn-controller", "ovn-northd", "ovn-nbctl", "ovn-sbctl")) \
            and os.path.exists(NB_SCHEMA) and os.path.exists(SB_SCHEMA):
        return 0.0
    start = time.monotonic()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600"]
    res = subprocess.run(apt + ["install", "-y", "-qq", "--no-install-recommends", *OVN_PACKAGES],
                         env=env, capture_output=True, text=True)
    if res.returncode != 0:   # a fresh machine may not have the package lists yet
        subprocess.run(apt + ["update", "-qq"], env=env, capture_output=True, check=True)
        subprocess.run(apt + ["install", "-y", "-qq", "--no-install-recommends", *OVN_PACKAGES],
                       env=env, capture_output=True, text=True, check=True)
    return time.monotonic() - start


class OvnCentral:
    """OVN_Northbound and OVN_Southbound ovsdb-servers and ovn-northd in the root namespace, in `workdir`."""

    def __init__(self, fabric, workdir):
        self.fabric, self.workdir = fabric, workdir
        self.nb_sock, self.sb_sock = f"{workdir}/nb.sock", f"{workdir}/sb.sock"
        self.nb, self.sb = f"unix:{self.nb_sock}", f"unix:{self.sb_sock}"
        # ovsdb-server and northd put their control sockets in OVS_RUNDIR/OVN_RUNDIR: keep them private.
        self.env = dict(os.environ, OVS_RUNDIR=workdir, OVS_DBDIR=workdir, OVS_LOGDIR=workdir,
                        OVN_RUNDIR=workdir, OVN_DBDIR=workdir, OVN_LOGDIR=workdir, OVN_SYSCONFDIR=workdir)
        self.procs = []

    def start(self):
        for name, schema in (("nb", NB_SCHEMA), ("sb", SB_SCHEMA)):
            subprocess.run(["ovsdb-tool", "create", f"{self.workdir}/{name}.db", schema], check=True,
                           capture_output=True)
            self._daemon(f"ovsdb-server-{name}", [
                "ovsdb-server", f"{self.workdir}/{name}.db", f"--remote=punix:{self.workdir}/{name}.sock",
                f"--pidfile={self.workdir}/ovsdb-server-{name}.pid", f"--unixctl={self.workdir}/ovsdb-server-{name}.ctl",
                f"--log-file={self.workdir}/ovsdb-server-{name}.log", "-vconsole:off"])
        # The socket file appears at bind(), a moment before the server answers: wait until each answers.
        self.fabric.wait_until(lambda: self._ctl("ovn-nbctl", self.nb, "--no-wait", "init", check=False).returncode == 0,
                               10, "OVN NB ovsdb-server answers")
        self.fabric.wait_until(lambda: self._ctl("ovn-sbctl", self.sb, "show", check=False).returncode == 0,
                               10, "OVN SB ovsdb-server answers")
        self._daemon("ovn-northd", [
            "ovn-northd", f"--ovnnb-db={self.nb}", f"--ovnsb-db={self.sb}",
            f"--pidfile={self.workdir}/ovn-northd.pid", f"--unixctl={self.workdir}/ovn-northd.ctl",
            f"--log-file={self.workdir}/ovn-northd.log", "-vconsole:off"])
        self.nbctl("--wait=sb", "sync", timeout=20)   # northd is up and has written the SB

    def _daemon(self, name, argv):
        with open(f"{self.workdir}/{name}.stderr", "w") as err:
            proc = subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)
        self.procs.append(proc)
        self.fabric._procs.append(proc)   # stopped by the fabric's teardown too, should ours not run

    def _ctl(self, tool, db, *args, check=True, timeout=15):
        res = subprocess.run([tool, f"--db={db}", f"--timeout={timeout}", *args], env=self.env,
                             capture_output=True, text=True, timeout=timeout + 5)
        if check and res.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} -> rc {res.returncode}: {res.stderr.strip()}"
                               + self._exited())
        return res

    def _exited(self):
        dead = [p.args[0] for p in self.procs if p.poll() is not None]
        return f" (exited: {', '.join(dead)})" if dead else ""

    def nbctl(self, *args, timeout=15):
        return self._ctl("ovn-nbctl", self.nb, *args, timeout=timeout).stdout

    def sbctl(self, *args, timeout=15, check=True):
        return self._ctl("ovn-sbctl", self.sb, *args, timeout=timeout, check=check)

    def stop(self):
        for proc in reversed(self.procs):   # northd first, then the databases
            _stop_process(proc)


class OvnFabric:
    """Turns a built Fabric's hypervisors into OVN chassis and its wires into logical switches; close() stops
    every OVN daemon it started (by pid) and removes its directory. The fabric itself stays the caller's."""

    def __init__(self, fabric, encap=ENCAP, extra_vms=()):
        """extra_vms: topology Vm records of VMs that are not the fabric's namespaces (a real QEMU guest),
        whose NICs' ports are on the hypervisors' bridges."""
        self.fabric, self.encap = fabric, encap
        self.extra_vms = list(extra_vms)
        self.lsp = {}           # NIC port name -> its logical switch port's name (= the OVS iface-id), if wired
        self.bound_at = {}      # NIC port name -> the hypervisor whose bridge had it at the conversion
        self._iface_ids = {}    # NIC port name -> the iface-id found on it
        self.workdir = None
        self.central = None
        self.controllers = {}   # hypervisor name -> Popen of its ovn-controller
        self.install_seconds = None
        self.setup_seconds = None

    def __enter__(self):
        start = time.monotonic()
        self.install_seconds = ensure_ovn()
        try:
            self._build()
        except BaseException:
            print(self.logs(), file=sys.stderr)
            self.close()
            raise
        self.setup_seconds = time.monotonic() - start - self.install_seconds
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is not None and not issubclass(exc_type, KeyboardInterrupt):
            print(self.logs(), file=sys.stderr)
        self.close()

    def _build(self):
        self.workdir = tempfile.mkdtemp(prefix=f"vw-ovn-{self.fabric.run_id}-")
        self.central = OvnCentral(self.fabric, f"{self.workdir}/central")
        os.makedirs(self.central.workdir)
        self.central.start()
        for hv in self.fabric.hypervisors.values():
            self._chassis(hv)
        for hv in self.fabric.hypervisors.values():
            self.fabric.wait_until(lambda: self._alive() and self.chassis_uuid(hv.name), 20,
                                   f"{hv.name}'s ovn-controller registers its chassis")
        self._logical_switches()
        for port, lsp in self.lsp.items():
            if port in self.bound_at:
                self.wait_bound(lsp, self.bound_at[port])
        self.central.nbctl("--wait=hv", "sync", timeout=20)

    def _chassis(self, hv):
        """ovn-controller for hypervisor `hv`, on the fabric's integration bridge."""
        d = f"{self.workdir}/{hv.name}"
        os.makedirs(d)
        bridge = hv.BRIDGE
        ports = hv.vsctl("list-ports", bridge).split()
        args = ["del-controller", bridge,
                "--", "set", "bridge", bridge, "fail_mode=secure", "protocols=OpenFlow10,OpenFlow13,OpenFlow15",
                "--", "set", "Open_vSwitch", ".", f"external_ids:system-id={hv.name}",
                f"external_ids:hostname={hv.name}", f"external_ids:ovn-remote={self.central.sb}",
                f"external_ids:ovn-encap-type={self.encap}", f"external_ids:ovn-encap-ip={hv.spec.tunnel_ip}",
                f"external_ids:ovn-bridge={bridge}", "external_ids:ovn-bridge-datapath-type=netdev"]
        if hv.TUNNEL_PORT in ports:
            args += ["--", "del-port", bridge, hv.TUNNEL_PORT]
        for port in ports:
            if port == hv.TUNNEL_PORT:
                continue
            # A port libvirt made (<virtualport type='openvswitch'/>) has its interfaceid as iface-id: that
            # names the logical port (libvirt sets the same at the destination). Others get their own name.
            iface_id = hv.vsctl("--if-exists", "get", "Interface", port, "external_ids:iface-id").strip().strip('"')
            if not iface_id:
                iface_id = port
                args += ["--", "set", "Interface", port, f"external_ids:iface-id={port}"]
            self._iface_ids[port], self.bound_at[port] = iface_id, hv.name
        hv.vsctl(*args)
        env = dict(hv.env, OVN_RUNDIR=d, OVN_DBDIR=d, OVN_LOGDIR=d, OVN_SYSCONFDIR=d)
        with open(f"{d}/ovn-controller.stderr", "w") as err:
            self.controllers[hv.name] = hv.spawn(
                ["ovn-controller", f"unix:{hv.workdir}/run/db.sock", "-n", hv.name,
                 f"--pidfile={d}/ovn-controller.pid",
                 f"--log-file={d}/ovn-controller.log", "-vconsole:off"],
                env=env, stdout=subprocess.DEVNULL, stderr=err)

    def _alive(self):
        dead = [n for n, p in self.controllers.items() if p.poll() is not None]
        if dead:
            raise RuntimeError(f"ovn-controller exited on {', '.join(dead)}")
        return True

    def _logical_switches(self):
        specs = [vm.spec for vm in self.fabric.vms.values()] + self.extra_vms
        nics = {f"{vm.name}:{nic.name}": nic for vm in specs for nic in vm.nics}
        args = []
        for wire in self.fabric.topology.wires:
            args += ["--", "ls-add", wire.name]
            for end in wire.ends:
                nic = nics[end]
                lsp = self.lsp[nic.port] = self._iface_ids.get(nic.port, nic.port)
                addresses = [f"{nic.mac} {nic.ip.ip}"] if nic.ip else [nic.mac, "unknown"]
                args += ["--", "lsp-add", wire.name, lsp, "--", "lsp-set-addresses", lsp, *addresses]
        if args:
            self.central.nbctl(*args)

    def lsps_of(self, nics):
        """The logical switch ports of these NICs (those on a wire)."""
        return [self.lsp[nic.port] for nic in nics if nic.port in self.lsp]

    # ---- the CMS's steps of a live migration (what Neutron's OVN driver does around Nova's) ----

    def multi_chassis(self, lsps, src, dst):
        """Before the migration: the ports may be bound at both; the destination waits for the VM's RARP."""
        args = []
        for lsp in lsps:
            args += ["--", "set", "Logical_Switch_Port", lsp, f'options:requested-chassis="{src},{dst}"',
                     "options:activation-strategy=rarp"]
        if args:
            self.central.nbctl(*args)

    def wait_activated(self, lsps, dst, timeout=5):
        """Until ovn-controller at `dst` reports in the SB that the RARP activated each port (23.03 writes
        options:additional-chassis-activated=<its chassis name>). False after `timeout` seconds."""
        ok = True
        for lsp in lsps:
            res = self.central.sbctl("wait-until", "Port_Binding", lsp,
                                     f"options:additional-chassis-activated={dst}", timeout=timeout, check=False)
            ok = ok and res.returncode == 0
        return ok

    def single_chassis(self, lsps, dst):
        """After the migration: bound at the destination only; returns once every chassis installed it."""
        args = []
        for lsp in lsps:
            args += ["--", "set", "Logical_Switch_Port", lsp, f"options:requested-chassis={dst}",
                     "--", "remove", "Logical_Switch_Port", lsp, "options", "activation-strategy"]
        if args:
            self.central.nbctl("--wait=hv", *args, timeout=20)

    def chassis_uuid(self, name):
        return self.central.sbctl("--bare", "--columns=_uuid", "find", "Chassis", f"name={name}").stdout.strip()

    def wait_bound(self, lsp, chassis, additional=False, timeout=20):
        """Until the SB Port_Binding of `lsp` has `chassis` as its (additional) chassis."""
        column = "additional_chassis" if additional else "chassis"
        op = "{>=}" if additional else "="
        self.central.sbctl("wait-until", "Port_Binding", lsp, f"{column}{op}{self.chassis_uuid(chassis)}",
                           timeout=timeout)

    def version(self):
        return subprocess.run(["ovn-controller", "--version"], capture_output=True, text=True).stdout.split("\n")[0].split()[-1]

    def migration(self, vm, to, pause_ms=150):
        return OvnMigration(self, vm, to, pause_ms)

    def close(self):
        errors = []
        for name, proc in self.controllers.items():
            try:
                _stop_process(proc)
            except Exception as e:
                errors.append(f"ovn-controller {name}: {e}")
        if self.central:
            try:
                self.central.stop()
            except Exception as e:
                errors.append(f"OVN central: {e}")
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        if errors:
            raise RuntimeError("OVN teardown incomplete: " + "; ".join(errors))

    def logs(self, lines=30):
        """The tail of every OVN daemon's log, for a failure report."""
        out = []
        for root, _dirs, files in os.walk(self.workdir or "/nonexistent"):
            for f in sorted(files):
                if f.endswith(".log") or f.endswith(".stderr"):
                    with open(os.path.join(root, f), errors="replace") as fh:
                        tail = fh.readlines()[-lines:]
                    out.append(f"=== {os.path.join(root, f)}\n" + "".join(tail))
        return "\n".join(out)


class OvnMigration(EmulatedMigration):
    """The emulated migration with the CMS's OVN steps around it (see the module's docstring)."""

    def __init__(self, ovn, vm, to, pause_ms=150):
        super().__init__(ovn.fabric, vm, to, pause_ms=pause_ms, controller=None)
        self.ovn = ovn
        self.lsps = ovn.lsps_of(self.vm.spec.nics)
        self.activated_after_resume_ms = None   # resume -> the SB shows the destination activated (RARP seen)
        self.switched_after_resume_ms = None    # resume -> requested-chassis=DST installed everywhere

    def prepare(self):
        self.ovn.multi_chassis(self.lsps, self.src.name, self.dest.name)
        super().prepare()
        for nic in self.vm.spec.nics:   # the destination's tap, as libvirt's <virtualport> sets it
            if nic.port in self.ovn.lsp:
                self.dest.vsctl("set", "Interface", nic.port, f"external_ids:iface-id={self.ovn.lsp[nic.port]}")
        for lsp in self.lsps:
            self.ovn.wait_bound(lsp, self.dest.name, additional=True)
        self.ovn.central.nbctl("--wait=hv", "sync", timeout=20)
        self._note("OVN: bound at the destination as additional chassis, installed on every chassis")

    def resume(self):
        super().resume()
        resumed = self.resume_ns / 1e9   # the emulation's CLOCK_MONOTONIC instant of the resume
        if self.ovn.wait_activated(self.lsps, self.dest.name):
            self.activated_after_resume_ms = (time.monotonic() - resumed) * 1000
            self._note("OVN: destination activated (RARP seen by ovn-controller)")
        else:
            self._note("OVN: destination NOT activated within 5 s of the resume")
        self.ovn.single_chassis(self.lsps, self.dest.name)
        self.switched_after_resume_ms = (time.monotonic() - resumed) * 1000
        self._note("OVN: requested-chassis=DST installed on every chassis")


def ovn_baseline(fabric, runs, pause_ms, measure=None, vm="v1", peer="p1", ip=None, port=7001, log=None):
    """Converts `fabric` (built, e.g. `Fabric.from_file(TOPOLOGY, controller_port=None)`) to OVN and runs `runs`
    emulated migrations of `vm` between its hypervisor and the other one (the fabric's first two), back and
    forth, probed from `peer`. Returns one dict per run: what `measure(fabric, migration)` returns (default:
    vwharness.migration.measure_migration with peer/ip/port, the figures every variant of the bench reports)
    plus ovn_activated_after_resume_ms (resume -> the SB shows the destination activated by the RARP),
    ovn_switched_after_resume_ms (resume -> requested-chassis=DST installed everywhere), ovn_install_s and
    ovn_setup_s (the apt install, 0 when present, and the conversion). Stops every OVN daemon it started."""
    from . import migration as mig_mod
    from .migration import warm_underlay
    log = log or (lambda line: print(line, flush=True))
    ip = ip or str(fabric.vm(vm).spec.nics[0].ip.ip)
    custom = measure is not None   # the caller's measure reports its own figures: log only OVN's part
    if measure is None:
        measure = functools.partial(mig_mod.measure_migration, peer=peer, ip=ip, port=port)
    results = []
    with OvnFabric(fabric) as ovn:
        log(f"    OVN {ovn.version()}: apt install {ovn.install_seconds:.1f} s, conversion {ovn.setup_seconds:.1f} s")
        warm_underlay(fabric)
        fabric.wait_until(lambda: fabric.vm(peer).ping(ip), 20, f"{peer} reaches {vm} over OVN")
        hvs = list(fabric.hypervisors)[:2]
        for i in range(runs):
            here = fabric.vm(vm).spec.hypervisor
            dest = next(h for h in hvs if h != here)
            mig = ovn.migration(vm, dest, pause_ms)
            r = dict(measure(fabric, mig))
            r.update({"run": i + 1, "to": dest, "ovn_activated_after_resume_ms": mig.activated_after_resume_ms,
                      "ovn_switched_after_resume_ms": mig.switched_after_resume_ms,
                      "ovn_install_s": round(ovn.install_seconds, 2), "ovn_setup_s": round(ovn.setup_seconds, 2)})
            r.setdefault("harness_timeline", mig.timeline)
            results.append(r)
            act = mig.activated_after_resume_ms
            ovn_part = (f"OVN: resume -> activated {act:.1f} ms" if act is not None else "OVN: NOT activated") + \
                       f", resume -> switched {mig.switched_after_resume_ms:.1f} ms"
            log(f"    run {i + 1:2d}: -> {dest}  " + (ovn_part if custom else f"{mig_mod.describe(r)}; {ovn_part}"))
    return results


def ovn_real_baseline(runs=3, probe_seconds=None, log=None, traces=None):
    """The OVN baseline with real QEMU live migrations: vwharness.real_migration's rig (a TCG guest under one
    libvirtd per emulated hypervisor) with VirtualWire's controller stopped and the fabric converted to OVN;
    `runs` migrations with `virsh migrate --live --p2p` between hv2 and hv1, the CMS's steps around each:
    requested-chassis=SRC,DST with activation-strategy=rarp before it, and, in the background as soon as the
    SB shows QEMU's RARP activated the destination, requested-chassis=DST (so inside the probe's window).
    The guest's tap keeps libvirt's interfaceid as iface-id (the same at the destination): that names its
    logical port. probe_seconds: as the rig's migrate_with_virsh (None: until shortly after the migration
    ended). Returns one dict per run: real_migration's figures (the rig's per-request trace probe, libvirt's
    events, the guest's clock) with variant "ovn", plus ovn_activated, and where the guest's clock shows the
    pause: ovn_claimed_before_pause_ms (the SB lists the destination as additional chassis), and
    ovn_activated_after_resume_ms / ovn_switched_after_resume_ms (the SB shows the RARP's activation /
    requested-chassis=DST installed everywhere)."""
    import threading
    from .migration import warm_underlay
    from .real_migration import RealMigrationRig, guest_clock
    log = log or (lambda line: print(line, flush=True))
    out = []
    with RealMigrationRig() as rig:
        rig.ctl.close()   # no VirtualWire: OVN does the networking (libvirt's events go nowhere)
        rig.ctl = None
        with OvnFabric(rig.fabric, extra_vms=[rig.guest]) as ovn:
            log(f"    OVN {ovn.version()}: apt install {ovn.install_seconds:.1f} s, conversion {ovn.setup_seconds:.1f} s")
            warm_underlay(rig.fabric)
            lsps = ovn.lsps_of(rig.guest.nics)
            for i in range(runs):
                src = rig.where()[0]
                dest = "hv1" if src == "hv2" else "hv2"
                ovn.multi_chassis(lsps, src, dest)
                at = {}

                def cms(dest=dest):
                    try:
                        for lsp in lsps:   # libvirt's destination tap appears when the migration starts
                            ovn.wait_bound(lsp, dest, additional=True, timeout=60)
                        at["claimed"] = time.monotonic_ns()
                        at["activated"] = time.monotonic_ns() if ovn.wait_activated(lsps, dest, timeout=60) else None
                        ovn.single_chassis(lsps, dest)
                        at["switched"] = time.monotonic_ns()
                    except Exception as e:   # reported with the run
                        at["error"] = repr(e)
                worker = threading.Thread(target=cms, daemon=True)
                worker.start()
                r = rig.migrate_with_virsh(dest, probe_seconds)
                worker.join(70)
                d = dict(r.run_dict(), variant="ovn", ovn_activated=at.get("activated") is not None,
                         ovn_error=at.get("error"), ovn_claimed_before_pause_ms=None,
                         ovn_activated_after_resume_ms=None, ovn_switched_after_resume_ms=None)
                g = guest_clock(r.trace)
                if g:
                    paused, resumed = g["paused_at"], g["paused_at"] + g["pause_ns"]
                    ms = lambda a, b: None if a is None or b is None else round((a - b) / 1e6, 3)
                    d.update(ovn_claimed_before_pause_ms=ms(paused, at.get("claimed")),
                             ovn_activated_after_resume_ms=ms(at.get("activated"), resumed),
                             ovn_switched_after_resume_ms=ms(at.get("switched"), resumed))
                out.append(d)
                if traces is not None:
                    traces.append(r.trace)
                log(f"    run {i + 1:2d}: {r.line()}; OVN: claimed {d['ovn_claimed_before_pause_ms']} ms before the "
                    f"pause, activated (SB) {d['ovn_activated_after_resume_ms']} ms and requested-chassis=DST "
                    f"installed {d['ovn_switched_after_resume_ms']} ms after the resume (guest clock); lost runs "
                    f"(ms from the pause, count): {r.figures.get('lost_runs', [])[:6]}"
                    + (f"; CMS error {at['error']}" if "error" in at else ""))
    return out

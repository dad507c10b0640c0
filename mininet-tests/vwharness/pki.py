"""The certificates of OpenFlow over mutual TLS for one test run, created by the controller's own `vw pki`
(`java -jar JAR pki`) in a temporary directory removed when the run ends. One run shares one PKI: its CAs sign a
switch certificate per (hypervisor, datapath id) as fabrics need them, so topologies that give hv1 different
datapath ids never overwrite each other's certificates."""
import atexit
import os
import shutil
import subprocess
import tempfile

from .controller import JAR


class Pki:
    def __init__(self, directory=None):
        self._own = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="vw-pki-")
        if self._own:
            atexit.register(self.close)
        self._issued = set()

    @property
    def controller_ca(self):
        """What each switch trusts (OVS's CACERT)."""
        return os.path.join(self.dir, "controller-ca.pem")

    @staticmethod
    def cert_name(name, dpid):
        return f"{name}-{dpid}"

    def switch_files(self, name, dpid):
        """(private key, certificate, CA certificate): the three arguments of `ovs-vsctl set-ssl`."""
        base = os.path.join(self.dir, "switches", self.cert_name(name, dpid))
        return f"{base}-key.pem", f"{base}-cert.pem", self.controller_ca

    def ensure(self, switches):
        """Issues the certificates (switches: (name, 16-hex-digit dpid) pairs) not issued yet; the first call
        also creates the CAs and the controller's certificate. Returns self."""
        missing = [(n, d) for n, d in switches if (n, d) not in self._issued]
        if missing or not os.path.exists(os.path.join(self.dir, "controller-cert.pem")):
            argv = ["java", "-jar", JAR, "pki", "--dir", self.dir]
            for name, dpid in missing:
                argv += ["--switch", f"{self.cert_name(name, dpid)}={dpid}"]
            res = subprocess.run(argv, capture_output=True, text=True, timeout=120)
            if res.returncode != 0:
                raise RuntimeError(f"vw pki failed ({res.returncode}): {res.stderr.strip() or res.stdout.strip()}")
            self._issued.update(missing)
        return self

    def ensure_topology(self, topology):
        return self.ensure([(h.name, h.dpid) for h in topology.hypervisors])

    def close(self):
        if self._own:
            shutil.rmtree(self.dir, ignore_errors=True)


_run_pki = None


def run_pki() -> Pki:
    """This run's PKI (created on first use): what the harness's controllers and fabrics use unless told otherwise."""
    global _run_pki
    if _run_pki is None:
        _run_pki = Pki()
    return _run_pki

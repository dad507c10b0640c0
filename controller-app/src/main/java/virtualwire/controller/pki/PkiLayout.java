package virtualwire.controller.pki;

import java.nio.file.Path;
import virtualwire.openflow.channel.OpenFlowTls;

/**
 * Where `vw pki` keeps the fabric's certificates (PEM) in one directory. Two CAs, as ovs-pki has them: the
 * controller CA signs the controller's certificate (each switch trusts it), the switch CA signs the switches'
 * (the controller trusts it); a switch's certificate therefore cannot pass for the controller. The CA keys are
 * under private/: needed only to issue certificates, they can be moved offline.
 */
public record PkiLayout(Path dir) {
    public Path controllerCa() { return dir.resolve("controller-ca.pem"); }
    public Path controllerCaKey() { return dir.resolve("private").resolve("controller-ca-key.pem"); }
    public Path switchCa() { return dir.resolve("switch-ca.pem"); }
    public Path switchCaKey() { return dir.resolve("private").resolve("switch-ca-key.pem"); }
    public Path controllerCert() { return dir.resolve("controller-cert.pem"); }
    public Path controllerKey() { return dir.resolve("controller-key.pem"); }

    /** A hypervisor's switch certificate, for `ovs-vsctl set-ssl`. */
    public Path switchCert(String hypervisor) { return dir.resolve("switches").resolve(fileName(hypervisor) + "-cert.pem"); }

    public Path switchKey(String hypervisor) { return dir.resolve("switches").resolve(fileName(hypervisor) + "-key.pem"); }

    /** A name becomes part of a file name: nothing that could leave the directory. */
    private static String fileName(String name) {
        if (!name.matches("[A-Za-z0-9_][A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException("switch name \"" + name + "\": only letters, digits, '.', '_' and '-' "
                    + "(not first) make a certificate's file name");
        }
        return name;
    }

    /** What the controller's OpenFlow listener needs from this directory. */
    public OpenFlowTls openFlowTls() {
        return new OpenFlowTls(controllerCert(), controllerKey(), switchCa());
    }
}

package virtualwire.controller.pki;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.junit.After;
import org.junit.Test;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.channel.SwitchCertificates;
import virtualwire.topology.config.TopologyLoader;
import virtualwire.topology.model.Topology;

public class FabricPkiTest {
    private final Path dir;
    private final PkiLayout layout;

    public FabricPkiTest() throws Exception {
        dir = Files.createTempDirectory("vw-pki");
        layout = new PkiLayout(dir.resolve("pki"));
    }

    @After
    public void tearDown() throws Exception {
        try (var files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static Topology topology(String hv1Dpid) throws Exception {
        return TopologyLoader.parse("t.yaml", """
                clouds: [{name: c}]
                hypervisors:
                  - {name: hv1, cloud: c, datapath-id: "%s", tunnel-ip: 10.0.0.1}
                  - {name: hv2, cloud: c, datapath-id: "0x2", tunnel-ip: 10.0.0.2}
                vms: []
                wires: []
                """.formatted(hv1Dpid));
    }

    @Test
    public void eachHypervisorGetsACertificatePinningItsDatapathIdSignedByTheSwitchCa() throws Exception {
        List<String> created = new FabricPki(layout).ensure(topology("0x1"));
        assertEquals(created.toString(), 5, created.size());   // two CAs, the controller, two switches
        X509Certificate switchCa = FabricPki.readCertificate(layout.switchCa());
        X509Certificate hv1 = FabricPki.readCertificate(layout.switchCert("hv1"));
        hv1.verify(switchCa.getPublicKey());
        assertEquals(Optional.of(DatapathId.of(1)), SwitchCertificates.datapathId(hv1));
        assertTrue(hv1.getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.2"));   // TLS client
        X509Certificate controller = FabricPki.readCertificate(layout.controllerCert());
        controller.verify(FabricPki.readCertificate(layout.controllerCa()).getPublicKey());
        assertEquals(Optional.empty(), SwitchCertificates.datapathId(controller));   // it cannot pass for a switch
        for (Path key : List.of(layout.switchKey("hv1"), layout.controllerKey(), layout.switchCaKey(), layout.controllerCaKey())) {
            assertEquals(key.toString(), "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
        }
    }

    @Test
    public void runningAgainCreatesOnlyWhatIsMissingOrNoLongerMatches() throws Exception {
        new FabricPki(layout).ensure(topology("0x1"));
        byte[] hv2 = Files.readAllBytes(layout.switchCert("hv2"));
        byte[] hv1 = Files.readAllBytes(layout.switchCert("hv1"));
        assertEquals(List.of(), new FabricPki(layout).ensure(topology("0x1")));
        List<String> again = new FabricPki(layout).ensure(topology("0x11"));   // hv1's datapath id changed
        assertEquals(again.toString(), 1, again.size());
        assertNotEquals(new String(hv1), new String(Files.readAllBytes(layout.switchCert("hv1"))));
        assertEquals(new String(hv2), new String(Files.readAllBytes(layout.switchCert("hv2"))));
        assertEquals(Optional.of(DatapathId.of(0x11)),
                SwitchCertificates.datapathId(FabricPki.readCertificate(layout.switchCert("hv1"))));
    }

    @Test(expected = IllegalArgumentException.class)
    public void aSwitchNameCannotLeaveTheDirectory() {
        layout.switchCert("../controller");
    }
}

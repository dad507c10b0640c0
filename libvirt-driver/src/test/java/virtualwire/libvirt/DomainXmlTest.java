package virtualwire.libvirt;

import static org.junit.Assert.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.Test;

/** On the XML libvirt 9.0 reported for a running test guest (`virsh dumpxml v1`, saved unchanged). */
public class DomainXmlTest {
    private static String liveXml() throws IOException {
        try (InputStream in = DomainXmlTest.class.getResourceAsStream("/domain-v1-live.xml")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    public void interfacesOfARunningDomain() throws IOException {
        assertEquals(List.of(new DomainInterface("bridge", "02:00:00:00:05:02", Optional.of("v1-eth0"),
                Optional.of("br-int"), Optional.of("openvswitch"))), DomainXml.interfaces(liveXml()));
    }

    @Test
    public void destinationXmlNamesTheDestinationsBridgeAndKeepsTheRest() throws IOException {
        String moved = DomainXml.withBridge(liveXml(), "br-vw");
        assertEquals(List.of(new DomainInterface("bridge", "02:00:00:00:05:02", Optional.of("v1-eth0"),
                Optional.of("br-vw"), Optional.of("openvswitch"))), DomainXml.interfaces(moved));
        assertEquals(true, moved.contains("<name>v1</name>") && moved.contains("qemu64") && !moved.contains("br-int"));
    }

    @Test
    public void aDomainWithoutInterfaces() {
        assertEquals(List.of(), DomainXml.interfaces("<domain type='qemu'><name>x</name><devices/></domain>"));
    }

    @Test(expected = IllegalArgumentException.class)
    public void notXml() {
        DomainXml.interfaces("<domain");
    }
}

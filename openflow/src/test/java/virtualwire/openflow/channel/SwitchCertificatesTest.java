package virtualwire.openflow.channel;

import static org.junit.Assert.assertEquals;

import java.util.Optional;
import org.junit.Test;
import org.projectfloodlight.openflow.types.DatapathId;

public class SwitchCertificatesTest {
    @Test
    public void commonNameCarriesTheDatapathIdAsSixteenHexDigits() {
        assertEquals("dpid:00000000000000ab", SwitchCertificates.commonName(DatapathId.of(0xab)));
        assertEquals(Optional.of(DatapathId.of(0xab)),
                SwitchCertificates.datapathId("OU=hv1,O=VirtualWire switch,CN=dpid:00000000000000AB"));
    }

    @Test
    public void subjectsOutsideTheConventionNameNoDatapathId() {
        assertEquals(Optional.empty(), SwitchCertificates.datapathId("CN=VirtualWire controller"));
        assertEquals(Optional.empty(), SwitchCertificates.datapathId("CN=dpid:1"));
        assertEquals(Optional.empty(), SwitchCertificates.datapathId("CN=dpid:00000000000000zz"));
        assertEquals(Optional.empty(), SwitchCertificates.datapathId("O=VirtualWire switch"));
        assertEquals(Optional.empty(),   // two CNs: which one would be meant?
                SwitchCertificates.datapathId("CN=dpid:0000000000000001+CN=dpid:0000000000000002"));
        assertEquals(Optional.empty(), SwitchCertificates.datapathId("not a name"));
        // digits, but not ASCII ones (fullwidth, Arabic-Indic): another convention, not an error
        assertEquals(Optional.empty(), SwitchCertificates.datapathId("CN=dpid:000000000000000\uFF11"));
        assertEquals(Optional.empty(), SwitchCertificates.datapathId("CN=dpid:000000000000000\u0661"));
    }
}

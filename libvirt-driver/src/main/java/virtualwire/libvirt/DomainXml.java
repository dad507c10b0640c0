package virtualwire.libvirt;

import java.io.StringReader;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** Reads a domain's interfaces from its XML, and rewrites it for a destination whose bridge has another name. */
public final class DomainXml {
    private DomainXml() {}

    public static List<DomainInterface> interfaces(String xml) {
        List<DomainInterface> out = new ArrayList<>();
        for (Element i : interfaceElements(parse(xml))) {
            out.add(new DomainInterface(i.getAttribute("type"), attr(i, "mac", "address").orElse(""),
                    attr(i, "target", "dev"), attr(i, "source", "bridge"), attr(i, "virtualport", "type")));
        }
        return out;
    }

    /** The same domain with every bridge interface on {@code bridge} (the destination's integration bridge). */
    public static String withBridge(String xml, String bridge) {
        Document doc = parse(xml);
        for (Element i : interfaceElements(doc)) {
            NodeList sources = i.getElementsByTagName("source");
            if (i.getAttribute("type").equals("bridge") && sources.getLength() > 0) {
                ((Element) sources.item(0)).setAttribute("bridge", bridge);
            }
        }
        try {
            StringWriter w = new StringWriter();
            var t = TransformerFactory.newInstance().newTransformer();
            t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
            t.transform(new DOMSource(doc), new StreamResult(w));
            return w.toString();
        } catch (Exception e) {
            throw new IllegalStateException("cannot write domain XML: " + e.getMessage(), e);
        }
    }

    private static List<Element> interfaceElements(Document doc) {
        List<Element> out = new ArrayList<>();
        NodeList devices = doc.getDocumentElement().getElementsByTagName("devices");
        if (devices.getLength() == 0) return out;
        NodeList children = devices.item(0).getChildNodes();
        for (int k = 0; k < children.getLength(); k++) {
            if (children.item(k) instanceof Element e && e.getTagName().equals("interface")) out.add(e);
        }
        return out;
    }

    private static Optional<String> attr(Element parent, String child, String name) {
        NodeList nodes = parent.getElementsByTagName(child);
        if (nodes.getLength() == 0) return Optional.empty();
        String v = ((Element) nodes.item(0)).getAttribute(name);
        return v.isEmpty() ? Optional.empty() : Optional.of(v);
    }

    private static Document parse(String xml) {
        try {
            var f = DocumentBuilderFactory.newInstance();
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            var builder = f.newDocumentBuilder();
            builder.setErrorHandler(new org.xml.sax.helpers.DefaultHandler());   // errors throw, not print
            return builder.parse(new InputSource(new StringReader(xml)));
        } catch (Exception e) {
            throw new IllegalArgumentException("not a domain XML: " + e.getMessage(), e);
        }
    }
}

package virtualwire.controller.console;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** A stand-in for the controller's API: canned answers per "METHOD /path", and a record of what was asked. */
final class FakeApi implements AutoCloseable {
    record Answer(int status, String contentType, String body) {}
    record Request(String method, String path, String contentType, String body) {}

    static final String WIRES = """
            [{"name":"wa","a":"a1:eth0","b":"a2:eth0","tunnelKey":1,"state":"active","reason":"","switches":["hv1"],"packets":12,"bytes":1176,"mtu":1450},
             {"name":"wc","a":"c1:eth0","b":"c2:eth0","tunnelKey":3,"state":"pending","reason":"c2:eth0 is not attached (no port c2-eth0 on any switch)","switches":[],"packets":0,"bytes":0}]""";
    static final String HYPERVISORS = """
            [{"name":"hv1","cloud":"lab","dpid":"00:00:00:00:00:00:00:01","tunnelIp":"10.0.0.1","libvirtUri":null,"connected":true},
             {"name":"hv2","cloud":"lab","dpid":"00:00:00:00:00:00:00:02","tunnelIp":"10.0.0.2","publicIp":"203.0.113.2","libvirtUri":"qemu+ssh://hv2/system","connected":false}]""";
    static final String VMS = """
            [{"name":"a1","hypervisor":"hv1","kind":"vm","nics":[{"name":"eth0","mac":"02:00:00:00:00:a1","port":"a1-eth0","wire":"wa","attached":{"hypervisor":"hv1","dpid":"00:00:00:00:00:00:00:01","port":3}}]},
             {"name":"a2","hypervisor":"hv1","kind":"vm","nics":[{"name":"eth0","mac":"02:00:00:00:00:a2","port":"a2-eth0","wire":"wa","attached":{"hypervisor":"hv1","dpid":"00:00:00:00:00:00:00:01","port":4}}]},
             {"name":"c1","hypervisor":"hv2","kind":"router","nics":[{"name":"eth0","mac":"02:00:00:00:00:c1","port":"c1-eth0","wire":"wc","attached":null},
                                                                   {"name":"eth1","mac":"02:00:00:00:01:c1","port":"c1-eth1","wire":null,"attached":null}]},
             {"name":"c2","hypervisor":"hv2","kind":"vm","nics":[{"name":"eth0","mac":"02:00:00:00:00:c2","port":"c2-eth0","wire":"wc","attached":null}]}]""";
    static final String SWITCHES = """
            [{"dpid":"00:00:00:00:00:00:00:01","hypervisor":"hv1","connected":true,"address":"/127.0.0.1:40000",
              "ports":[{"number":3,"name":"a1-eth0","mac":"02:00:00:00:00:a1","linkUp":true},{"number":4,"name":"a2-eth0","mac":"02:00:00:00:00:a2","linkUp":false}]},
             {"dpid":"00:00:00:00:00:00:00:09","hypervisor":null,"connected":true,"address":"/127.0.0.1:40001","ports":[]}]""";
    static final String FLOWS = """
            [{"table":0,"priority":1000,"cookie":"0x5657000000000001","wire":"wa","match":"in_port=3","actions":"output:4","packets":3,"bytes":294},
             {"table":0,"priority":0,"cookie":"0x0","wire":null,"match":"","actions":"drop","packets":0,"bytes":0}]""";
    static final String MIGRATIONS = """
            [{"id":"m1","vm":"a1","from":"hv1","to":"hv2","phase":"COMPLETED","startedAt":0,"nics":["eth0"],"atDestination":["eth0"],
              "timeline":[{"atMs":0.0,"origin":"api","event":"migration of a1 from hv1 to hv2 requested","phase":"REQUESTED"},
                          {"atMs":812.5,"origin":"ovs","event":"the switches confirmed","phase":"COMPLETED"}]}]""";

    private final HttpServer server;
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
    final List<Request> requests = new CopyOnWriteArrayList<>();

    /** With the GET answers of a small fabric: two hypervisors, four VMs, two wires. */
    static FakeApi withFabric() throws IOException {
        FakeApi api = new FakeApi();
        api.json("GET", "/api/v1/wires", 200, WIRES);
        api.json("GET", "/api/v1/hypervisors", 200, HYPERVISORS);
        api.json("GET", "/api/v1/vms", 200, VMS);
        api.json("GET", "/api/v1/switches", 200, SWITCHES);
        api.json("GET", "/api/v1/flows/hv1", 200, FLOWS);
        api.json("GET", "/api/v1/migrations", 200, MIGRATIONS);
        return api;
    }

    FakeApi() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            try (exchange) {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                String path = exchange.getRequestURI().getRawPath();
                requests.add(new Request(exchange.getRequestMethod(), path,
                        exchange.getRequestHeaders().getFirst("Content-Type"), body));
                Answer answer = answers.getOrDefault(exchange.getRequestMethod() + " " + path,
                        new Answer(404, "application/json", "{\"error\":\"no such endpoint: " + path + "\"}"));
                byte[] bytes = answer.body().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", answer.contentType());
                exchange.sendResponseHeaders(answer.status(), bytes.length == 0 ? -1 : bytes.length);
                if (bytes.length > 0) exchange.getResponseBody().write(bytes);
            }
        });
        server.start();
    }

    FakeApi json(String method, String path, int status, String body) {
        answers.put(method + " " + path, new Answer(status, "application/json", body));
        return this;
    }

    FakeApi text(String method, String path, int status, String contentType, String body) {
        answers.put(method + " " + path, new Answer(status, contentType, body));
        return this;
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}

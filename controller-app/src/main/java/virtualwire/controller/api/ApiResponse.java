package virtualwire.controller.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** An HTTP response: status, content type and body. */
public record ApiResponse(int status, String contentType, byte[] body) {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public static ApiResponse json(int status, Object value) {
        try {
            return new ApiResponse(status, "application/json", JSON.writeValueAsBytes(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ApiResponse ok(Object value) {
        return json(200, value);
    }

    public static ApiResponse yaml(String text) {
        return new ApiResponse(200, "application/yaml", text.getBytes(StandardCharsets.UTF_8));
    }

    public static ApiResponse error(ApiException e) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", e.getMessage());
        if (!e.details().isEmpty()) body.put("errors", e.details());
        return json(e.status(), body);
    }
}

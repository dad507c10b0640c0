package virtualwire.controller.console;

import java.util.List;

/**
 * A console request that failed: the API answered with an error status (its {@code error} message, and for a
 * topology the located {@code errors}), or it could not be reached at all ({@link #NO_ANSWER}).
 */
public final class ApiException extends Exception {
    /** The status of a request that got no HTTP answer (connection refused, timeout). */
    public static final int NO_ANSWER = 0;

    private final int status;
    private final List<String> details;

    public ApiException(int status, String message, List<String> details) {
        super(message);
        this.status = status;
        this.details = List.copyOf(details);
    }

    public static ApiException noAnswer(String message) {
        return new ApiException(NO_ANSWER, message, List.of());
    }

    public int status() { return status; }

    /** Located errors, one per line ({@code file:line:col: field: message}); empty for most errors. */
    public List<String> details() { return details; }

    /** The one line the console prints: {@code error: a1:eth0 is already on wire wa (409)}. */
    public String oneLine() {
        return "error: " + getMessage() + (status == NO_ANSWER ? "" : " (" + status + ")");
    }
}

package virtualwire.openflow.request;

import java.time.Duration;

/** A switch did not answer a request within its deadline. */
public final class RequestTimeoutException extends RuntimeException {
    public RequestTimeoutException(String what, Duration timeout) {
        super(what + ": no reply within " + timeout.toMillis() + " ms");
    }
}

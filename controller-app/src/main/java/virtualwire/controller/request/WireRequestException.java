package virtualwire.controller.request;

/** A connect or disconnect that was refused; nothing changed. The kind tells an API which status to answer. */
public final class WireRequestException extends RuntimeException {
    public enum Kind { NOT_FOUND, CONFLICT, INVALID, FAILED }

    private final Kind kind;

    public WireRequestException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public WireRequestException(String message, Throwable cause) {
        super(message, cause);
        this.kind = Kind.FAILED;
    }

    public Kind kind() { return kind; }
}

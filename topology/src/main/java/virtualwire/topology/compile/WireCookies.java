package virtualwire.topology.compile;

import java.util.OptionalLong;

/**
 * Cookies name the wire: the top 16 bits mark VirtualWire's cookie space ("VW"), the low 24 bits carry the
 * wire's tunnel key, which is unique in the fabric and stable across restarts. Rules outside this space
 * belong to someone else and are never touched.
 */
public final class WireCookies {
    public static final long SPACE = 0x5657_0000_0000_0000L;
    public static final long SPACE_MASK = 0xffff_0000_0000_0000L;

    private WireCookies() {}

    public static long of(long tunnelKey) {
        return SPACE | tunnelKey;
    }

    public static boolean isOurs(long cookie) {
        return (cookie & SPACE_MASK) == SPACE;
    }

    public static OptionalLong tunnelKeyOf(long cookie) {
        return isOurs(cookie) ? OptionalLong.of(cookie & 0xff_ffffL) : OptionalLong.empty();
    }
}

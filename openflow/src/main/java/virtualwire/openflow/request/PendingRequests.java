package virtualwire.openflow.request;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import org.projectfloodlight.openflow.protocol.OFErrorMsg;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.protocol.OFStatsReply;
import org.projectfloodlight.openflow.protocol.OFStatsReplyFlags;
import virtualwire.openflow.flow.FlowMod;

/**
 * The requests of one switch connection awaiting replies, keyed by xid. A flow-mod batch takes a contiguous
 * xid range closed by its barrier's xid, so an error naming any xid in the range marks that batch entry.
 * Thread-safe: requests are registered from any thread, replies arrive on the channel's event loop.
 */
public final class PendingRequests {

    private final String dpid;
    private final Map<Long, Request<?>> requests = new ConcurrentHashMap<>();
    /** Batches keyed by their barrier xid (the last of their range). */
    private final ConcurrentSkipListMap<Long, FlowBatch> batches = new ConcurrentSkipListMap<>();
    private long nextXid = 1;

    public PendingRequests(String dpid) {
        this.dpid = dpid;
    }

    /** Allocates {@code count} consecutive xids; ranges never wrap across 2^32 so range lookups stay ordered. */
    public synchronized long allocateXids(int count) {
        if (nextXid + count > 0xffff_ffffL) nextXid = 1;
        long first = nextXid;
        nextXid += count;
        return first;
    }

    /** A request answered by one reply message (barrier, echo) or by a multipart series (stats). */
    public <T> CompletableFuture<T> register(long xid, String what, ReplyCollector<T> collector) {
        Request<T> r = new Request<>(what, collector);
        requests.put(xid, r);
        r.future.whenComplete((v, e) -> requests.remove(xid, r));
        return r.future;
    }

    public CompletableFuture<Void> registerBatch(long firstXid, List<FlowMod> mods) {
        FlowBatch batch = new FlowBatch(firstXid, mods);
        long barrierXid = firstXid + mods.size();
        batches.put(barrierXid, batch);
        batch.future.whenComplete((v, e) -> batches.remove(barrierXid, batch));
        return batch.future;
    }

    /** Routes a reply or error to its request; false when no request waits for this xid. */
    public boolean dispatch(OFMessage msg) {
        long xid = msg.getXid();
        Request<?> r = requests.get(xid);
        if (r != null) {
            if (msg instanceof OFErrorMsg err) r.future.completeExceptionally(new OpenFlowErrorException(r.what, err));
            else r.accept(msg);
            return true;
        }
        Map.Entry<Long, FlowBatch> e = batches.ceilingEntry(xid);
        if (e == null || e.getValue().firstXid > xid) return false;
        FlowBatch batch = e.getValue();
        if (msg instanceof OFErrorMsg err) {
            batch.reject((int) (xid - batch.firstXid), err);
        } else if (xid == e.getKey()) {
            batch.finish();     // the closing barrier's reply: the switch has processed every flow-mod before it
        } else {
            return false;
        }
        return true;
    }

    /** Fails every pending request, e.g. on disconnect: no future may hang. */
    public void failAll(Throwable cause) {
        for (Request<?> r : List.copyOf(requests.values())) r.future.completeExceptionally(cause);
        for (FlowBatch b : List.copyOf(batches.values())) b.future.completeExceptionally(cause);
    }

    public int size() {
        return requests.size() + batches.size();
    }

    /** Turns the reply messages of one xid into a result; returns null while more parts are expected. */
    @FunctionalInterface
    public interface ReplyCollector<T> {
        T accept(OFMessage reply);

        static ReplyCollector<OFMessage> single() {
            return reply -> reply;
        }

        /** Collects every part of a multipart reply until the REPLY_MORE flag clears. */
        static <S extends OFStatsReply> ReplyCollector<List<S>> multipart(Class<S> type) {
            List<S> parts = new ArrayList<>();
            return reply -> {
                parts.add(type.cast(reply));
                return ((OFStatsReply) reply).getFlags().contains(OFStatsReplyFlags.REPLY_MORE) ? null : parts;
            };
        }
    }

    private static final class Request<T> {
        final String what;
        final ReplyCollector<T> collector;
        final CompletableFuture<T> future = new CompletableFuture<>();

        Request(String what, ReplyCollector<T> collector) {
            this.what = what;
            this.collector = collector;
        }

        void accept(OFMessage msg) {
            try {
                T result = collector.accept(msg);
                if (result != null) future.complete(result);
            } catch (RuntimeException e) {
                future.completeExceptionally(new IllegalStateException(what + ": unexpected reply " + msg.getType(), e));
            }
        }
    }

    private final class FlowBatch {
        final long firstXid;
        final List<FlowMod> mods;
        final List<FlowBatchException.Rejection> rejections = new ArrayList<>();
        final CompletableFuture<Void> future = new CompletableFuture<>();

        FlowBatch(long firstXid, List<FlowMod> mods) {
            this.firstXid = firstXid;
            this.mods = mods;
        }

        void reject(int index, OFErrorMsg err) {
            String what = index < mods.size() ? "flow-mod #" + index : "batch barrier";
            OpenFlowErrorException error = new OpenFlowErrorException(what, err);
            if (index >= mods.size()) future.completeExceptionally(error);
            else rejections.add(new FlowBatchException.Rejection(index, mods.get(index), error));
        }

        void finish() {
            if (rejections.isEmpty()) future.complete(null);
            else future.completeExceptionally(new FlowBatchException(dpid, rejections));
        }
    }
}

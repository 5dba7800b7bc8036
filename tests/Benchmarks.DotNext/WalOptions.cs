using DotNext.Net.Cluster.Consensus.Raft.StateMachine;

namespace Benchmarks.DotNext;

/// <summary>
/// The node's <see cref="WriteAheadLog"/> configuration: durable, and tuned for throughput.
/// </summary>
/// <remarks>
/// <para>What is durable when (DotNext 6.12, read from its code): appends write into the log's pages in memory and wake
/// a background flusher; <c>CommitAsync(index)</c> waits until the flusher has written and synced everything up to
/// <c>index</c>. A follower answers AppendEntries after appending the entries and committing up to the leader's commit
/// index, so it <b>acknowledges new entries before they are on its disk</b> (they reach it at a later commit). The
/// leader commits an index only after its own flush of it, so a committed entry is on the leader's disk and in the
/// memory (not necessarily the disk) of another node; with <c>private</c> pages that memory is the follower process's
/// own, so even a follower process crash (not only a power loss) forgets what it acknowledged. Our nodes fsync before
/// every acknowledgement, leader and followers alike. <c>Options.FlushOnCommit</c> and <c>FlushInterval</c> are obsolete no-ops in 6.12: there is no
/// setting that makes a follower sync before it answers.</para>
/// <para>The flush itself, by <c>--wal</c>: <c>private</c> (DotNext's documented "best write
/// performance") keeps pages in private memory and writes the flushed range with <c>O_DSYNC</c>; <c>shared</c> (DotNext's
/// default, and the default here) writes into memory-mapped files and syncs them (on Linux <c>msync(MS_SYNC)</c> of the chunk's mapping, which
/// writes back and waits like an fdatasync of it; the extra fsync is Windows-only); <c>direct</c> writes private pages with
/// <c>O_DIRECT | O_DSYNC</c>. No integrity hash (DotNext's default); 4 MiB chunk files, as our FASTER pages.</para>
/// <para>Measured against each other (10 s runs, C = 256, P = 64, alternated): <c>private</c> 25.2k, 21.5k, 20.6k, 20.5k,
/// 23.0k ops/s (median 21.5k); <c>shared</c> 23.9k, 23.7k, 23.9k (median 23.9k, +11 %, and steadier; the same durability:
/// both sync the flushed range before a commit, and a restart trusts only what the checkpoint file says was flushed);
/// <c>direct</c> 19.6k. The
/// default is therefore <c>shared</c>: DotNext's own default, as durable, and the better of the two here.</para>
/// </remarks>
internal static class WalOptions
{
    public static WriteAheadLog.Options Create(string location, string mode) => new()
    {
        Location = location,
        ChunkSize = 4 << 20,
        MemoryManagement = mode is "shared" ? WriteAheadLog.MemoryManagementStrategy.SharedMemory : WriteAheadLog.MemoryManagementStrategy.PrivateMemory,
        NoBuffering = mode is "direct",

        // Waiters on the applied index: one per writer at most.
        ConcurrencyLevel = 1024,
    };
}

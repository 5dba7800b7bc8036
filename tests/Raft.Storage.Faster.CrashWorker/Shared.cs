using Raft.Core.Messages;

namespace Raft.Storage.Faster.CrashWorker;

// Shared with the crash tests (compiled into both): the options the worker opens with, and the payload of each
// (index, term), so the parent can check every byte without being told the data.
public static class Payloads
{
    public static byte[] For(long index, long term)
    {
        var seed = unchecked((int)(index * 1_000_003 ^ term * 7919));
        var random = new Random(seed);
        var length = Environment.GetEnvironmentVariable("RAFT_CRASH_BIG") is null
            ? (random.Next(10) == 0 ? random.Next(2000, 9000) : random.Next(0, 300))
            : random.Next(10) switch { 0 => random.Next(60_000, 65_500), < 4 => random.Next(9_000, 40_000), _ => random.Next(0, 300) };
        var data = new byte[length];
        random.NextBytes(data);
        return data;
    }

    public static Entry[] Entries(long first, int count, long term) =>
        [.. Enumerable.Range(0, count).Select(i => new Entry(first + i, term, EntryType.Normal, For(first + i, term)))];
}

public static class CrashOptions
{
    // Small pages and segments so that records pad pages, cross segments and compaction deletes files; a short
    // checkpoint interval so the metadata's durable point moves often.
    public static FasterLogStoreOptions Log(string directory) => new()
    {
        Directory = directory,
        PageSize = 64L << 10,
        SegmentSize = 256L << 10,
        MemorySize = 256L << 10,
        CacheSize = 64L << 10,
        CheckpointInterval = TimeSpan.FromMilliseconds(20),
        ZeroFillSegments = true,
    };
}

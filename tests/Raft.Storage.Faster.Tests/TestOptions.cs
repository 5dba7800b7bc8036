namespace Raft.Storage.Faster.Tests;

// Small pages and segments, so tests cross page and segment boundaries quickly; 2 MiB pages still hold the
// conformance suite's 1 MiB entry.
public static class TestOptions
{
    public static FasterLogStoreOptions Log(string directory) => new()
    {
        Directory = directory,
        PageSize = 2L << 20,
        SegmentSize = 4L << 20,
        MemorySize = 8L << 20,
        CacheSize = 1L << 20,
        ZeroFillSegments = false,
    };

    // Tiny pages and segments: many page paddings and segment switches with little data.
    public static FasterLogStoreOptions Tiny(string directory) => Log(directory) with
    {
        PageSize = 64L << 10,
        SegmentSize = 128L << 10,
        MemorySize = 256L << 10,
        CacheSize = 16L << 10,
    };
}

namespace Orleans.Configuration;

/// <summary>Configuration of the Orleans journaling provider on Raft (see <c>AddRaftJournalStorage</c>).</summary>
/// <remarks>
/// The journals live in the replicated store of a Raft grain-storage provider registered on the same silo
/// (<see cref="GrainStorageName"/>), so they share its Raft group, durability and <c>MaxStateSize</c>: every append
/// and every compaction (a replace carrying the grain's whole state) must fit in it.
/// </remarks>
public sealed class RaftJournalStorageOptions
{
    /// <summary>Default of <see cref="CompactionRecordThreshold"/>.</summary>
    public const int DefaultCompactionRecordThreshold = 256;

    /// <summary>Default of <see cref="CompactionByteThreshold"/>: 256 KiB.</summary>
    public const int DefaultCompactionByteThreshold = 256 * 1024;

    /// <summary>
    /// The name of the Raft grain storage (<c>AddRaftGrainStorage(name, ...)</c>) whose replicated store holds the
    /// journals. Required.
    /// </summary>
    public string? GrainStorageName { get; set; }

    /// <summary>
    /// Journal records (one per write of the grain's state manager) after which the next write compacts the journal:
    /// the manager then replaces it by a snapshot of the grain's state. Defaults to 256.
    /// </summary>
    public int CompactionRecordThreshold { get; set; } = DefaultCompactionRecordThreshold;

    /// <summary>Journal bytes after which the next write compacts the journal. Defaults to 256 KiB.</summary>
    public int CompactionByteThreshold { get; set; } = DefaultCompactionByteThreshold;
}

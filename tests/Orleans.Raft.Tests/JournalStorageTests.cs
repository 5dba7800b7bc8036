using System.Text;
using Orleans.Raft.StateMachine;
using Orleans.Raft.Storage;
using Orleans.Storage;

namespace Orleans.Raft.Tests;

// The journal API of the provider on the silos of a running 3-silo cluster: every call goes through that silo's Raft
// node (forwarded to the leader when it follows), reads are linearizable on every silo.
[Collection(SharedClusterCollection.Name)]
public sealed class JournalStorageTests(SharedClusterFixture fixture)
{
    private readonly RaftTestCluster _cluster = fixture.Cluster;

    private RaftGrainStorage Silo(int i) => RaftTestCluster.Storage(_cluster.Cluster.Silos[i]);

    private static GrainStateKey NewJournal() => new("journaltest", Guid.NewGuid().ToString("N"), "log");

    [Fact]
    public async Task Read_OfNeverWrittenJournal_IsEmptyWithETagZero()
    {
        var journal = await Silo(1).ReadJournalAsync(NewJournal(), CancellationToken.None);

        Assert.False(journal.Exists);
        Assert.Equal((0L, 0L, 0L), (journal.ETag, journal.Count, journal.FirstRetained));
        Assert.Empty(journal.Records);
        Assert.Null(journal.Snapshot);
    }

    // Linearizable: a read on any silo, started after an append was acknowledged on another, sees it.
    [Fact]
    public async Task AppendOnEachSilo_IsReadOnEveryOtherSilo()
    {
        var key = NewJournal();
        long etag = 0;
        for (var writer = 0; writer < 3; writer++)
        {
            etag = await Silo(writer).AppendJournalAsync(key, etag, Records($"w{writer}a", $"w{writer}b"), Props(("format", "json")), CancellationToken.None);
            for (var reader = 0; reader < 3; reader++)
            {
                var journal = await Silo(reader).ReadJournalAsync(key, CancellationToken.None);
                Assert.Equal(etag, journal.ETag);
                Assert.Equal(2 * (writer + 1), journal.Count);
                Assert.Equal("json", journal.Properties["format"]);
            }
        }

        var all = await Silo(2).ReadJournalAsync(key, CancellationToken.None);
        Assert.Equal(["w0a", "w0b", "w1a", "w1b", "w2a", "w2b"], Texts(all.Records));
        Assert.Equal(["w1a", "w1b"], Texts(await Silo(0).ReadJournalRangeAsync(key, 2, 4, CancellationToken.None)));
    }

    [Fact]
    public async Task Append_WithStaleETag_ThrowsConflictWithBothETags_AndAppendsNothing()
    {
        var key = NewJournal();
        var first = await Silo(0).AppendJournalAsync(key, 0, Records("a"), null, CancellationToken.None);
        var second = await Silo(1).AppendJournalAsync(key, first, Records("b"), null, CancellationToken.None);

        var conflict = await Assert.ThrowsAsync<RaftJournalConflictException>(
            () => Silo(2).AppendJournalAsync(key, first, Records("stale"), null, CancellationToken.None));
        Assert.IsAssignableFrom<InconsistentStateException>(conflict);
        Assert.Equal((second, first), (conflict.StoredETag, conflict.ExpectedETag));
        Assert.Equal(["a", "b"], Texts((await Silo(0).ReadJournalAsync(key, CancellationToken.None)).Records));
    }

    [Fact]
    public async Task Replace_CompactsToItsRecords_AndFencesTheOldETag()
    {
        var key = NewJournal();
        var appended = await Silo(0).AppendJournalAsync(key, 0, Records("a", "b", "c"), Props(("format", "json")), CancellationToken.None);
        var replaced = await Silo(1).ReplaceJournalAsync(key, appended, Records("abc"), null, CancellationToken.None);

        var journal = await Silo(2).ReadJournalAsync(key, CancellationToken.None);
        Assert.Equal((replaced, 1L), (journal.ETag, journal.Count));
        Assert.Equal(["abc"], Texts(journal.Records));
        Assert.Equal("json", journal.Properties["format"]);
        await Assert.ThrowsAsync<RaftJournalConflictException>(
            () => Silo(0).AppendJournalAsync(key, appended, Records("d"), null, CancellationToken.None));
    }

    [Fact]
    public async Task Delete_LeavesTombstone_ThatOnlyItsETagCanWriteAgain()
    {
        var key = NewJournal();
        var appended = await Silo(0).AppendJournalAsync(key, 0, Records("a"), null, CancellationToken.None);
        var tombstone = await Silo(2).DeleteJournalAsync(key, appended, CancellationToken.None);

        var journal = await Silo(1).ReadJournalAsync(key, CancellationToken.None);
        Assert.False(journal.Exists);
        Assert.Equal((tombstone, 0L), (journal.ETag, journal.Count));
        await Assert.ThrowsAsync<RaftJournalConflictException>(() => Silo(1).AppendJournalAsync(key, 0, Records("zombie"), null, CancellationToken.None));
        await Silo(1).AppendJournalAsync(key, tombstone, Records("new"), null, CancellationToken.None);
        Assert.Equal(["new"], Texts((await Silo(0).ReadJournalAsync(key, CancellationToken.None)).Records));
    }

    [Fact]
    public async Task Snapshot_WithTrim_KeepsETag_AndTrimmedRangeReadsFailClearly()
    {
        var key = NewJournal();
        var etag = await Silo(0).AppendJournalAsync(key, 0, Records(Enumerable.Range(0, 10).Select(i => $"r{i}").ToArray()), null, CancellationToken.None);

        var incarnation = (await Silo(1).ReadJournalAsync(key, CancellationToken.None)).Incarnation;
        Assert.Equal(etag, incarnation);
        Assert.Equal(JournalSnapshotOutcome.Saved, await Silo(1).SaveJournalSnapshotAsync(key, incarnation, 6, Encoding.UTF8.GetBytes("view@6"), trimHistory: true, CancellationToken.None));
        Assert.Equal(JournalSnapshotOutcome.NotNewer, await Silo(2).SaveJournalSnapshotAsync(key, incarnation, 4, Encoding.UTF8.GetBytes("view@4"), trimHistory: false, CancellationToken.None));
        await Assert.ThrowsAsync<RaftJournalRangeException>(
            () => Silo(2).SaveJournalSnapshotAsync(key, incarnation, 11, Encoding.UTF8.GetBytes("future"), trimHistory: false, CancellationToken.None));
        Assert.Equal(JournalSnapshotOutcome.IncarnationChanged, await Silo(2).SaveJournalSnapshotAsync(key, incarnation + 1, 8, Encoding.UTF8.GetBytes("other"), trimHistory: true, CancellationToken.None));

        var journal = await Silo(2).ReadJournalAsync(key, CancellationToken.None);
        Assert.Equal((etag, 10L, 6L, 6L), (journal.ETag, journal.Count, journal.FirstRetained, journal.SnapshotCount));
        Assert.Equal("view@6", Encoding.UTF8.GetString(journal.Snapshot!.Value.Span));
        Assert.Equal(["r6", "r7", "r8", "r9"], Texts(journal.Records));

        var trimmed = await Assert.ThrowsAsync<RaftJournalRangeException>(() => Silo(0).ReadJournalRangeAsync(key, 5, 8, CancellationToken.None));
        Assert.Equal((6L, 10L), (trimmed.FirstRetained, trimmed.Count));
        Assert.Contains("trimmed", trimmed.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<RaftJournalRangeException>(() => Silo(0).ReadJournalRangeAsync(key, 6, 11, CancellationToken.None));
        Assert.Equal(["r7", "r8"], Texts(await Silo(0).ReadJournalRangeAsync(key, 7, 9, CancellationToken.None)));

        // The snapshot never changed the ETag, so the appender goes on without a conflict.
        await Silo(1).AppendJournalAsync(key, etag, Records("r10"), null, CancellationToken.None);
    }

    [Fact]
    public async Task Append_LargerThanMaxStateSize_IsRejectedBeforeProposing()
    {
        var key = NewJournal();
        var huge = new ReadOnlyMemory<byte>[] { new byte[600 * 1024], new byte[600 * 1024] };

        var ex = await Assert.ThrowsAsync<RaftStateTooLargeException>(() => Silo(0).AppendJournalAsync(key, 0, huge, null, CancellationToken.None));
        Assert.Contains("MaxStateSize", ex.Message, StringComparison.Ordinal);
        Assert.False((await Silo(1).ReadJournalAsync(key, CancellationToken.None)).Exists);
    }

    [Fact]
    public async Task ConcurrentAppendersWithTheSameETag_ExactlyOneWins()
    {
        var key = NewJournal();
        var etag = await Silo(0).AppendJournalAsync(key, 0, Records("base"), null, CancellationToken.None);
        var attempts = Enumerable.Range(0, 3).Select(async i =>
        {
            try
            {
                await Silo(i).AppendJournalAsync(key, etag, Records($"from{i}"), null, CancellationToken.None);
                return true;
            }
            catch (RaftJournalConflictException)
            {
                return false;
            }
        }).ToArray();

        Assert.Equal(1, (await Task.WhenAll(attempts)).Count(won => won));
        Assert.Equal(2, (await Silo(2).ReadJournalAsync(key, CancellationToken.None)).Count);
    }

    private static ReadOnlyMemory<byte>[] Records(params string[] records) =>
        records.Select(r => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(r)).ToArray();

    private static Dictionary<string, string> Props(params (string Name, string Value)[] properties) =>
        properties.ToDictionary(p => p.Name, p => p.Value);

    private static string[] Texts(IEnumerable<ReadOnlyMemory<byte>> records) => records.Select(r => Encoding.UTF8.GetString(r.Span)).ToArray();
}

using System.Buffers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Journaling;
using Orleans.Raft.Journaling;
using Orleans.Storage;

namespace Orleans.Raft.Tests;

// Orleans journaling on Raft: grains with IDurableDictionary/IDurableValue whose journal is in the Raft store.
[Collection(JournalingClusterCollection.Name)]
public sealed class JournalingTests(JournalingClusterFixture fixture)
{
    private readonly JournalingTestCluster _cluster = fixture.Cluster;

    private IJournaledInventoryGrain NewGrain() => _cluster.Client.GetGrain<IJournaledInventoryGrain>(Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task DurableDictionaryAndValue_SurviveDeactivation()
    {
        var grain = NewGrain();
        await grain.Set("apples", 3);
        await grain.Set("pears", 5);
        await grain.Remove("apples");

        await _cluster.Cluster.DeactivateAsync(grain);

        Assert.Equal(new Dictionary<string, int> { ["pears"] = 5 }, await grain.Items());
        Assert.Equal(3, await grain.Changes());
    }

    // Every CompactionRecords appends the manager replaces the journal by a snapshot; the replayed state is the same.
    [Fact]
    public async Task Compaction_ReplacesTheJournal_AndTheStateReplaysIdentically()
    {
        var grain = NewGrain();
        for (var i = 0; i < 3 * JournalingTestCluster.CompactionRecords; i++)
        {
            await grain.Set($"item{i % 5}", i);
        }

        var before = await grain.Items();
        var journal = _cluster.StoredJournal(0, grain.GetGrainId()) ?? _cluster.StoredJournal(1, grain.GetGrainId());
        Assert.NotNull(journal);
        Assert.True(journal.Count <= JournalingTestCluster.CompactionRecords + 1, $"{journal.Count} records: the journal was never compacted.");
        Assert.Equal("json", journal.Properties[RaftJournalStorage.FormatKeyProperty]);

        await _cluster.Cluster.DeactivateAsync(grain);

        Assert.Equal(before, await grain.Items());
        Assert.Equal(3 * JournalingTestCluster.CompactionRecords, await grain.Changes());
    }

    // Two activations' storages of one journal (what a stale activation has): once one writes, the other's writes are
    // refused, and the journal holds only the winner's records.
    [Fact]
    public async Task StaleJournalStorage_IsFenced_AndNeverForksTheJournal()
    {
        var provider = _cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<IJournalStorageProvider>();
        var other = _cluster.Cluster.Silos[2].ServiceProvider.GetRequiredService<IJournalStorageProvider>();
        Assert.IsType<RaftJournalStorageProvider>(provider);
        var id = new JournalId($"fencing/{Guid.NewGuid():N}");
        var current = provider.CreateStorage(id);
        var stale = other.CreateStorage(id);
        await current.ReadAsync(new CollectingConsumer(), CancellationToken.None);
        await stale.ReadAsync(new CollectingConsumer(), CancellationToken.None);

        await current.AppendAsync(Bytes("first;"), CancellationToken.None);
        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => stale.AppendAsync(Bytes("fork;"), CancellationToken.None).AsTask());
        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => stale.ReplaceAsync(Bytes("fork;"), CancellationToken.None).AsTask());
        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => stale.DeleteAsync(CancellationToken.None).AsTask());
        await current.AppendAsync(Bytes("second;"), CancellationToken.None);

        var reader = new CollectingConsumer();
        await other.CreateStorage(id).ReadAsync(reader, CancellationToken.None);
        Assert.Equal("first;second;", reader.Text);
        Assert.True(reader.Completed);
        Assert.Equal("json", reader.Metadata?.FormatKey);
        Assert.NotNull(reader.Metadata?.ETag);
    }

    [Fact]
    public async Task Delete_ThenRead_IsEmpty_AndTheOldETagIsFenced()
    {
        var provider = _cluster.Cluster.Silos[1].ServiceProvider.GetRequiredService<IJournalStorageProvider>();
        var id = new JournalId($"delete/{Guid.NewGuid():N}");
        var writer = provider.CreateStorage(id);
        var stale = provider.CreateStorage(id);
        await writer.ReadAsync(new CollectingConsumer(), CancellationToken.None);
        await stale.ReadAsync(new CollectingConsumer(), CancellationToken.None);
        await writer.AppendAsync(Bytes("a;"), CancellationToken.None);
        await writer.DeleteAsync(CancellationToken.None);

        var reader = new CollectingConsumer();
        await provider.CreateStorage(id).ReadAsync(reader, CancellationToken.None);
        Assert.Equal("", reader.Text);
        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => stale.AppendAsync(Bytes("zombie;"), CancellationToken.None).AsTask());
        await writer.AppendAsync(Bytes("reborn;"), CancellationToken.None);
    }

    [Fact]
    public async Task Metadata_CreateIfNotExists_AndGetMetadata_MapOntoTheJournal()
    {
        var provider = _cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<IJournalStorageProvider>();
        var storage = provider.CreateStorage(new JournalId($"metadata/{Guid.NewGuid():N}"));

        Assert.Null(await storage.GetMetadataAsync());
        Assert.True(await storage.CreateIfNotExistsAsync(new Dictionary<string, string> { ["owner"] = "tests" }));
        Assert.False(await storage.CreateIfNotExistsAsync(new Dictionary<string, string> { ["owner"] = "ignored" }));
        var metadata = await storage.GetMetadataAsync();
        Assert.NotNull(metadata);
        Assert.Equal(("json", "tests"), (metadata.FormatKey, metadata.Properties["owner"]));
        await Assert.ThrowsAsync<NotSupportedException>(() => storage.UpdateMetadataAsync(new Dictionary<string, string> { ["owner"] = "x" }).AsTask());
    }

    [Fact]
    public async Task IsCompactionRequested_AfterThresholdRecords()
    {
        var provider = _cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<IJournalStorageProvider>();
        var storage = provider.CreateStorage(new JournalId($"threshold/{Guid.NewGuid():N}"));
        await storage.ReadAsync(new CollectingConsumer(), CancellationToken.None);
        for (var i = 0; i < JournalingTestCluster.CompactionRecords; i++)
        {
            await storage.AppendAsync(Bytes("x"), CancellationToken.None);
            Assert.False(storage.IsCompactionRequested);
        }

        await storage.AppendAsync(Bytes("x"), CancellationToken.None);
        Assert.True(storage.IsCompactionRequested);
        await storage.ReplaceAsync(Bytes("snapshot"), CancellationToken.None);
        Assert.False(storage.IsCompactionRequested);
    }

    private static ReadOnlySequence<byte> Bytes(string text) => new(Encoding.UTF8.GetBytes(text));

    private sealed class CollectingConsumer : IJournalStorageConsumer
    {
        private readonly List<byte> _bytes = [];

        public IJournalMetadata? Metadata { get; private set; }

        public bool Completed { get; private set; }

        public string Text => Encoding.UTF8.GetString(_bytes.ToArray());

        public void Read(JournalBufferReader buffer, IJournalMetadata? metadata)
        {
            var bytes = new byte[buffer.Length];
            buffer.Read(bytes);
            _bytes.AddRange(bytes);
            Metadata = metadata;
            Completed |= buffer.IsCompleted;
        }
    }
}

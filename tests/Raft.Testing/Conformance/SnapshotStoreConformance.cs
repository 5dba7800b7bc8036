using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Storage;
using Xunit;

namespace Raft.Testing.Conformance;

/// <summary>
/// The <see cref="ISnapshotStore"/> contract as tests: every snapshot store implementation inherits this class and passes it.
/// </summary>
/// <remarks>
/// Derived classes create a fresh, empty store per call of <see cref="CreateAsync"/> and dispose what they created
/// (implement <see cref="IDisposable"/> or <see cref="IAsyncLifetime"/>; xunit creates one instance per test).
/// Durable stores override <see cref="ReopenAsync"/> to close the store and open it again from its storage, which is
/// how the suite checks durability; in-memory stores keep the default, which returns the same instance. The suite
/// uses only <see cref="ISnapshotStore"/>; corruption checks need the implementation's storage and live beside it.
/// </remarks>
public abstract class SnapshotStoreConformance
{
    /// <summary>A configuration with voters and a learner, so that both survive the round trip.</summary>
    protected static readonly ClusterConfiguration Configuration = new(["n1", "n2", "n3"], ["n4"]);

    /// <summary>Creates a new, empty store.</summary>
    /// <returns>The store.</returns>
    protected abstract ValueTask<ISnapshotStore> CreateAsync();

    /// <summary>Closes <paramref name="store"/> and opens the same storage again, as after a restart.</summary>
    /// <param name="store">A store returned by <see cref="CreateAsync"/> or by this method; not used afterwards.</param>
    /// <returns>The reopened store.</returns>
    protected virtual ValueTask<ISnapshotStore> ReopenAsync(ISnapshotStore store) => ValueTask.FromResult(store);

    /// <summary>Deterministic pseudo-random bytes.</summary>
    /// <param name="length">How many.</param>
    /// <param name="seed">Which bytes.</param>
    /// <returns>The bytes.</returns>
    protected static byte[] Data(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Writes and commits one snapshot.</summary>
    /// <param name="store">The store.</param>
    /// <param name="metadata">What it covers.</param>
    /// <param name="data">Its data.</param>
    /// <returns>A task that completes once it is committed.</returns>
    protected static async Task WriteAsync(ISnapshotStore store, SnapshotMetadata metadata, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(data);
        var writer = await store.CreateAsync(metadata);
        await using (writer)
        {
            await writer.Stream.WriteAsync(data);
            await writer.CommitAsync();
        }
    }

    /// <summary>Reads a stream to its end.</summary>
    /// <param name="stream">The stream.</param>
    /// <returns>Its bytes.</returns>
    protected static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    [Fact]
    public async Task OpenLatest_OnANewStore_ReturnsNull()
    {
        var store = await CreateAsync();

        Assert.Null(await store.OpenLatestAsync());
    }

    [Fact]
    public async Task Commit_ThenOpenLatest_ReturnsTheMetadataAndTheData()
    {
        var store = await CreateAsync();
        var data = Data(300_000, seed: 1);

        await WriteAsync(store, new SnapshotMetadata(42, 7, Configuration), data);

        var reader = await store.OpenLatestAsync();
        Assert.NotNull(reader);
        await using (reader)
        {
            Assert.Equal(42, reader.Metadata.Index);
            Assert.Equal(7, reader.Metadata.Term);
            Assert.Equal(Configuration, reader.Metadata.Configuration);
            Assert.Equal(["n1", "n2", "n3"], reader.Metadata.Configuration.Voters);
            Assert.Equal(["n4"], reader.Metadata.Configuration.Learners);
            Assert.Equal(data, await ReadAllAsync(reader.Stream));
        }
    }

    [Fact]
    public async Task Writer_ExposesTheMetadataItWasCreatedWith()
    {
        var store = await CreateAsync();
        var metadata = new SnapshotMetadata(5, 2, Configuration);

        var writer = await store.CreateAsync(metadata);
        await using (writer)
        {
            Assert.Equal(metadata, writer.Metadata);
        }
    }

    [Fact]
    public async Task Writer_DisposedWithoutCommit_LeavesNothing()
    {
        var store = await CreateAsync();

        var writer = await store.CreateAsync(new SnapshotMetadata(10, 1, Configuration));
        await using (writer)
        {
            await writer.Stream.WriteAsync(Data(10_000, seed: 2));
        }

        Assert.Null(await store.OpenLatestAsync());
        store = await ReopenAsync(store);
        Assert.Null(await store.OpenLatestAsync());
    }

    [Fact]
    public async Task Writer_DisposedWithoutCommit_KeepsTheEarlierSnapshot()
    {
        var store = await CreateAsync();
        var kept = Data(1000, seed: 3);
        await WriteAsync(store, new SnapshotMetadata(10, 1, Configuration), kept);

        var writer = await store.CreateAsync(new SnapshotMetadata(20, 2, Configuration));
        await using (writer)
        {
            await writer.Stream.WriteAsync(Data(5000, seed: 4));
        }

        store = await ReopenAsync(store);
        var reader = await store.OpenLatestAsync();
        Assert.NotNull(reader);
        await using (reader)
        {
            Assert.Equal(10, reader.Metadata.Index);
            Assert.Equal(kept, await ReadAllAsync(reader.Stream));
        }
    }

    [Fact]
    public async Task Commit_ANewerSnapshot_IsTheLatest()
    {
        var store = await CreateAsync();
        await WriteAsync(store, new SnapshotMetadata(10, 1, Configuration), Data(100, seed: 5));
        var newer = Data(200, seed: 6);

        await WriteAsync(store, new SnapshotMetadata(20, 2, new ClusterConfiguration(["n1", "n2"])), newer);

        var reader = await store.OpenLatestAsync();
        Assert.NotNull(reader);
        await using (reader)
        {
            Assert.Equal(20, reader.Metadata.Index);
            Assert.Equal(2, reader.Metadata.Term);
            Assert.Equal(new ClusterConfiguration(["n1", "n2"]), reader.Metadata.Configuration);
            Assert.Equal(newer, await ReadAllAsync(reader.Stream));
        }
    }

    // Snapshots may be committed out of order (one written locally while an older one arrives from the leader).
    [Fact]
    public async Task Commit_AnOlderSnapshotAfterANewerOne_KeepsTheNewer()
    {
        var store = await CreateAsync();
        var newer = Data(200, seed: 7);
        await WriteAsync(store, new SnapshotMetadata(20, 2, Configuration), newer);

        await WriteAsync(store, new SnapshotMetadata(10, 1, Configuration), Data(100, seed: 8));

        var reader = await store.OpenLatestAsync();
        Assert.NotNull(reader);
        await using (reader)
        {
            Assert.Equal(20, reader.Metadata.Index);
            Assert.Equal(newer, await ReadAllAsync(reader.Stream));
        }
    }

    [Fact]
    public async Task Commit_TwoWritersAtOnce_TheHigherIndexWins()
    {
        var store = await CreateAsync();
        var low = await store.CreateAsync(new SnapshotMetadata(30, 3, Configuration));
        var high = await store.CreateAsync(new SnapshotMetadata(40, 3, Configuration));
        var highData = Data(4000, seed: 9);
        await using (low)
        {
            await using (high)
            {
                await low.Stream.WriteAsync(Data(3000, seed: 10));
                await high.Stream.WriteAsync(highData);
                await high.CommitAsync();
                await low.CommitAsync();
            }
        }

        var reader = await store.OpenLatestAsync();
        Assert.NotNull(reader);
        await using (reader)
        {
            Assert.Equal(40, reader.Metadata.Index);
            Assert.Equal(highData, await ReadAllAsync(reader.Stream));
        }
    }

    // The state machine writes its snapshot as a stream of unknown length, in pieces of any size.
    [Fact]
    public async Task Commit_DataWrittenInManySmallPieces_ReadsBackWhole()
    {
        var store = await CreateAsync();
        var data = Data(100_003, seed: 11);

        var writer = await store.CreateAsync(new SnapshotMetadata(7, 1, Configuration));
        await using (writer)
        {
            for (var offset = 0; offset < data.Length; offset += 997)
            {
                await writer.Stream.WriteAsync(data.AsMemory(offset, Math.Min(997, data.Length - offset)));
            }

            await writer.CommitAsync();
        }

        var reader = await store.OpenLatestAsync();
        Assert.NotNull(reader);
        await using (reader)
        {
            Assert.Equal(data, await ReadAllAsync(reader.Stream));
        }
    }

    [Fact]
    public async Task Commit_AnEmptySnapshot_RoundTrips()
    {
        var store = await CreateAsync();

        await WriteAsync(store, new SnapshotMetadata(1, 1, new ClusterConfiguration(["solo"])), []);

        var reader = await store.OpenLatestAsync();
        Assert.NotNull(reader);
        await using (reader)
        {
            Assert.Equal(new SnapshotMetadata(1, 1, new ClusterConfiguration(["solo"])), reader.Metadata);
            Assert.Empty(await ReadAllAsync(reader.Stream));
        }
    }

    [Fact]
    public async Task OpenLatest_Twice_GivesIndependentReaders()
    {
        var store = await CreateAsync();
        var data = Data(50_000, seed: 12);
        await WriteAsync(store, new SnapshotMetadata(9, 2, Configuration), data);

        var first = await store.OpenLatestAsync();
        var second = await store.OpenLatestAsync();
        Assert.NotNull(first);
        Assert.NotNull(second);
        await using (first)
        {
            await using (second)
            {
                Assert.Equal(data, await ReadAllAsync(first.Stream));
                Assert.Equal(data, await ReadAllAsync(second.Stream));
            }
        }
    }

    [Fact]
    public async Task Reopen_AfterCommit_ReturnsTheSnapshot()
    {
        var store = await CreateAsync();
        var data = Data(70_000, seed: 13);
        await WriteAsync(store, new SnapshotMetadata(1234, 56, Configuration), data);

        store = await ReopenAsync(store);

        var reader = await store.OpenLatestAsync();
        Assert.NotNull(reader);
        await using (reader)
        {
            Assert.Equal(new SnapshotMetadata(1234, 56, Configuration), reader.Metadata);
            Assert.Equal(data, await ReadAllAsync(reader.Stream));
        }
    }

    [Fact]
    public async Task Reopen_AfterSeveralCommits_ReturnsTheNewest()
    {
        var store = await CreateAsync();
        for (var i = 1; i <= 5; i++)
        {
            await WriteAsync(store, new SnapshotMetadata(i * 100, i, Configuration), Data(1000 * i, seed: i));
        }

        store = await ReopenAsync(store);

        var reader = await store.OpenLatestAsync();
        Assert.NotNull(reader);
        await using (reader)
        {
            Assert.Equal(500, reader.Metadata.Index);
            Assert.Equal(Data(5000, seed: 5), await ReadAllAsync(reader.Stream));
        }
    }
}

using Orleans.Raft.Storage;
using Orleans.Storage;

namespace Orleans.Raft.Tests;

// The provider checked the way Orleans' own provider tests check theirs, called directly on the silos of a running
// cluster (each call goes through that silo's Raft node, forwarded to the leader when it follows).
[Collection(SharedClusterCollection.Name)]
public sealed class StorageConformanceTests(SharedClusterFixture fixture)
{
    private readonly RaftTestCluster _cluster = fixture.Cluster;

    private RaftGrainStorage Silo(int i) => RaftTestCluster.Storage(_cluster.Cluster.Silos[i]);

    private static GrainId NewGrain() => GrainId.Create("conformance", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Read_OfMissingState_GivesEmptyStateNullETagNoRecord()
    {
        var state = new TestState();
        await Silo(0).ReadStateAsync("s", NewGrain(), state);

        Assert.NotNull(state.State);
        Assert.Equal(0, state.State.Value);
        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);
    }

    [Fact]
    public async Task WriteThenRead_RoundTripsStateAndETag()
    {
        var grain = NewGrain();
        var written = new TestState(new CounterState { Value = 7, Payload = "seven" });
        await Silo(0).WriteStateAsync("s", grain, written);

        var read = new TestState();
        await Silo(0).ReadStateAsync("s", grain, read);

        Assert.Equal(7, read.State.Value);
        Assert.Equal("seven", read.State.Payload);
        Assert.Equal(written.ETag, read.ETag);
        Assert.True(read.RecordExists);
    }

    // Linearizable: a read on any silo, started after a write was acknowledged on another, sees it.
    [Fact]
    public async Task WriteOnOneSilo_IsReadOnEveryOtherSilo()
    {
        var grain = NewGrain();
        for (var writer = 0; writer < 3; writer++)
        {
            var state = new TestState();
            await Silo(writer).ReadStateAsync("s", grain, state);
            state.State.Value = writer + 100;
            await Silo(writer).WriteStateAsync("s", grain, state);

            for (var reader = 0; reader < 3; reader++)
            {
                var read = new TestState();
                await Silo(reader).ReadStateAsync("s", grain, read);
                Assert.Equal(writer + 100, read.State.Value);
                Assert.Equal(state.ETag, read.ETag);
            }
        }
    }

    [Fact]
    public async Task Write_ChangesETagEveryTime()
    {
        var grain = NewGrain();
        var state = new TestState(new CounterState());
        var etags = new List<string?>();
        for (var i = 0; i < 3; i++)
        {
            state.State.Value = i;
            await Silo(i).WriteStateAsync("s", grain, state);
            etags.Add(state.ETag);
        }

        Assert.All(etags, Assert.NotNull);
        Assert.Equal(3, etags.Distinct().Count());
    }

    [Fact]
    public async Task Write_WithStaleETag_ThrowsInconsistentStateWithBothETags()
    {
        var grain = NewGrain();
        var first = new TestState(new CounterState { Value = 1 });
        await Silo(0).WriteStateAsync("s", grain, first);
        var staleETag = first.ETag;
        first.State.Value = 2;
        await Silo(1).WriteStateAsync("s", grain, first);

        var stale = new TestState(new CounterState { Value = 3 }) { ETag = staleETag };
        var ex = await Assert.ThrowsAsync<InconsistentStateException>(() => Silo(2).WriteStateAsync("s", grain, stale));

        Assert.Equal(first.ETag, ex.StoredEtag);
        Assert.Equal(staleETag, ex.CurrentEtag);
    }

    [Fact]
    public async Task Write_OfNewStateWhenOneExists_ThrowsInconsistentState()
    {
        var grain = NewGrain();
        await Silo(0).WriteStateAsync("s", grain, new TestState(new CounterState { Value = 1 }));

        await Assert.ThrowsAsync<InconsistentStateException>(
            () => Silo(1).WriteStateAsync("s", grain, new TestState(new CounterState { Value = 2 })));
    }

    // AdoNet's convention: a clear advances the ETag and leaves RecordExists false; an older ETag can no longer write.
    [Fact]
    public async Task Clear_AdvancesETagAndResetsState()
    {
        var grain = NewGrain();
        var state = new TestState(new CounterState { Value = 5 });
        await Silo(0).WriteStateAsync("s", grain, state);
        var writtenETag = state.ETag;

        await Silo(1).ClearStateAsync("s", grain, state);
        Assert.False(state.RecordExists);
        Assert.NotNull(state.ETag);
        Assert.NotEqual(writtenETag, state.ETag);
        Assert.Equal(0, state.State.Value);

        var read = new TestState();
        await Silo(2).ReadStateAsync("s", grain, read);
        Assert.False(read.RecordExists);
        Assert.Equal(state.ETag, read.ETag);
        Assert.Equal(0, read.State.Value);

        await Assert.ThrowsAsync<InconsistentStateException>(() => Silo(2).WriteStateAsync(
            "s", grain, new TestState(new CounterState()) { ETag = writtenETag }));

        read.State.Value = 6;
        await Silo(2).WriteStateAsync("s", grain, read);
        Assert.True(read.RecordExists);
    }

    [Fact]
    public async Task Clear_WithStaleETag_ThrowsInconsistentState()
    {
        var grain = NewGrain();
        var state = new TestState(new CounterState { Value = 5 });
        await Silo(0).WriteStateAsync("s", grain, state);
        var stale = new TestState(new CounterState()) { ETag = state.ETag };
        await Silo(0).WriteStateAsync("s", grain, state);

        await Assert.ThrowsAsync<InconsistentStateException>(() => Silo(1).ClearStateAsync("s", grain, stale));
    }

    [Fact]
    public async Task StatesOfOneGrain_AreKeptApartByName()
    {
        var grain = NewGrain();
        await Silo(0).WriteStateAsync("a", grain, new TestState(new CounterState { Value = 1 }));
        await Silo(0).WriteStateAsync("b", grain, new TestState(new CounterState { Value = 2 }));

        var a = new TestState();
        var b = new TestState();
        await Silo(1).ReadStateAsync("a", grain, a);
        await Silo(1).ReadStateAsync("b", grain, b);
        Assert.Equal((1, 2), (a.State.Value, b.State.Value));
    }

    [Fact]
    public async Task ParallelWrites_ToDifferentGrains_AllLand()
    {
        var grains = Enumerable.Range(0, 60).Select(_ => NewGrain()).ToArray();
        await Task.WhenAll(grains.Select((g, i) =>
            Silo(i % 3).WriteStateAsync("s", g, new TestState(new CounterState { Value = i }))));

        for (var i = 0; i < grains.Length; i++)
        {
            var read = new TestState();
            await Silo((i + 1) % 3).ReadStateAsync("s", grains[i], read);
            Assert.Equal(i, read.State.Value);
        }
    }

    [Fact]
    public async Task Write_LargerThanMaxStateSize_IsRejectedAndNotStored()
    {
        var grain = NewGrain();
        var huge = new TestState(new CounterState { Payload = new string('x', 2 * 1024 * 1024) });

        var ex = await Assert.ThrowsAsync<RaftStateTooLargeException>(() => Silo(0).WriteStateAsync("s", grain, huge));
        Assert.Contains("MaxStateSize", ex.Message, StringComparison.Ordinal);

        var read = new TestState();
        await Silo(1).ReadStateAsync("s", grain, read);
        Assert.False(read.RecordExists);
    }

    [Fact]
    public async Task Write_WithForeignETag_ThrowsInconsistentState()
    {
        var state = new TestState(new CounterState()) { ETag = "not-a-raft-etag" };
        await Assert.ThrowsAsync<InconsistentStateException>(() => Silo(0).WriteStateAsync("s", NewGrain(), state));
    }
}

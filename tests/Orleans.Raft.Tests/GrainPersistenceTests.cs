using Orleans.Storage;

namespace Orleans.Raft.Tests;

// Grains with [PersistentState("s", "raft")] on the shared 3-silo cluster.
[Collection(SharedClusterCollection.Name)]
public sealed class GrainPersistenceTests(SharedClusterFixture fixture)
{
    private readonly RaftTestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task State_SurvivesDeactivationAndReactivation()
    {
        var grain = _cluster.Client.GetGrain<ICounterGrain>(Guid.NewGuid().ToString("N"));
        Assert.Equal(1, await grain.Increment());
        Assert.Equal(2, await grain.Increment());
        var etag = await grain.GetETag();

        await _cluster.Cluster.DeactivateAsync(grain);

        Assert.Equal(2, await grain.Get());
        Assert.Equal(etag, await grain.GetETag());
        Assert.True(await grain.RecordExists());
        Assert.Equal(3, await grain.Increment());
    }

    // Another writer changed the state behind the activation's back: its next write fails with the ETags, and the
    // runtime deactivates it, so the next call reads the new state.
    [Fact]
    public async Task Write_AfterStateChangedElsewhere_ThrowsInconsistentStateAndNextActivationRereads()
    {
        var key = Guid.NewGuid().ToString("N");
        var grain = _cluster.Client.GetGrain<ICounterGrain>(key);
        Assert.Equal(1, await grain.Increment());

        var storage = RaftTestCluster.Storage(_cluster.Cluster.Silos[1]);
        var grainId = grain.GetGrainId();
        var other = new TestState();
        await storage.ReadStateAsync("s", grainId, other);
        other.State.Value = 50;
        await storage.WriteStateAsync("s", grainId, other);

        var ex = await Assert.ThrowsAsync<InconsistentStateException>(grain.Increment);
        Assert.Equal(other.ETag, ex.StoredEtag);

        Assert.Equal(51, await grain.Increment());
    }

    [Fact]
    public async Task Clear_ThenReactivate_StartsFromEmptyState()
    {
        var grain = _cluster.Client.GetGrain<ICounterGrain>(Guid.NewGuid().ToString("N"));
        await grain.Increment();
        await grain.Clear();
        Assert.False(await grain.RecordExists());

        await _cluster.Cluster.DeactivateAsync(grain);

        Assert.Equal(0, await grain.Get());
        Assert.False(await grain.RecordExists());
        Assert.Equal(1, await grain.Increment());
    }

    [Fact]
    public async Task ConcurrentIncrements_OnManyGrains_LoseNothing()
    {
        var grains = Enumerable.Range(0, 20).Select(_ => _cluster.Client.GetGrain<ICounterGrain>(Guid.NewGuid().ToString("N"))).ToArray();
        await Task.WhenAll(grains.Select(async g =>
        {
            for (var i = 0; i < 10; i++)
            {
                await g.Increment();
            }
        }));

        foreach (var g in grains)
        {
            await _cluster.Cluster.DeactivateAsync(g);
        }

        foreach (var g in grains)
        {
            Assert.Equal(10, await g.Get());
        }
    }
}

using System.Diagnostics;
using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using Orleans.Raft.Placement;

namespace Orleans.Raft.Tests;

// RaftLeaderPlacement in a running cluster: new activations go to the Raft leader's silo, or to a random silo when
// there is no leader to follow.
[Collection(SharedClusterCollection.Name)]
public sealed class LeaderPlacementTests(SharedClusterFixture fixture)
{
    private RaftTestCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task GrainsWithTheAttribute_ActivateOnTheLeadersSilo_AndWrite()
    {
        var leaderId = await LeaderPlacementSupport.WaitForAgreedLeaderAsync(Cluster);
        using var counts = new PlacementCounts();

        foreach (var grain in Enumerable.Range(0, 12).Select(i => Cluster.Client.GetGrain<ILeaderPlacedGrain>($"placed-{Guid.NewGuid():N}")))
        {
            Assert.Equal(leaderId, await grain.SiloName());
            Assert.Equal(1, await grain.Increment());
        }

        Assert.Equal(12, counts[RaftPlacementMetrics.Leader]);
        Assert.Equal(0, counts.Fallbacks);
    }

    // A storage name that is not a Raft provider on the silo is a configuration mistake: activations still work, on
    // random silos.
    [Fact]
    public async Task AttributeNamingAnUnknownStorage_PlacesRandomly()
    {
        await LeaderPlacementSupport.WaitForAgreedLeaderAsync(Cluster);
        using var counts = new PlacementCounts("no-such-storage");

        var silos = new HashSet<string>();
        foreach (var i in Enumerable.Range(0, 30))
        {
            silos.Add(await Cluster.Client.GetGrain<IMisnamedLeaderPlacedGrain>($"misnamed-{Guid.NewGuid():N}").SiloName());
        }

        Assert.Equal(30, counts[RaftPlacementMetrics.NoRaftStorage]);
        Assert.True(silos.Count > 1, $"30 random placements all went to {string.Join(", ", silos)}");
    }

    [Fact]
    public void Attribute_CarriesTheStorageName_ThroughGrainProperties()
    {
        var strategy = new RaftLeaderPlacementAttribute("raft-b").PlacementStrategy;
        var properties = new Dictionary<string, string>();
        strategy.PopulateGrainProperties(null!, typeof(LeaderPlacedGrain), GrainType.Create("leaderplaced"), properties);
        Assert.Equal(nameof(RaftLeaderPlacement), properties[Orleans.Metadata.WellKnownGrainTypeProperties.PlacementStrategy]);

        var resolved = new RaftLeaderPlacement();
        Assert.Equal("Default", resolved.StorageName);
        resolved.Initialize(new Orleans.Metadata.GrainProperties(properties.ToImmutableDictionary(StringComparer.Ordinal)));
        Assert.Equal("raft-b", resolved.StorageName);
        Assert.Throws<ArgumentException>(() => new RaftLeaderPlacementAttribute(" "));
    }
}

// Leader placement while leadership moves or is missing: each test runs its own cluster, since it changes it.
[Trait("Category", "Slow")]
public sealed class LeaderPlacementFailoverTests
{
    // No election can finish during the test (the election timeout is 100 s): placement does not wait for one, it
    // places on random silos.
    [Fact]
    public async Task NoLeader_PlacesOnRandomSilos_WithoutWaitingForAnElection()
    {
        await using var cluster = await RaftTestCluster.StartAsync(configure: o =>
        {
            o.ElectionTick = 2000;
            o.OperationTimeout = TimeSpan.FromSeconds(210);
        });
        Assert.All(cluster.Storages, s => Assert.Null(s.Node!.Status.LeaderId));
        using var counts = new PlacementCounts();

        var silos = new HashSet<string>();
        foreach (var i in Enumerable.Range(0, 30))
        {
            silos.Add(await cluster.Client.GetGrain<IStatelessLeaderPlacedGrain>($"leaderless-{i}").SiloName());
        }

        // Still no leader: every placement above was decided without one.
        Assert.All(cluster.Storages, s => Assert.Null(s.Node!.Status.LeaderId));
        Assert.Equal(30, counts[RaftPlacementMetrics.NoLeader]);
        Assert.True(silos.Count > 1, $"30 random placements all went to {string.Join(", ", silos)}");
    }

    // Leadership moves to another silo: activations made before stay where they were and still write (forwarded);
    // new ones go to the new leader. Then that leader's silo stops: new activations follow the next leader.
    [Fact]
    public async Task LeadershipMoves_NewActivationsFollow_ExistingOnesStay()
    {
        await using var cluster = await RaftTestCluster.StartAsync();
        var first = await LeaderPlacementSupport.WaitForAgreedLeaderAsync(cluster);
        var before = Enumerable.Range(0, 6).Select(i => cluster.Client.GetGrain<ILeaderPlacedGrain>($"before-{i}")).ToArray();
        foreach (var grain in before)
        {
            Assert.Equal(1, await grain.Increment());
            Assert.Equal(first, await grain.SiloName());
        }

        var target = cluster.Storages.Select(s => s.NodeId).First(id => id != first);
        var firstNode = cluster.Storages.Single(s => s.NodeId == first).Node!;
        Assert.Equal(target, await firstNode.TransferLeadershipAsync(target));
        Assert.Equal(target, await LeaderPlacementSupport.WaitForAgreedLeaderAsync(cluster));

        foreach (var grain in before)
        {
            Assert.Equal(2, await grain.Increment());
            Assert.Equal(first, await grain.SiloName());
        }

        var after = Enumerable.Range(0, 6).Select(i => cluster.Client.GetGrain<ILeaderPlacedGrain>($"after-{i}")).ToArray();
        foreach (var grain in after)
        {
            Assert.Equal(1, await grain.Increment());
            Assert.Equal(target, await grain.SiloName());
        }

        await cluster.Cluster.StopSiloAsync(cluster.Cluster.Silos.Single(s => RaftTestCluster.Storage(s).NodeId == target));
        var next = await LeaderPlacementSupport.WaitForAgreedLeaderAsync(cluster, notNodeId: target);
        foreach (var grain in Enumerable.Range(0, 6).Select(i => cluster.Client.GetGrain<ILeaderPlacedGrain>($"next-{i}")))
        {
            Assert.Equal(1, await grain.Increment());
            Assert.Equal(next, await grain.SiloName());
        }

        // The stopped silo's activations come back elsewhere with their state.
        foreach (var grain in after)
        {
            Assert.Equal(2, await grain.Increment());
        }
    }
}

internal static class LeaderPlacementSupport
{
    // The leader every active silo's node knows (so whichever silo places a grain follows the same one).
    public static async Task<string> WaitForAgreedLeaderAsync(RaftTestCluster cluster, string? notNodeId = null)
    {
        var stopwatch = Stopwatch.StartNew();
        string?[] leaders;
        do
        {
            leaders = [.. cluster.Storages.Select(s => s.Node?.Status.LeaderId).Distinct()];
            if (leaders is [{ } leader] && leader != notNodeId)
            {
                return leader;
            }

            await Task.Delay(20);
        }
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(10));

        throw new TimeoutException($"The active silos did not agree on a leader (other than {notNodeId}) within 10 s: {string.Join(", ", leaders)}.");
    }
}

// Counts orleans.raft.placement.decisions by outcome for one storage name while it is alive.
internal sealed class PlacementCounts : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly string _storageName;

    public PlacementCounts(string storageName = RaftTestCluster.ProviderName)
    {
        _storageName = storageName;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Orleans.Raft" && instrument.Name == "orleans.raft.placement.decisions")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    public long this[string outcome]
    {
        get
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault(outcome);
            }
        }
    }

    public long Fallbacks
    {
        get
        {
            lock (_counts)
            {
                return _counts.Where(c => c.Key != RaftPlacementMetrics.Leader).Sum(c => c.Value);
            }
        }
    }

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        string? provider = null;
        string? outcome = null;
        foreach (var tag in tags)
        {
            if (tag.Key == "orleans.raft.provider")
            {
                provider = tag.Value as string;
            }
            else if (tag.Key == "orleans.raft.outcome")
            {
                outcome = tag.Value as string;
            }
        }

        if (provider == _storageName && outcome is not null)
        {
            lock (_counts)
            {
                _counts[outcome] = _counts.GetValueOrDefault(outcome) + value;
            }
        }
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.Raft.Storage;
using Orleans.Storage;
using Raft.Testing.Logging;

namespace Orleans.Raft.Tests;

// Losing silos: each test runs its own 3-silo cluster, since it leaves the cluster changed.
[Trait("Category", "Slow")]
public sealed class FailoverTests
{
    // The leader's silo dies (cut off first, so it cannot hand over leadership: a crash as Raft sees it). The survivors
    // elect a leader, writes go on, and every acknowledged write is readable, also on the dead silo once it restarts
    // from its durable log.
    [Fact]
    public async Task KillingTheLeaderSilo_WritesContinue_AndEveryAcknowledgedWriteSurvives()
    {
        await using var cluster = await RaftTestCluster.StartAsync();
        var grains = Enumerable.Range(0, 6).Select(i => cluster.Client.GetGrain<ICounterGrain>($"failover-{i}")).ToArray();
        var rounds = new CounterRounds(grains);

        await rounds.RunAsync(5);
        Assert.All(rounds.Uncertain, u => Assert.Equal(0, u));

        var leaderSilo = await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10));
        var leaderId = RaftTestCluster.Storage(leaderSilo).NodeId;
        cluster.Network.Network.Isolate(leaderId);
        await cluster.Cluster.KillSiloAsync(leaderSilo);

        await rounds.RunAsync(5);
        var newLeader = await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10), notNodeId: leaderId);
        Assert.NotEqual(leaderId, RaftTestCluster.Storage(newLeader).NodeId);

        var stored = new int[grains.Length];
        for (var i = 0; i < grains.Length; i++)
        {
            await cluster.Cluster.DeactivateAsync(grains[i]);
            stored[i] = await grains[i].Get();
            Assert.InRange(stored[i], rounds.Acknowledged[i], rounds.Acknowledged[i] + rounds.Uncertain[i]);
        }

        Assert.True(stored.Sum() >= grains.Length * 10 - rounds.Uncertain.Sum());

        // The dead silo comes back from its own directory and catches up.
        cluster.Network.Network.Heal();
        var restarted = await cluster.Cluster.RestartSiloAsync(leaderSilo);
        var storage = RaftTestCluster.Storage(restarted!);
        for (var i = 0; i < grains.Length; i++)
        {
            var read = new TestState();
            await storage.ReadStateAsync("s", grains[i].GetGrainId(), read);
            Assert.Equal(stored[i], read.State.Value);
        }
    }

    // A silo cut off from the others is a minority: it cannot write (a clear error within the timeout, and nothing
    // applied), while the majority goes on; once healed it reads the majority's writes.
    [Fact]
    public async Task MinorityPartition_CannotWrite_MajorityCan()
    {
        var timeout = TimeSpan.FromSeconds(4);
        await using var cluster = await RaftTestCluster.StartAsync(configure: o => o.OperationTimeout = timeout);
        var leaderSilo = await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10));
        var follower = cluster.Cluster.Silos.First(s => s != leaderSilo);
        var followerStorage = RaftTestCluster.Storage(follower);
        var leaderStorage = RaftTestCluster.Storage(leaderSilo);
        var grain = GrainId.Create("partition", Guid.NewGuid().ToString("N"));
        await leaderStorage.WriteStateAsync("s", grain, new TestState(new CounterState { Value = 1 }));

        cluster.Network.Network.Isolate(followerStorage.NodeId);
        var stale = new TestState();
        var started = System.Diagnostics.Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<RaftQuorumUnavailableException>(
            () => followerStorage.WriteStateAsync("s", GrainId.Create("partition", "other"), new TestState(new CounterState())));
        Assert.InRange(started.Elapsed, timeout * 0.9, timeout * 3);
        Assert.Contains("was not applied", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<RaftQuorumUnavailableException>(() => followerStorage.ReadStateAsync("s", grain, stale));

        var majority = new TestState();
        await leaderStorage.ReadStateAsync("s", grain, majority);
        majority.State.Value = 2;
        await leaderStorage.WriteStateAsync("s", grain, majority);

        cluster.Network.Network.Heal();
        var healed = new TestState();
        await followerStorage.ReadStateAsync("s", grain, healed);
        Assert.Equal(2, healed.State.Value);
        var other = new TestState();
        await leaderStorage.ReadStateAsync("s", GrainId.Create("partition", "other"), other);
        Assert.False(other.RecordExists);
    }

    // A graceful stop of the leader's silo hands leadership to another member before the node stops.
    [Fact]
    public async Task StoppingTheLeaderSilo_HandsLeadershipOver()
    {
        await using var cluster = await RaftTestCluster.StartAsync();
        var grain = cluster.Client.GetGrain<ICounterGrain>("graceful");
        Assert.Equal(1, await grain.Increment());
        var leaderSilo = await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10));
        var leaderId = RaftTestCluster.Storage(leaderSilo).NodeId;

        await cluster.Cluster.StopSiloAsync(leaderSilo);

        // The survivors agree on a new leader and writes go on.
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        string?[] leaders;
        do
        {
            leaders = [.. cluster.Storages.Select(s => s.Node!.Status.LeaderId).Distinct()];
            await Task.Delay(10);
        }
        while ((leaders.Length != 1 || leaders[0] is null || leaders[0] == leaderId) && stopwatch.Elapsed < TimeSpan.FromSeconds(10));

        Assert.Single(leaders);
        Assert.NotNull(leaders[0]);
        Assert.NotEqual(leaderId, leaders[0]);
        Assert.Equal(2, await grain.Increment());
    }

    // Every silo stops, then the cluster starts again on the same directories: the nodes recover from their snapshots
    // (taken every 25 entries here) plus the log after them, and every acknowledged write is there. Each silo says
    // it started with an empty log (event 4011) at the first start only.
    [Fact]
    public async Task FullClusterRestart_FromDisk_KeepsEveryAcknowledgedWrite()
    {
        var directory = RaftTestCluster.NewDataDirectory();
        var log = new TestLog();
        void CaptureLogs(ISiloBuilder silo) => silo.Services.AddLogging(b => b.AddProvider(log.AsProvider()));
        int StartedEmpty() => log.Entries.Count(e => e.EventId.Id == 4011);
        try
        {
            var keys = Enumerable.Range(0, 8).Select(i => $"restart-{i}").ToArray();
            var expected = new Dictionary<string, int>();
            await using (var first = await RaftTestCluster.StartAsync(configure: o => o.SnapshotEntryThreshold = 25, dataDirectory: directory, configureSilo: CaptureLogs))
            {
                Assert.Equal(3, StartedEmpty());
                foreach (var key in keys)
                {
                    var grain = first.Client.GetGrain<ICounterGrain>(key);
                    for (var i = 0; i < 12; i++)
                    {
                        expected[key] = await grain.Increment();
                    }
                }
            }

            Assert.All(Enumerable.Range(0, 3), i => Assert.NotEmpty(
                Directory.EnumerateFiles(Path.Combine(directory, $"Silo_{i}", "snapshots"), "*", SearchOption.AllDirectories)));

            await using var second = await RaftTestCluster.StartAsync(configure: o => o.SnapshotEntryThreshold = 25, dataDirectory: directory, configureSilo: CaptureLogs);
            Assert.Equal(3, StartedEmpty());
            foreach (var key in keys)
            {
                Assert.Equal(expected[key], await second.Client.GetGrain<ICounterGrain>(key).Get());
            }

            Assert.Equal(13, await second.Client.GetGrain<ICounterGrain>(keys[0]).Increment());
            Assert.All(second.Storages, s => Assert.True(s.StateMachine.Count >= keys.Length));
        }
        finally
        {
            RaftTestCluster.TryDelete(directory);
        }
    }
}

namespace Orleans.Raft.Tests.EventSourcing;

// Losing silos and restarting the whole cluster: each test runs its own cluster, since it leaves the cluster changed.
[Trait("Category", "Slow")]
public sealed class JournaledGrainFailoverTests
{
    // The leader's silo dies (cut off first: a crash as Raft sees it), then the silo of a grain: every acknowledged
    // event is in the history, in order and once; an unacknowledged one is either there once or not at all.
    [Fact]
    public async Task KillingTheLeadersSilo_AndTheGrainsSilo_KeepsEveryAcknowledgedEventOnce()
    {
        await using var cluster = await EventSourcingCluster.StartAsync(o => o.SnapshotInterval = 5);
        var grains = Enumerable.Range(0, 6).Select(i => cluster.Client.GetGrain<ILedgerGrain>($"failover-{i}")).ToArray();
        var acknowledged = grains.Select(_ => new List<int>()).ToArray();
        var uncertain = grains.Select(_ => new List<int>()).ToArray();
        var next = 0;

        async Task RoundsAsync(int rounds)
        {
            for (var round = 0; round < rounds; round++)
            {
                await Task.WhenAll(grains.Select(async (g, i) =>
                {
                    var amount = Interlocked.Increment(ref next);
                    try
                    {
                        await g.Add(amount);
                        lock (acknowledged[i])
                        {
                            acknowledged[i].Add(amount);
                        }
                    }
                    catch (Exception)
                    {
                        lock (uncertain[i])
                        {
                            uncertain[i].Add(amount);
                        }
                    }
                }));
            }
        }

        await RoundsAsync(6);
        var leader = await cluster.LeaderSiloAsync();
        var leaderId = EventSourcingCluster.Storage(leader).NodeId;
        cluster.Network.Network.Isolate(leaderId);
        await cluster.Cluster.KillSiloAsync(leader);
        await RoundsAsync(6);

        var grainSilo = cluster.SiloNamed(await grains[0].SiloName());
        await cluster.Cluster.KillSiloAsync(grainSilo);
        cluster.Network.Network.Heal();
        var restarted = await cluster.Cluster.RestartSiloAsync(leader);
        Assert.NotNull(restarted);
        await RoundsAsync(6);

        for (var i = 0; i < grains.Length; i++)
        {
            await cluster.Cluster.DeactivateAsync(grains[i]);
            var history = (await grains[i].GetState()).Amounts;
            Assert.Equal(history.Count, history.Distinct().Count());
            Assert.Equal(history.Count, await grains[i].GetVersion());
            var acked = acknowledged[i].ToHashSet();
            Assert.Subset(history.ToHashSet(), acked);
            Assert.All(history, a => Assert.True(acked.Contains(a) || uncertain[i].Contains(a), $"{a} was never raised on grain {i}"));
            Assert.Equal(history.Where(acked.Contains), acknowledged[i].Order());
        }

        Assert.True(acknowledged.Sum(a => a.Count) >= 18 * grains.Length - uncertain.Sum(u => u.Count));
    }

    // Stop every silo and start the cluster again from the same directories: each grain replays (snapshot + events
    // after it, with trimmed history) to the same state.
    [Fact]
    public async Task FullClusterRestartFromDisk_ReplaysToTheSameState()
    {
        var directory = RaftTestCluster.NewDataDirectory();
        try
        {
            var before = new Dictionary<string, (List<int> Amounts, int Version)>();
            await using (var first = await EventSourcingCluster.StartAsync(o => { o.SnapshotInterval = 7; o.TrimHistory = true; }, directory))
            {
                for (var g = 0; g < 4; g++)
                {
                    var grain = first.Client.GetGrain<ILedgerGrain>($"restart-{g}");
                    for (var i = 0; i < 10 + (g * 9); i++)
                    {
                        await grain.Add((g * 100) + i);
                    }

                    before[$"restart-{g}"] = ((await grain.GetState()).Amounts, await grain.GetVersion());
                }
            }

            await using var second = await EventSourcingCluster.StartAsync(o => { o.SnapshotInterval = 7; o.TrimHistory = true; }, directory);
            foreach (var (key, (amounts, version)) in before)
            {
                var grain = second.Client.GetGrain<ILedgerGrain>(key);
                Assert.Equal(amounts, (await grain.GetState()).Amounts);
                Assert.Equal(version, await grain.GetVersion());
                Assert.Equal(version + 1, await grain.Add(-1));
                await Assert.ThrowsAsync<Orleans.Raft.EventSourcing.RaftEventHistoryTrimmedException>(() => grain.Events(0, 2));
                Assert.Equal(new[] { -1 }, await grain.Events(version, version + 1));
            }
        }
        finally
        {
            RaftTestCluster.TryDelete(directory);
        }
    }
}

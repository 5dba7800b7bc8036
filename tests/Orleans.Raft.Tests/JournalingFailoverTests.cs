using Orleans.Journaling;
using Orleans.Raft.Journaling;
using Orleans.Raft.StateMachine;
using Orleans.Raft.Storage;

namespace Orleans.Raft.Tests;

// Orleans journaling through lost silos: its own cluster, since it kills silos.
[Trait("Category", "Slow")]
public sealed class JournalingFailoverTests
{
    // The Raft leader's silo dies (cut off first: a crash as Raft sees it), then comes back; then the silo that hosts
    // the grain dies. Every acknowledged change survives, nothing unacknowledged appears from nowhere, and the grain
    // keeps working on the survivors.
    [Fact]
    public async Task KillingTheLeadersSilo_ThenTheGrainsSilo_KeepsEveryAcknowledgedChange()
    {
        await using var cluster = await JournalingTestCluster.StartAsync();
        var grain = cluster.Client.GetGrain<IJournaledInventoryGrain>("failover");
        var acknowledged = new Dictionary<string, int>();
        var uncertain = new HashSet<string>();
        var next = 0;

        async Task ChangeAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var item = $"item{next}";
                var quantity = next++;
                try
                {
                    await grain.Set(item, quantity);
                    acknowledged[item] = quantity;
                }
                catch (Exception)
                {
                    // Not acknowledged: it may or may not have been applied.
                    uncertain.Add(item);
                }
            }
        }

        await ChangeAsync(6);
        Assert.Empty(uncertain);

        var leaderSilo = await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10));
        var leaderId = RaftTestCluster.Storage(leaderSilo).NodeId;
        cluster.Network.Network.Isolate(leaderId);
        await cluster.Cluster.KillSiloAsync(leaderSilo);
        await ChangeAsync(6);
        await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10), notNodeId: leaderId);

        cluster.Network.Network.Heal();
        await cluster.Cluster.RestartSiloAsync(leaderSilo);
        await ChangeAsync(3);

        var grainSiloName = await grain.SiloName();
        var grainSilo = cluster.Cluster.Silos.Single(s => s.IsActive && s.Name == grainSiloName);
        cluster.Network.Network.Isolate(RaftTestCluster.Storage(grainSilo).NodeId);
        await cluster.Cluster.KillSiloAsync(grainSilo);
        await ChangeAsync(6);

        Assert.NotEqual(grainSiloName, await grain.SiloName());
        await cluster.Cluster.DeactivateAsync(grain);
        var items = await grain.Items();
        foreach (var (item, quantity) in acknowledged)
        {
            Assert.True(items.TryGetValue(item, out var stored), $"Acknowledged {item} was lost.");
            Assert.Equal(quantity, stored);
        }

        Assert.All(items.Keys, item => Assert.True(acknowledged.ContainsKey(item) || uncertain.Contains(item), $"{item} was never written."));
        Assert.InRange(await grain.Changes(), acknowledged.Count, acknowledged.Count + uncertain.Count);
        Assert.True(acknowledged.Count >= 15, $"Only {acknowledged.Count} of {next} changes were acknowledged.");
    }

    // Raft snapshots carry the journals: a silo cut off while the others compact their logs catches up, and a full
    // restart of the cluster from disk (snapshot + log tail) replays every grain to the same state.
    [Fact]
    public async Task LaggingSiloAndFullRestart_RecoverJournalsFromRaftSnapshots()
    {
        var directory = RaftTestCluster.NewDataDirectory();
        try
        {
            var keys = Enumerable.Range(0, 4).Select(i => $"restart-{i}").ToArray();
            var expected = new Dictionary<string, Dictionary<string, int>>();
            await using (var first = await JournalingTestCluster.StartAsync(directory, snapshotEntryThreshold: 25))
            {
                // Silo 2 goes away while the others write (and compact their logs past what it has), then comes back.
                var away = first.Cluster.Silos[2];
                await first.Cluster.StopSiloAsync(away);
                foreach (var key in keys)
                {
                    var grain = first.Client.GetGrain<IJournaledInventoryGrain>(key);
                    for (var i = 0; i < 15; i++)
                    {
                        await grain.Set($"item{i % 6}", i);
                    }

                    expected[key] = await grain.Items();
                }

                var back = RaftTestCluster.Storage((await first.Cluster.RestartSiloAsync(away))!);
                var reference = RaftTestCluster.Storage(first.Cluster.Silos[0]);
                var journals = keys.Select(k => RaftJournalStorageProvider.KeyOf(JournalId.FromGrainId(first.Client.GetGrain<IJournaledInventoryGrain>(k).GetGrainId()))).ToArray();
                var caughtUp = System.Diagnostics.Stopwatch.StartNew();
                while (!journals.All(j => Same(back, reference, j)) && caughtUp.Elapsed < TimeSpan.FromSeconds(20))
                {
                    await Task.Delay(50);
                }

                Assert.All(journals, j => Assert.True(Same(back, reference, j), $"Journal {j} did not catch up on the restarted silo."));
            }

            Assert.All(Enumerable.Range(0, 3), i => Assert.NotEmpty(
                Directory.EnumerateFiles(Path.Combine(directory, $"Silo_{i}", "snapshots"), "*", SearchOption.AllDirectories)));

            await using var second = await JournalingTestCluster.StartAsync(directory, snapshotEntryThreshold: 25);
            foreach (var key in keys)
            {
                var grain = second.Client.GetGrain<IJournaledInventoryGrain>(key);
                Assert.Equal(expected[key], await grain.Items());
                Assert.Equal(15, await grain.Changes());
            }

            Assert.Equal(16, await second.Client.GetGrain<IJournaledInventoryGrain>(keys[0]).Set("after-restart", 1));
        }
        finally
        {
            RaftTestCluster.TryDelete(directory);
        }
    }

    private static bool Same(RaftGrainStorage a, RaftGrainStorage b, GrainStateKey journal) =>
        a.StateMachine.TryGetJournal(journal, out var x) && b.StateMachine.TryGetJournal(journal, out var y)
        && (x.ETag, x.Count) == (y.ETag, y.Count);
}

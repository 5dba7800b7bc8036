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
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Raft.Core.Runtime;
using Raft.Testing.Logging;

namespace Orleans.Raft.Tests;

// A silo whose data directory is lost (a dead disk) comes back empty under its own name. It must not simply rejoin as
// a voter: it would vote and count toward commits without the entries it acknowledged before. The supported way
// (README, "A silo that lost its data") goes through the core's membership changes: the survivors remove it first;
// once it runs again, and after a leadership change, it is added back as a learner and promoted after catching up.
[Trait("Category", "Slow")]
public sealed class LostDataTests
{
    // Snapshots every 100 entries, and the survivors write past the 1,024 entries a compaction keeps, so the rebuilt silo
    // catches up from a snapshot plus the log after it.
    [Fact]
    public async Task ASiloThatLostItsData_RemovedThenAddedBack_HoldsEveryAcknowledgedWrite_WhenTheLeaderIsLostNext()
    {
        var log = new TestLog();
        await using var cluster = await RaftTestCluster.StartAsync(
            configure: o => o.SnapshotEntryThreshold = 100,
            configureSilo: silo => silo.Services.AddLogging(b => b.AddProvider(log.AsProvider())));
        string[] StartedEmpty() => [.. log.Entries.Where(e => e.EventId.Id == 4011).Select(e => e.Message)];
        var grains = Enumerable.Range(0, 6).Select(i => cluster.Client.GetGrain<ICounterGrain>($"lost-data-{i}")).ToArray();
        var rounds = new CounterRounds(grains);
        Assert.Equal(3, StartedEmpty().Length);
        await rounds.RunAsync(5);
        var leaderSilo = await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10));
        var leader = RaftTestCluster.Storage(leaderSilo).Node!;
        var lostSilo = cluster.Cluster.Silos.First(s => s != leaderSilo);
        var lostId = RaftTestCluster.Storage(lostSilo).NodeId;

        // The silo dies and its disk with it.
        cluster.Network.Network.Isolate(lostId);
        await cluster.Cluster.KillSiloAsync(lostSilo);
        Directory.Delete(Path.Combine(cluster.DataDirectory, lostId), recursive: true);

        // Before it comes back: the two survivors make a configuration of their own, and writes go on in it.
        var withoutIt = await leader.RemoveMemberAsync(lostId);
        Assert.DoesNotContain(lostId, withoutIt.Voters);
        Assert.Equal(2, withoutIt.Voters.Count);
        await rounds.RunAsync(180);

        // It starts again from an empty directory. It joins as a learner in a later term (a new leader's), so that
        // nothing its earlier self sent can count for it, and becomes a voter once it holds the log.
        cluster.Network.Network.Heal();
        var rebuiltSilo = await cluster.Cluster.RestartSiloAsync(lostSilo);
        var rebuilt = RaftTestCluster.Storage(rebuiltSilo!);
        Assert.Equal(0, rebuilt.Node!.Status.CommitIndex);
        Assert.Equal(0, rebuilt.StateMachine.Count);
        Assert.Equal(4, StartedEmpty().Length);
        Assert.Contains($"node {lostId} started with an empty log", StartedEmpty()[^1], StringComparison.Ordinal);
        await Assert.ThrowsAsync<RequestRejectedException>(() => leader.AddLearnerAsync(lostId));
        await leader.TransferLeadershipAsync();
        var nextSilo = await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10), notNodeId: leader.Id);
        var next = RaftTestCluster.Storage(nextSilo).Node!;
        while (true)
        {
            try
            {
                await next.AddLearnerAsync(lostId);
                break;
            }
            catch (ProposalDroppedException)
            {
                // Until the new leader has committed an entry of its term.
                await Task.Delay(20);
            }
        }

        var withIt = await next.PromoteLearnerAsync(lostId, maxLag: 0);
        Assert.Contains(lostId, withIt.Voters);
        Assert.Equal(3, withIt.Voters.Count);
        Assert.True(rebuilt.Node.Status.FirstIndex > 1, $"the rebuilt silo was expected to catch up from a snapshot: {rebuilt.Node.Status}");
        await rounds.RunAsync(2);

        // Now the leader's silo dies: the rebuilt silo and the other survivor elect a leader and hold every
        // acknowledged write, so the rebuilt silo counts in majorities with the whole log.
        cluster.Network.Network.Isolate(next.Id);
        await cluster.Cluster.KillSiloAsync(nextSilo);
        await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10), notNodeId: next.Id);
        for (var i = 0; i < grains.Length; i++)
        {
            await cluster.Cluster.DeactivateAsync(grains[i]);
            var value = await grains[i].Get();
            Assert.InRange(value, rounds.Acknowledged[i], rounds.Acknowledged[i] + rounds.Uncertain[i]);

            var read = new TestState();
            await rebuilt.ReadStateAsync("s", grains[i].GetGrainId(), read);
            Assert.Equal(value, read.State.Value);
        }

        Assert.Equal(grains.Length * 187, rounds.Acknowledged.Sum() + rounds.Uncertain.Sum());

        // The dead leader's silo comes back from its own directory (not empty: nothing said) and catches up.
        cluster.Network.Network.Heal();
        var returned = RaftTestCluster.Storage((await cluster.Cluster.RestartSiloAsync(nextSilo))!);
        var last = new TestState();
        await returned.ReadStateAsync("s", grains[^1].GetGrainId(), last);
        Assert.Equal(await grains[^1].Get(), last.State.Value);
        Assert.Equal(4, StartedEmpty().Length);
    }
}

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
    // Rounds of six writes while the lost silo is out: past twice the 1,024 entries a compaction keeps behind a
    // snapshot, so that the leader's log no longer starts at 1 whenever its latest snapshot was taken.
    private const int SurvivorRounds = 360;

    // Snapshots every 100 entries, and the survivors write well past the 1,024 entries a compaction keeps, so the
    // rebuilt silo catches up from a snapshot plus the log after it.
    [Fact]
    public async Task ASiloThatLostItsData_RemovedThenAddedBack_HoldsEveryAcknowledgedWrite_WhenTheLeaderIsLostNext()
    {
        var log = new TestLog();

        // Read when a silo starts: the commit index after the removal for the rebuilt silo's start, 0 for every other.
        long rejoinAfter = 0;
        await using var cluster = await RaftTestCluster.StartAsync(
            configure: o =>
            {
                o.SnapshotEntryThreshold = 100;
                o.OperationTimeout = TimeSpan.FromSeconds(2);
                o.RejoinAfterCommitIndex = rejoinAfter;
            },
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
        rejoinAfter = leader.Status.CommitIndex;
        await rounds.RunAsync(SurvivorRounds);

        // It starts again from an empty directory. It joins as a learner in a later term (a new leader's), so that
        // nothing its earlier self sent can count for it, and becomes a voter once it holds the log.
        cluster.Network.Network.Heal();
        var rebuiltSilo = await cluster.Cluster.RestartSiloAsync(lostSilo);
        rejoinAfter = 0;
        var rebuilt = RaftTestCluster.Storage(rebuiltSilo!);
        Assert.Equal(0, rebuilt.Node!.Status.CommitIndex);
        Assert.Equal(0, rebuilt.StateMachine.Count);
        Assert.Equal(4, StartedEmpty().Length);
        Assert.Contains($"node {lostId} started with an empty log", StartedEmpty()[^1], StringComparison.Ordinal);
        var sameTerm = await Assert.ThrowsAsync<RequestRejectedException>(() => leader.AddLearnerAsync(lostId));
        Assert.Contains($"'{lostId}' was a member earlier in term", sameTerm.Message, StringComparison.Ordinal);
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

        // A write that only the leader and the rebuilt silo take: the old leader is cut off meanwhile.
        cluster.Network.Network.Isolate(leader.Id);
        var onlyWithTheRebuiltSilo = GrainId.Create("lost-data", "written-while-the-old-leader-was-cut-off");
        await RaftTestCluster.Storage(nextSilo).WriteStateAsync("s", onlyWithTheRebuiltSilo, new TestState(new CounterState { Value = 42 }));

        // Now the leader's silo dies and the old leader is back: the rebuilt silo alone holds that write, so it must
        // lead, and every acknowledged write is there.
        cluster.Network.Network.Isolate(next.Id);
        await cluster.Cluster.KillSiloAsync(nextSilo);
        cluster.Network.Network.Heal();
        cluster.Network.Network.Isolate(next.Id);
        await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10), notNodeId: next.Id);
        var stored = new int[grains.Length];
        for (var i = 0; i < grains.Length; i++)
        {
            // Read through each survivor's storage (a linearizable read), not through the grains, which Orleans may
            // still route to the dead silo for a while.
            var read = new TestState();
            await rebuilt.ReadStateAsync("s", grains[i].GetGrainId(), read);
            stored[i] = read.State.Value;
            Assert.InRange(stored[i], rounds.Acknowledged[i], rounds.Acknowledged[i] + rounds.Uncertain[i]);

            var other = new TestState();
            await RaftTestCluster.Storage(leaderSilo).ReadStateAsync("s", grains[i].GetGrainId(), other);
            Assert.Equal(stored[i], other.State.Value);
        }

        Assert.Equal(grains.Length * (5 + SurvivorRounds), rounds.Acknowledged.Sum() + rounds.Uncertain.Sum());
        foreach (var survivor in new[] { rebuilt, RaftTestCluster.Storage(leaderSilo) })
        {
            var read = new TestState();
            await survivor.ReadStateAsync("s", onlyWithTheRebuiltSilo, read);
            Assert.Equal(42, read.State.Value);
        }

        // The dead leader's silo comes back from its own directory (not empty: nothing said) and catches up.
        cluster.Network.Network.Heal();
        var returned = RaftTestCluster.Storage((await cluster.Cluster.RestartSiloAsync(nextSilo))!);
        var last = new TestState();
        await returned.ReadStateAsync("s", grains[^1].GetGrainId(), last);
        Assert.Equal(stored[^1], last.State.Value);
        Assert.Equal(4, StartedEmpty().Length);
    }
}

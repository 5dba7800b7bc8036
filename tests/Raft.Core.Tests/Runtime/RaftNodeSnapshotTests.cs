using Raft.Core.Runtime;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// Snapshots and log compaction through RaftNode (§7) on real-time clusters.
[Collection(RealTimeCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class RaftNodeSnapshotTests
{
    private static RaftNodeOptions SmallSnapshots(RaftNodeOptions options) => options with
    {
        SnapshotEntryThreshold = 20,
        Raft = options.Raft with { SnapshotTrailingEntries = 5 },
    };

    [Fact]
    public async Task Snapshot_AfterTheEntryThreshold_IsWrittenOnEveryNodeAndTheLogCompacted()
    {
        await using var cluster = await TestCluster.StartAsync(configure: SmallSnapshots);

        ProposalResult last = null!;
        for (var i = 0; i < 60; i++)
        {
            last = await cluster.ProposeWithRetryAsync($"c{i}");
        }

        await cluster.WaitForAppliedAsync(last.Index);
        await Eventually.TrueAsync(
            () => cluster.Ids.All(id => cluster.SnapshotStore(id).Latest?.Index >= 20 && cluster.LogStore(id).FirstIndex > 1 && cluster.Node(id).Status.FirstIndex > 1),
            "every node to snapshot and compact its log");
        foreach (var id in cluster.Ids)
        {
            var snapshot = cluster.SnapshotStore(id).Latest!;
            Assert.Equal(["n1", "n2", "n3"], snapshot.Configuration.Voters);
            Assert.InRange(cluster.LogStore(id).FirstIndex, 2, snapshot.Index + 1);
            Assert.Equal(cluster.AppliedUpTo(cluster.Ids[0], last.Index), cluster.AppliedUpTo(id, last.Index));
        }
    }

    [Fact]
    public async Task Snapshot_ByteThreshold_TriggersASnapshotToo()
    {
        await using var cluster = await TestCluster.StartAsync(size: 1, configure: o => o with { SnapshotEntryThreshold = 0, SnapshotByteThreshold = 2000 });

        for (var i = 0; i < 30; i++)
        {
            await cluster.ProposeWithRetryAsync(new string('x', 100) + i);
        }

        await Eventually.TrueAsync(() => cluster.SnapshotStore("n1").Latest is not null, "a snapshot once 2000 bytes were applied");
    }

    [Fact]
    public async Task Snapshot_BothThresholdsZero_NeverSnapshots()
    {
        await using var cluster = await TestCluster.StartAsync(size: 1, configure: o => o with { SnapshotEntryThreshold = 0, SnapshotByteThreshold = 0 });

        for (var i = 0; i < 50; i++)
        {
            await cluster.ProposeWithRetryAsync($"c{i}");
        }

        Assert.Null(cluster.SnapshotStore("n1").Latest);
        Assert.Equal(1, cluster.LogStore("n1").FirstIndex);
    }

    // §7: a follower whose next entry the leader compacted away gets the snapshot, then the rest of the log.
    [Fact]
    public async Task Follower_DownWhileTheLogWasCompacted_CatchesUpThroughASnapshot()
    {
        await using var cluster = await TestCluster.StartAsync(configure: SmallSnapshots);
        for (var i = 0; i < 10; i++)
        {
            await cluster.ProposeWithRetryAsync($"early-{i}");
        }

        var leader = await cluster.WaitForLeaderAsync();
        var lagging = cluster.Ids.First(id => id != leader.Id);
        await cluster.StopNodeAsync(lagging);
        var others = cluster.Ids.Where(id => id != lagging).ToArray();
        ProposalResult last = null!;
        for (var i = 0; i < 80; i++)
        {
            last = await cluster.ProposeWithRetryAsync($"late-{i}", others);
        }

        leader = await cluster.WaitForLeaderAsync(others);
        await Eventually.TrueAsync(
            () => cluster.LogStore(leader.Id).FirstIndex > cluster.LogStore(lagging).LastIndex + 1,
            "the leader to compact away entries the lagging follower lacks");

        await cluster.RestartNodeAsync(lagging);

        await cluster.WaitForAppliedAsync(last.Index, [lagging]);
        Assert.Equal(cluster.AppliedUpTo(leader.Id, last.Index), cluster.AppliedUpTo(lagging, last.Index));
        Assert.True(cluster.LogStore(lagging).FirstIndex > 1, "the follower's log starts after the installed snapshot");
        var more = await cluster.ProposeWithRetryAsync("after-catch-up");
        await cluster.WaitForAppliedAsync(more.Index);
        Assert.Contains((more.Index, "after-catch-up"), cluster.StateMachine(lagging).Applied);
    }

    // The same, for a follower that kept running behind a partition (its state machine is replaced, not empty).
    [Fact]
    public async Task Follower_PartitionedWhileTheLogWasCompacted_InstallsTheSnapshotOverItsState()
    {
        await using var cluster = await TestCluster.StartAsync(configure: SmallSnapshots);
        for (var i = 0; i < 5; i++)
        {
            await cluster.ProposeWithRetryAsync($"early-{i}");
        }

        var leader = await cluster.WaitForLeaderAsync();
        var lagging = cluster.Ids.First(id => id != leader.Id);
        cluster.Network.Isolate(lagging);
        var others = cluster.Ids.Where(id => id != lagging).ToArray();
        ProposalResult last = null!;
        for (var i = 0; i < 80; i++)
        {
            last = await cluster.ProposeWithRetryAsync($"late-{i}", others);
        }

        leader = await cluster.WaitForLeaderAsync(others);
        await Eventually.TrueAsync(
            () => cluster.LogStore(leader.Id).FirstIndex > cluster.LogStore(lagging).LastIndex + 1,
            "the leader to compact away entries the lagging follower lacks");

        cluster.Network.Heal();

        await cluster.WaitForAppliedAsync(last.Index, [lagging]);
        Assert.Equal(cluster.AppliedUpTo(leader.Id, last.Index), cluster.AppliedUpTo(lagging, last.Index));
        var readIndex = await cluster.ReadWithRetryAsync(lagging);
        Assert.True(readIndex >= last.Index);
    }

    // Restart recovers the newest snapshot plus the log after it: the same state, without replaying the whole log.
    [Fact]
    public async Task Restart_FromSnapshotAndLogTail_GivesTheSameState()
    {
        await using var cluster = await TestCluster.StartAsync(configure: SmallSnapshots);
        ProposalResult last = null!;
        for (var i = 0; i < 55; i++)
        {
            last = await cluster.ProposeWithRetryAsync($"c{i}");
        }

        await cluster.WaitForAppliedAsync(last.Index);
        await Eventually.TrueAsync(() => cluster.Ids.All(id => cluster.LogStore(id).FirstIndex > 1), "every node to compact");
        var before = cluster.Ids.ToDictionary(id => id, id => cluster.AppliedUpTo(id, last.Index));

        foreach (var id in cluster.Ids)
        {
            var snapshot = cluster.SnapshotStore(id).Latest!;
            await cluster.RestartNodeAsync(id);

            // Restored during StartAsync: everything up to the snapshot is there before anything is applied again.
            Assert.Equal(before[id].Where(a => a.Index <= snapshot.Index), cluster.StateMachine(id).Applied.Where(a => a.Index <= snapshot.Index));
            await cluster.WaitForAppliedAsync(last.Index, [id]);
            Assert.Equal(before[id], cluster.AppliedUpTo(id, last.Index));
        }

        var after = await cluster.ProposeWithRetryAsync("after-restarts");
        await cluster.WaitForAppliedAsync(after.Index);
        Assert.All(cluster.Ids, id => Assert.Equal(cluster.AppliedUpTo(cluster.Ids[0], after.Index), cluster.AppliedUpTo(id, after.Index)));
    }

    [Fact]
    public async Task Restart_OfTheWholeCluster_FromSnapshots_KeepsEveryWrite()
    {
        await using var cluster = await TestCluster.StartAsync(configure: SmallSnapshots);
        ProposalResult last = null!;
        for (var i = 0; i < 45; i++)
        {
            last = await cluster.ProposeWithRetryAsync($"c{i}");
        }

        await cluster.WaitForAppliedAsync(last.Index);
        var before = cluster.AppliedUpTo(cluster.Ids[0], last.Index);
        foreach (var id in cluster.Ids)
        {
            await cluster.StopNodeAsync(id);
        }

        foreach (var id in cluster.Ids)
        {
            await cluster.RestartNodeAsync(id);
        }

        var after = await cluster.ProposeWithRetryAsync("after");
        await cluster.WaitForAppliedAsync(after.Index);
        Assert.All(cluster.Ids, id => Assert.Equal(before, cluster.AppliedUpTo(id, last.Index)));
    }
}

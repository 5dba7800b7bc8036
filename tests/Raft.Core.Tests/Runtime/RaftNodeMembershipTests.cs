using System.Text;
using Raft.Core.Runtime;
using Raft.Core.Tests.Runtime.Fakes;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// Single-server membership changes through RaftNode (thesis §4.1–§4.2) on real-time clusters.
[Collection(RealTimeCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class RaftNodeMembershipTests
{
    // Thesis §4.2.1: a new node joins as a learner, catches up without voting, then becomes a voter.
    [Fact]
    public async Task Learner_AddedCaughtUpAndPromoted_BecomesAVoterWithTheSameState()
    {
        await using var cluster = await TestCluster.StartAsync();
        for (var i = 0; i < 30; i++)
        {
            await cluster.ProposeWithRetryAsync($"before-{i}");
        }

        var leader = await cluster.WaitForLeaderAsync();
        var learner = await cluster.AddNodeAsync("n4");

        var afterAdd = await leader.AddLearnerAsync("n4");

        Assert.Equal(["n1", "n2", "n3"], afterAdd.Voters);
        Assert.Equal(["n4"], afterAdd.Learners);
        Assert.False(learner.Status.Configuration?.IsVoter("n4") ?? false);

        var afterPromote = await leader.PromoteLearnerAsync("n4", maxLag: 0);

        Assert.Equal(["n1", "n2", "n3", "n4"], afterPromote.Voters);
        Assert.Empty(afterPromote.Learners);
        var progress = leader.GetReplicationStatus();
        Assert.NotNull(progress);
        Assert.True(progress["n4"]!.MatchIndex > 0);

        var last = await cluster.ProposeWithRetryAsync("after-promotion");
        await cluster.WaitForAppliedAsync(last.Index);
        Assert.Equal(cluster.AppliedUpTo(leader.Id, last.Index), cluster.AppliedUpTo("n4", last.Index));
        await Eventually.TrueAsync(() => learner.Status.Configuration?.IsVoter("n4") ?? false, "the promoted node to see itself a voter");
    }

    // Thesis §4.2.1: the learner does not count for commitment, so adding it cannot hurt availability.
    [Fact]
    public async Task Learner_DoesNotCountTowardsTheMajority()
    {
        await using var cluster = await TestCluster.StartAsync(size: 2);
        var leader = await cluster.WaitForLeaderAsync();
        await cluster.AddNodeAsync("n3");
        await leader.AddLearnerAsync("n3");
        var follower = cluster.InitialVoters.First(id => id != leader.Id);

        var status = leader.GetReplicationStatus();
        Assert.NotNull(status);
        Assert.True(status[follower] is { IsLearner: false });
        Assert.True(status["n3"] is { IsLearner: true });

        // With the only other voter gone, the leader and the learner are no majority of {n1, n2}.
        await cluster.StopNodeAsync(follower);
        var stranded = leader.ProposeAsync(Encoding.UTF8.GetBytes("needs-a-majority"));
        await Task.Delay(TestCluster.TickInterval * 20);
        Assert.False(stranded.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task RemoveMember_AFollower_TheRestKeepCommitting()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.ProposeWithRetryAsync("before");
        var leader = await cluster.WaitForLeaderAsync();
        var removed = cluster.Ids.First(id => id != leader.Id);

        var after = await leader.RemoveMemberAsync(removed);

        Assert.DoesNotContain(removed, after.Voters);
        await cluster.StopNodeAsync(removed);
        var remaining = cluster.Ids.Where(id => id != removed).ToArray();
        var write = await cluster.ProposeWithRetryAsync("after-removal", remaining);
        await cluster.WaitForAppliedAsync(write.Index, remaining);

        // The two that remain are the whole cluster now: losing one more voter would be fatal, and the removal stuck.
        var status = leader.GetReplicationStatus();
        Assert.NotNull(status);
        Assert.Null(status[removed]);
    }

    // Thesis §4.2.2: the leader can remove itself; it steps down once the change commits.
    [Fact]
    public async Task RemoveMember_TheLeaderItself_StepsDownAndTheOthersElectANewLeader()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.ProposeWithRetryAsync("before");
        var leader = await cluster.WaitForLeaderAsync();
        var term = leader.Status.Term;
        var others = cluster.Ids.Where(id => id != leader.Id).ToArray();

        var after = await leader.RemoveMemberAsync(leader.Id);

        Assert.Equal(others.Order(StringComparer.Ordinal), after.Voters);
        await Eventually.TrueAsync(() => !leader.IsLeader, "the removed leader to step down");
        var newLeader = await cluster.WaitForLeaderAsync(others, minTerm: term);
        Assert.NotEqual(leader.Id, newLeader.Id);
        var write = await cluster.ProposeWithRetryAsync("after", others);
        await cluster.WaitForAppliedAsync(write.Index, others);
        await Assert.ThrowsAsync<NotLeaderException>(() => leader.ProposeAsync(Encoding.UTF8.GetBytes("nope")));
    }

    // A removed node is added back only in a later term: answers it sent as a member in the removal's term could still
    // arrive and give the leader a match index the node may no longer have, below which the leader would drop its
    // rejections as stale and never send it what it lacks.
    [Fact]
    public async Task ANodeRemovedInATerm_IsAddedBackOnlyInALaterTerm_AndThenHoldsTheWholeLog()
    {
        await using var cluster = await TestCluster.StartAsync();
        for (var i = 0; i < 20; i++)
        {
            await cluster.ProposeWithRetryAsync($"before-{i}");
        }

        var leader = await cluster.WaitForLeaderAsync();
        var removed = cluster.Ids.First(id => id != leader.Id);
        var others = cluster.Ids.Where(id => id != removed).ToArray();
        await cluster.StopNodeAsync(removed);
        await leader.RemoveMemberAsync(removed);
        await cluster.RestartNodeAsync(removed);

        var sameTerm = await Assert.ThrowsAsync<RequestRejectedException>(() => leader.AddLearnerAsync(removed));
        Assert.Contains($"'{removed}' was a member earlier in term {leader.Status.Term}", sameTerm.Message, StringComparison.Ordinal);
        Assert.Contains("TransferLeadershipAsync", sameTerm.Message, StringComparison.Ordinal);

        var term = leader.Status.Term;
        await leader.TransferLeadershipAsync();
        var next = await cluster.WaitForLeaderAsync(others, minTerm: term);
        while (true)
        {
            try
            {
                await next.AddLearnerAsync(removed);
                break;
            }
            catch (ProposalDroppedException)
            {
                // Until the new leader has committed an entry of its term.
                await Task.Delay(TestCluster.TickInterval);
            }
        }

        var after = await next.PromoteLearnerAsync(removed, maxLag: 0);

        Assert.Contains(removed, after.Voters);
        var last = await cluster.ProposeWithRetryAsync("after");
        await cluster.WaitForAppliedAsync(last.Index);
        Assert.Equal(cluster.AppliedUpTo(next.Id, last.Index), cluster.AppliedUpTo(removed, last.Index));
    }

    // A change's caller reads the configuration from the node's Status next (WaitForCatchUpAsync, PromoteLearnerAsync
    // with a lag, GetReplicationStatus): once the change returns, the published status must show it, however the
    // loop happened to commit it (acknowledgements stepped while the leader's own slow writes ran, or the leader's
    // write ending after them), under a steady write load.
    [Fact]
    public async Task AChangeThatReturned_IsInTheLeadersStatus_UnderLoadWithSlowDisks()
    {
        await using var cluster = await TestCluster.StartAsync(logStore: id => new DelayingLogStore(maxDelayMilliseconds: 4, seed: id[^1]));
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                await cluster.ProposeWithRetryAsync($"w{w}-{n}");
            }
        })).ToArray();

        var checkedRounds = 0;
        try
        {
            for (var i = 0; i < 100; i++)
            {
                var leader = await cluster.WaitForLeaderAsync();
                var learner = $"learner-{i}";
                try
                {
                    await leader.AddLearnerAsync(learner);
                    if (leader.GetReplicationStatus() is { } replication)
                    {
                        Assert.True(replication[learner] is { IsLearner: true }, $"{learner} was added, but the leader's status shows {leader.Status}");
                        checkedRounds++;
                    }

                    // A committed removal cannot be undone, whoever leads now.
                    await leader.RemoveMemberAsync(learner);
                    Assert.False(leader.Status.Configuration!.Contains(learner), $"{learner} was removed, but the leader's status shows {leader.Status}");
                }
                catch (RaftException ex) when (ex is NotLeaderException or ProposalDroppedException or ProposalSupersededException)
                {
                    // Leadership moved (a starved machine): the next round asks the new leader.
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        Assert.True(checkedRounds >= 50, $"only {checkedRounds} of 100 additions were checked on a node that still led");
    }

    [Fact]
    public async Task ChangeMembership_ThatDoesNotFit_IsRejectedWithTheEnginesReason()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.ProposeWithRetryAsync("x");
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Ids.First(id => id != leader.Id);

        var twice = await Assert.ThrowsAsync<RequestRejectedException>(() => leader.AddLearnerAsync(follower));
        var notLearner = await Assert.ThrowsAsync<RequestRejectedException>(() => leader.PromoteLearnerAsync(follower));
        var stranger = await Assert.ThrowsAsync<RequestRejectedException>(() => leader.RemoveMemberAsync("ghost"));

        Assert.Contains("already a member", twice.Message, StringComparison.Ordinal);
        Assert.Contains("not a learner", notLearner.Message, StringComparison.Ordinal);
        Assert.Contains("not a member", stranger.Message, StringComparison.Ordinal);
    }

    // One change at a time: a second change while the first is uncommitted is refused, and the first still completes.
    [Fact]
    public async Task ChangeMembership_WhileAnotherIsPending_IsRejected()
    {
        // A long election timeout keeps the cut-off leader leading while the test runs.
        await using var cluster = await TestCluster.StartAsync(configure: o => o with { Raft = o.Raft with { ElectionTick = 300 } });
        await cluster.ProposeWithRetryAsync("x");
        var leader = await cluster.WaitForLeaderAsync();
        foreach (var id in cluster.Ids.Where(id => id != leader.Id))
        {
            cluster.Network.Disconnect(leader.Id, id);
        }

        var first = leader.AddLearnerAsync("n4");
        var second = await Assert.ThrowsAsync<RequestRejectedException>(() => leader.AddLearnerAsync("n5"));

        Assert.Contains("pending", second.Message, StringComparison.Ordinal);
        cluster.Network.Heal();
        var configuration = await first.WaitAsync(Eventually.DefaultTimeout);
        Assert.Equal(["n4"], configuration.Learners);
    }

    [Fact]
    public async Task ChangeMembership_OnAFollower_FailsWithNotLeader()
    {
        await using var cluster = await TestCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Node(cluster.Ids.First(id => id != leader.Id));

        var failure = await Assert.ThrowsAsync<NotLeaderException>(() => follower.AddLearnerAsync("n4"));

        Assert.Equal(leader.Id, failure.LeaderId);
    }

    [Fact]
    public async Task WaitForCatchUp_OnAFollowerOrForAStranger_Fails()
    {
        await using var cluster = await TestCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Node(cluster.Ids.First(id => id != leader.Id));

        await Assert.ThrowsAsync<NotLeaderException>(() => follower.WaitForCatchUpAsync("n1", 0));
        await Assert.ThrowsAsync<RequestRejectedException>(() => leader.WaitForCatchUpAsync("ghost", 0));
        Assert.Null(follower.GetReplicationStatus());
    }

    // The configuration travels in snapshots: a node that joins after the log was compacted learns it from one.
    [Fact]
    public async Task Learner_JoiningAfterCompaction_GetsTheConfigurationFromTheSnapshot()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o with
        {
            SnapshotEntryThreshold = 20,
            Raft = o.Raft with { SnapshotTrailingEntries = 5 },
        });
        var leader = await cluster.WaitForLeaderAsync();
        await cluster.AddNodeAsync("n4");
        await leader.AddLearnerAsync("n4");
        await leader.PromoteLearnerAsync("n4", maxLag: 0);
        for (var i = 0; i < 60; i++)
        {
            await cluster.ProposeWithRetryAsync($"c{i}");
        }

        leader = await cluster.WaitForLeaderAsync();
        await Eventually.TrueAsync(() => cluster.LogStore(leader.Id).FirstIndex > 2, "the leader to compact its log");
        await cluster.AddNodeAsync("n5");
        await leader.AddLearnerAsync("n5");

        await Eventually.TrueAsync(
            () => cluster.Node("n5").Status.Configuration is { } c && c.IsVoter("n4") && c.Learners.Contains("n5"),
            "the new learner to learn the configuration, n4's promotion included");
        var last = await cluster.ProposeWithRetryAsync("last");
        await cluster.WaitForAppliedAsync(last.Index, ["n5"]);
        Assert.Equal(cluster.AppliedUpTo(leader.Id, last.Index), cluster.AppliedUpTo("n5", last.Index));
    }
}

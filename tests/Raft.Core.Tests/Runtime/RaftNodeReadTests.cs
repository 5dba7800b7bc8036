using System.Collections.Concurrent;
using Raft.Core.Engine;
using Raft.Core.Runtime;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// Linearizable reads through RaftNode (thesis §6.4) on real-time clusters.
[Collection(RealTimeCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class RaftNodeReadTests
{
    // Linearizability for reads: a read that starts after a write was acknowledged sees it, on any node.
    [Theory]
    [InlineData(ReadOnlyOption.Safe)]
    [InlineData(ReadOnlyOption.LeaseBased)]
    public async Task Read_OnLeaderAndFollowers_SeesEveryWriteAcknowledgedBeforeItStarted(ReadOnlyOption readOnly)
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o with { Raft = o.Raft with { ReadOnlyOption = readOnly } });

        for (var i = 0; i < 10; i++)
        {
            var write = await cluster.ProposeWithRetryAsync($"w{i}");
            foreach (var id in cluster.Ids)
            {
                var readIndex = await cluster.ReadWithRetryAsync(id);

                Assert.True(readIndex >= write.Index, $"Read index {readIndex} on {id} is before the acknowledged write at {write.Index}.");
                Assert.Contains((write.Index, $"w{i}"), cluster.StateMachine(id).Applied);
            }
        }
    }

    [Fact]
    public async Task Read_ConcurrentWithWrites_EachReadSeesTheWritesAcknowledgedBeforeIt()
    {
        await using var cluster = await TestCluster.StartAsync();
        var acknowledged = new ConcurrentDictionary<long, string>();
        using var stop = new CancellationTokenSource();

        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var command = $"w{w}-{i}";
                var result = await cluster.ProposeWithRetryAsync(command);
                acknowledged[result.Index] = command;
            }
        })).ToArray();

        var readers = cluster.Ids.Select(id => Task.Run(async () =>
        {
            for (var r = 0; r < 30; r++)
            {
                var before = acknowledged.ToArray();
                await cluster.ReadWithRetryAsync(id);
                var applied = cluster.StateMachine(id).Applied.ToHashSet();
                foreach (var (index, command) in before)
                {
                    Assert.True(applied.Contains((index, command)), $"A read on {id} missed the write '{command}' at {index}, acknowledged before the read started.");
                }
            }
        })).ToArray();

        await Task.WhenAll(readers);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        Assert.NotEmpty(acknowledged);
    }

    // A leader cut off from the majority cannot confirm its leadership: a read it takes after a newer leader
    // acknowledged a write fails instead of returning the old state (§6.4; with a lease, the lease runs out first).
    [Theory]
    [InlineData(ReadOnlyOption.Safe)]
    [InlineData(ReadOnlyOption.LeaseBased)]
    public async Task Read_OnAPartitionedOldLeader_FailsInsteadOfReturningStaleState(ReadOnlyOption readOnly)
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o with { Raft = o.Raft with { ReadOnlyOption = readOnly } });
        await cluster.ProposeWithRetryAsync("before");
        var oldLeader = await cluster.WaitForLeaderAsync();
        var others = cluster.Ids.Where(id => id != oldLeader.Id).ToArray();

        cluster.Network.Isolate(oldLeader.Id);
        await cluster.WaitForLeaderAsync(others, minTerm: oldLeader.Status.Term);
        var write = await cluster.ProposeWithRetryAsync("after", others);

        var failure = await Record.ExceptionAsync(() => oldLeader.WaitForLinearizableReadAsync().WaitAsync(Eventually.DefaultTimeout));

        Assert.True(failure is NotLeaderException or RaftTimeoutException, $"Expected a retryable failure, got {failure?.GetType().Name ?? "a read index"}.");
        Assert.DoesNotContain(cluster.StateMachine(oldLeader.Id).Applied, a => a.Index == write.Index);
    }

    // A read that was waiting for the leader's confirmation when the leader lost its majority fails instead of hanging.
    [Fact]
    public async Task Read_PendingWhenTheLeaderIsCutOff_FailsWithNotLeader()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.ProposeWithRetryAsync("x");
        var leader = await cluster.WaitForLeaderAsync();

        cluster.Network.Isolate(leader.Id);
        var pending = leader.WaitForLinearizableReadAsync();

        var failure = await Record.ExceptionAsync(() => pending.WaitAsync(Eventually.DefaultTimeout));
        Assert.True(failure is NotLeaderException or RaftTimeoutException, $"Expected a retryable failure, got {failure?.GetType().Name ?? "a read index"}.");
    }

    [Fact]
    public async Task Read_OnANodeThatKnowsNoLeader_FailsFastWithNotLeader()
    {
        await using var cluster = await TestCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Ids.First(id => id != leader.Id);
        foreach (var id in cluster.Ids.Where(id => id != follower))
        {
            await cluster.StopNodeAsync(id);
        }

        await Eventually.TrueAsync(() => cluster.Node(follower).Status.LeaderId is null, "the lone follower to lose its leader");

        await Assert.ThrowsAsync<NotLeaderException>(() => cluster.Node(follower).WaitForLinearizableReadAsync().WaitAsync(Eventually.DefaultTimeout));
    }

    // A follower's request travels as an ordinary message and may be lost; the read times out instead of hanging.
    [Fact]
    public async Task Read_OnAFollowerWhoseRequestsAreLost_TimesOut()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o with { ReadTimeout = TimeSpan.FromMilliseconds(300) });
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Ids.First(id => id != leader.Id);

        // The follower still hears the leader (so it knows it), but nothing it sends arrives.
        cluster.Network.DisconnectOneWay(follower, leader.Id);

        var failure = await Assert.ThrowsAsync<RaftTimeoutException>(() => cluster.Node(follower).WaitForLinearizableReadAsync().WaitAsync(Eventually.DefaultTimeout));
        Assert.Contains("read", failure.Message, StringComparison.OrdinalIgnoreCase);

        cluster.Network.Heal();
        await cluster.ReadWithRetryAsync(follower);
    }

    [Fact]
    public async Task Read_OnALearner_IsServedLocally()
    {
        await using var cluster = await TestCluster.StartAsync();
        var write = await cluster.ProposeWithRetryAsync("seen-by-learner");
        var leader = await cluster.WaitForLeaderAsync();
        await cluster.AddNodeAsync("n4");
        await leader.AddLearnerAsync("n4");

        var readIndex = await cluster.ReadWithRetryAsync("n4");

        Assert.True(readIndex >= write.Index);
        Assert.Contains((write.Index, "seen-by-learner"), cluster.StateMachine("n4").Applied);
    }

    [Fact]
    public async Task Read_ManyAtOnceOnEveryNode_AllComplete()
    {
        await using var cluster = await TestCluster.StartAsync();
        var write = await cluster.ProposeWithRetryAsync("x");
        await cluster.WaitForAppliedAsync(write.Index);

        var reads = cluster.Ids.SelectMany(id => Enumerable.Range(0, 100).Select(_ => cluster.ReadWithRetryAsync(id))).ToArray();
        var indexes = await Task.WhenAll(reads);

        Assert.All(indexes, index => Assert.True(index >= write.Index));
    }
}

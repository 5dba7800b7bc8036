using System.Text;
using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// Real-time clusters: serialised with the other real-time tests so that they do not starve each other of the 2 cores.
[Collection(RealTimeCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class RaftNodeClusterTests
{
    [Fact]
    public async Task Cluster_OfThree_ElectsOneLeaderThatEveryNodeKnows()
    {
        await using var cluster = await TestCluster.StartAsync();

        var leader = await cluster.WaitForLeaderAsync();

        // Election Safety (§5.2): at most one leader per term, whatever happened since.
        Assert.Single(cluster.Nodes, n => n.IsLeader && n.Status.Term == leader.Status.Term);
        foreach (var node in cluster.Nodes)
        {
            Assert.Contains(await node.WaitForLeaderAsync().WaitAsync(Eventually.DefaultTimeout), cluster.Ids);
        }
    }

    [Fact]
    public async Task ProposeAsync_OnTheLeader_ResolvesWithTheStateMachineResult()
    {
        await using var cluster = await TestCluster.StartAsync();

        var result = await cluster.ProposeWithRetryAsync("hello");

        Assert.True(result.Index > 0);
        Assert.Equal("olleh", Encoding.UTF8.GetString(result.Response.Span));
        var leader = await cluster.WaitForLeaderAsync();
        await Eventually.TrueAsync(() => cluster.StateMachine(leader.Id).Applied.Contains((result.Index, "hello")), "the leader to apply it");
    }

    [Fact]
    public async Task ProposeAsync_OnAFollower_FailsWithNotLeaderNamingTheLeader()
    {
        await using var cluster = await TestCluster.StartAsync();

        // Retried only if leadership moved between finding the leader and proposing.
        var deadline = DateTime.UtcNow + Eventually.DefaultTimeout;
        while (true)
        {
            var leader = await cluster.WaitForLeaderAsync();
            var follower = cluster.Nodes.First(n => n.Id != leader.Id);

            var refusal = await Record.ExceptionAsync(() => follower.ProposeAsync(Encoding.UTF8.GetBytes("nope")));

            if (refusal is NotLeaderException notLeader && notLeader.LeaderId == leader.Id)
            {
                Assert.Contains(leader.Id, notLeader.Message, StringComparison.Ordinal);
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"No clean refusal; last outcome: {refusal?.GetType().Name ?? "accepted"}.");
        }
    }

    [Fact]
    public async Task ProposeAsync_ManyAtOnce_EveryNodeAppliesTheSameSequence()
    {
        await using var cluster = await TestCluster.StartAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => cluster.ProposeWithRetryAsync($"cmd-{i}")));

        Assert.Equal(200, results.Select(r => r.Index).Distinct().Count());
        var last = results.Max(r => r.Index);
        await Eventually.TrueAsync(
            () => cluster.Nodes.All(n => cluster.StateMachine(n.Id).Applied.Count > 0 && cluster.StateMachine(n.Id).Applied[^1].Index >= last),
            $"every node to apply up to index {last}");
        var sequences = cluster.Ids.Select(id => cluster.StateMachine(id).Applied.TakeWhile(a => a.Index <= last).ToList()).ToList();
        Assert.All(sequences, s => Assert.Equal(sequences[0], s));
        Assert.Equal(
            Enumerable.Range(0, 200).Select(i => $"cmd-{i}").Order(StringComparer.Ordinal),
            sequences[0].Select(a => a.Command).Distinct().Order(StringComparer.Ordinal));
        foreach (var result in results)
        {
            var command = sequences[0].Single(a => a.Index == result.Index).Command;
            Assert.Equal(TestStateMachine.Reverse(command), Encoding.UTF8.GetString(result.Response.Span));
        }
    }

    // §5.4: entries an isolated leader accepted can never commit; after healing they are overwritten, and every
    // proposal waiting on the old leader must resolve (here: fail) instead of hanging.
    [Fact]
    public async Task IsolatedLeader_AfterHealing_ItsPendingProposalsFailAndANewLeaderServes()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.ProposeWithRetryAsync("before");
        var oldLeader = await cluster.WaitForLeaderAsync();
        var oldTerm = oldLeader.Status.Term;

        cluster.Network.Isolate(oldLeader.Id);
        var stranded = Enumerable.Range(0, 20).Select(i => oldLeader.ProposeAsync(Encoding.UTF8.GetBytes($"stranded-{i}"))).ToArray();
        var others = cluster.Ids.Where(id => id != oldLeader.Id).ToArray();
        var newLeader = await cluster.WaitForLeaderAsync(others, minTerm: oldTerm);
        var during = await cluster.ProposeWithRetryAsync("during", others);
        cluster.Network.Heal();

        foreach (var proposal in stranded)
        {
            var failure = await Record.ExceptionAsync(() => proposal.WaitAsync(Eventually.DefaultTimeout));
            Assert.True(
                failure is ProposalSupersededException or NotLeaderException,
                $"Expected superseded or not-leader, got {failure?.GetType().Name ?? "success"}: {failure?.Message}");
        }

        await Eventually.TrueAsync(
            () => cluster.StateMachine(oldLeader.Id).Applied.Contains((during.Index, "during")),
            "the old leader to catch up with the new leader's log");
        Assert.DoesNotContain(cluster.Ids.SelectMany(id => cluster.StateMachine(id).Applied), a => a.Command.StartsWith("stranded", StringComparison.Ordinal));
        Assert.NotEqual(oldLeader.Id, newLeader.Id);
    }

    [Fact]
    public async Task RestartedFollower_OnTheSameStores_RecoversItsLogAndCatchesUp()
    {
        await using var cluster = await TestCluster.StartAsync();
        for (var i = 0; i < 10; i++)
        {
            await cluster.ProposeWithRetryAsync($"a-{i}");
        }

        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Ids.First(id => id != leader.Id);
        await cluster.StopNodeAsync(follower);
        var after = await cluster.ProposeWithRetryAsync("while-down");
        await cluster.RestartNodeAsync(follower);

        await Eventually.TrueAsync(
            () => cluster.StateMachine(follower).Applied.Any(a => a.Index >= after.Index),
            "the restarted follower to apply the entry committed while it was down");
        var applied = cluster.StateMachine(follower).Applied.Select(a => a.Command).ToList();
        Assert.Equal([.. Enumerable.Range(0, 10).Select(i => $"a-{i}"), "while-down"], applied.Take(11));
    }

    [Fact]
    public async Task RestartedFollower_FurtherBehindThanTheRetainedWindow_CatchesUpFromTheLeadersLogStore()
    {
        // RaftOptions.RetainedLogEntries: the leader keeps only its newest entries in memory; the 40 entries the follower
        // missed must come back out of the leader's log store, in order.
        var stores = new Dictionary<string, ReadCountingLogStore>();
        await using var cluster = await TestCluster.StartAsync(
            logStore: id => stores[id] = new ReadCountingLogStore(),
            configure: o => o with { Raft = o.Raft with { RetainedLogEntries = 4 } });
        for (var i = 0; i < 5; i++)
        {
            await cluster.ProposeWithRetryAsync($"a-{i}");
        }

        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Ids.First(id => id != leader.Id);
        await cluster.StopNodeAsync(follower);
        ProposalResult last = default!;
        for (var i = 0; i < 40; i++)
        {
            last = await cluster.ProposeWithRetryAsync($"b-{i}");
        }

        var readsBefore = stores[leader.Id].Reads;
        await cluster.RestartNodeAsync(follower);

        await Eventually.TrueAsync(
            () => cluster.StateMachine(follower).Applied.Any(a => a.Index >= last.Index),
            "the restarted follower to apply every entry committed while it was down");
        var applied = cluster.StateMachine(follower).Applied.Select(a => a.Command).ToList();
        Assert.Equal([.. Enumerable.Range(0, 5).Select(i => $"a-{i}"), .. Enumerable.Range(0, 40).Select(i => $"b-{i}")], applied.Take(45));
        Assert.True(stores[leader.Id].Reads > readsBefore, "the leader never read an entry back from its log store");
    }

    // An in-memory log store that counts reads (start-up recovery included).
    private sealed class ReadCountingLogStore : ILogStore
    {
        private readonly InMemoryLogStore _inner = new();
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public long FirstIndex => _inner.FirstIndex;

        public long LastIndex => _inner.LastIndex;

        public ValueTask<IReadOnlyList<Entry>> ReadAsync(long fromIndex, long toIndexInclusive, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            return _inner.ReadAsync(fromIndex, toIndexInclusive, cancellationToken);
        }

        public ValueTask AppendAsync(IReadOnlyList<Entry> entries, CancellationToken cancellationToken = default) => _inner.AppendAsync(entries, cancellationToken);

        public ValueTask CompactAsync(long throughIndex, CancellationToken cancellationToken = default) => _inner.CompactAsync(throughIndex, cancellationToken);

        public ValueTask ResetAsync(long snapshotIndex, CancellationToken cancellationToken = default) => _inner.ResetAsync(snapshotIndex, cancellationToken);
    }

    [Fact]
    public async Task Status_OfEveryNode_ReportsRoleTermAndProgress()
    {
        await using var cluster = await TestCluster.StartAsync();
        var result = await cluster.ProposeWithRetryAsync("x");

        await Eventually.TrueAsync(
            () => cluster.Nodes.All(n => n.Status.AppliedIndex >= result.Index && n.Status.CommitIndex >= result.Index),
            "every node's status to show the entry applied");
        var leader = await cluster.WaitForLeaderAsync();
        Assert.Equal(StateRole.Leader, leader.SoftState.Role);
        Assert.All(cluster.Nodes, n => Assert.True(n.Status.LastIndex >= result.Index && n.Status.StableIndex >= result.Index));
        Assert.DoesNotContain(cluster.Nodes, n => n != leader && n.IsLeader && n.Status.Term == leader.Status.Term);
    }
}
